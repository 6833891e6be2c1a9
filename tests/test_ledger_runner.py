"""Running the sequencer: checkpoints when due, a thread that survives, a real server's log."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import Client, LedgerCheckpoint
from service import clock
from service.cli import main
from service.ledger import runner, store
from service.ledger.merkle import EMPTY_ROOT, tree_hash
from service.ledger.note import parse_checkpoint, verifier_key, verify_note
from service.ledger.runner import SequencerThread, drain
from service.server import Server
from tests.audit_records import client_of
from tests.conftest import TEST_LEDGER_SIGNER, bearer
from tests.ledger_records import add_records, log_order, queued
from tests.test_server import NIK, running_server

VERIFIER = verifier_key(TEST_LEDGER_SIGNER)


@pytest.fixture
def desk(session: Session, keys: dict[str, str]) -> Client:
    """The desk client the records are made by."""
    return client_of(session, keys["desk"])


def checkpoint_sizes(session: Session) -> list[int]:
    """The tree sizes of the stored checkpoints, oldest first."""
    session.expire_all()
    return list(session.scalars(select(LedgerCheckpoint.tree_size).order_by(LedgerCheckpoint.id)))


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    """Poll ``condition`` until it holds or ``seconds`` have passed; whether it held."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_the_first_checkpoint_is_signed_even_for_an_empty_log(
    engine: Engine, session: Session
) -> None:
    signed = drain(engine, TEST_LEDGER_SIGNER, interval=3600).checkpoint
    assert signed is not None
    checkpoint = parse_checkpoint(verify_note(signed.note, VERIFIER))
    assert (checkpoint.origin, checkpoint.size, checkpoint.root) == (
        TEST_LEDGER_SIGNER.name,
        0,
        EMPTY_ROOT,
    )
    assert checkpoint_sizes(session) == [0]


def test_a_checkpoint_waits_for_the_interval_and_for_the_log_to_grow(
    engine: Engine, session: Session, desk: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_records(session, desk, 3)
    assert drain(engine, TEST_LEDGER_SIGNER, interval=60).appended == 3
    assert checkpoint_sizes(session) == [3]
    add_records(session, desk, 2, first=3)
    drain(engine, TEST_LEDGER_SIGNER, interval=60)
    assert checkpoint_sizes(session) == [3]
    later = clock.now() + timedelta(seconds=61)
    monkeypatch.setattr(clock, "now", lambda: later)
    drain(engine, TEST_LEDGER_SIGNER, interval=60)
    assert checkpoint_sizes(session) == [3, 5]
    # The log did not grow: no checkpoint, however long it has been, even when forced.
    drain(engine, TEST_LEDGER_SIGNER, interval=0, force=True)
    assert checkpoint_sizes(session) == [3, 5]
    latest = store.latest_checkpoint(session)
    assert latest is not None
    assert latest.root_hash == tree_hash(5, store.hash_reader(session))
    assert parse_checkpoint(verify_note(latest.note, VERIFIER)).root == latest.root_hash


def test_the_sequence_command_drains_the_queue_and_checkpoints(
    env: dict[str, str], session: Session, desk: Client
) -> None:
    ids = add_records(session, desk, 4)
    result = CliRunner().invoke(main, ["ledger", "sequence"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout == "4 records appended to the log; checkpoint of size 4 signed\n"
    assert log_order(session) == ids
    again = CliRunner().invoke(main, ["ledger", "sequence", "--force"], env=env)
    assert again.stdout == "0 records appended to the log; no new checkpoint\n"


def test_the_thread_logs_a_failed_round_and_goes_on(
    engine: Engine,
    session: Session,
    desk: Client,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rounds: list[int] = []

    def failing_once(*args: Any, **kwargs: Any) -> runner.Drained:
        rounds.append(1)
        if len(rounds) == 1:
            raise RuntimeError("database gone")
        return drain(*args, **kwargs)

    monkeypatch.setattr(runner, "drain", failing_once)
    ids = add_records(session, desk, 2)
    thread = SequencerThread(engine, TEST_LEDGER_SIGNER, interval=0, every=0.01)
    with caplog.at_level(logging.ERROR, logger="service.ledger.runner"):
        thread.start()
        try:
            assert wait_for(lambda: log_order(session) == ids, seconds=10)
        finally:
            thread.stop()
    assert not thread.is_alive()
    assert "ledger sequencing failed" in caplog.text
    assert "database gone" in caplog.text


def test_a_served_check_is_in_the_log_within_two_seconds(
    env: dict[str, str], engine: Engine, session: Session, keys: dict[str, str], tmp_path: Path
) -> None:
    served = {**env, "LEDGER_CHECKPOINT_INTERVAL": "0"}
    with running_server(served, tmp_path / "server.log") as base:
        response = requests.post(
            f"{base}/v1/checks", json={"nik": NIK}, headers=bearer(keys["desk"]), timeout=10
        )
        assert response.status_code == 201, response.text
        made = time.monotonic()
        assert wait_for(lambda: len(log_order(session)) == 1, seconds=5)
        assert time.monotonic() - made < 2
        assert wait_for(lambda: 1 in checkpoint_sizes(session), seconds=5)
        checkpoint = requests.get(
            f"{base}/v1/ledger/checkpoint", headers=bearer(keys["auditor"]), timeout=10
        )
        assert parse_checkpoint(verify_note(checkpoint.content, VERIFIER)).size == 1


def test_a_server_with_the_sequencer_off_leaves_records_queued(
    env: dict[str, str], engine: Engine, session: Session, keys: dict[str, str], tmp_path: Path
) -> None:
    served = {**env, "LEDGER_SEQUENCER": "off", "LEDGER_SEQUENCE_INTERVAL": "0.05"}
    with running_server(served, tmp_path / "server.log") as base:
        response = requests.post(
            f"{base}/v1/checks", json={"nik": NIK}, headers=bearer(keys["desk"]), timeout=10
        )
        assert response.status_code == 201, response.text
        time.sleep(1)
        assert log_order(session) == []
        assert len(queued(session)) == 1
        assert session.scalar(select(func.count()).select_from(LedgerCheckpoint)) == 0


@pytest.mark.parametrize(("setting", "started"), [("on", True), ("off", False)])
def test_each_server_worker_starts_a_sequencer_and_stops_it_at_exit(
    app: Flask, monkeypatch: pytest.MonkeyPatch, setting: str, started: bool
) -> None:
    monkeypatch.setenv("LEDGER_SEQUENCER", setting)
    server = Server({"bind": None, "workers": None})
    worker = SimpleNamespace(wsgi=app)
    server.cfg.post_worker_init(worker)
    thread = getattr(worker, "ledger_sequencer", None)
    assert (thread is not None and thread.is_alive()) == started
    server.cfg.worker_exit(server, worker)
    assert thread is None or not thread.is_alive()
