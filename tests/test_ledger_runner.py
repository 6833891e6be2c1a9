"""Running the sequencer: checkpoints when due, rounds that survive errors, a server's process."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import Client, LedgerCheckpoint
from service import clock
from service.cli import main
from service.ledger import runner, store
from service.ledger.merkle import EMPTY_ROOT, tree_hash
from service.ledger.note import parse_checkpoint, verifier_key, verify_note
from service.ledger.runner import drain, follow
from tests.audit_records import client_of
from tests.conftest import TEST_LEDGER_SIGNER, bearer
from tests.ledger_records import add_records, log_order, queued
from tests.test_server import JAMKESDA, NIK, running_server, serving_process

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


def test_following_logs_a_failed_round_and_goes_on(
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
    stopping = threading.Event()
    thread = threading.Thread(
        target=follow, args=(engine, TEST_LEDGER_SIGNER, 0, 0.01, stopping), daemon=True
    )
    with caplog.at_level(logging.ERROR, logger="service.ledger.runner"):
        thread.start()
        try:
            assert wait_for(lambda: log_order(session) == ids, seconds=10)
        finally:
            stopping.set()
            thread.join(10)
    assert not thread.is_alive()
    assert "ledger sequencing failed" in caplog.text
    assert "database gone" in caplog.text


def test_following_stops_when_no_longer_wanted(engine: Engine) -> None:
    answers = iter([True, True, False])
    started = time.monotonic()
    follow(engine, TEST_LEDGER_SIGNER, 0, 0.01, threading.Event(), lambda: next(answers))
    assert time.monotonic() - started < 5


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


def sequencers_of(master: int) -> list[int]:
    """The live ``ledger sequence --follow`` processes whose parent is ``master``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        state, parent = stat[stat.rindex(")") + 2 :].split()[:2]
        if int(parent) == master and state != "Z" and b"--follow" in command:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Whether a process with this id exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_the_server_runs_one_sequencer_process_restarts_it_and_stops_it(
    env: dict[str, str], engine: Engine, session: Session, keys: dict[str, str], tmp_path: Path
) -> None:
    served = {**env, "LEDGER_SEQUENCE_INTERVAL": "0.05"}
    with serving_process(served, tmp_path / "server.log") as (base, master):
        assert wait_for(lambda: len(sequencers_of(master.pid)) == 1, seconds=10)
        [first] = sequencers_of(master.pid)
        os.kill(first, signal.SIGKILL)
        # A restart is a second's pause and a new interpreter: on a machine busy with other
        # suites that took over 10 s once, so the bound is generous (it is about restarting).
        assert wait_for(lambda: sequencers_of(master.pid) not in ([], [first]), seconds=30)
        [second] = sequencers_of(master.pid)
        response = requests.post(
            f"{base}/v1/checks", json={"nik": NIK}, headers=bearer(keys["desk"]), timeout=10
        )
        assert response.status_code == 201, response.text
        # The new process needs a moment to start: this is about restarting, not latency.
        assert wait_for(lambda: len(log_order(session)) == 1, seconds=15)
    assert wait_for(lambda: not alive(second), seconds=10)
    assert "the ledger sequencer exited" in (tmp_path / "server.log").read_text()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_the_sequencer_process_exits_when_its_server_is_killed(
    env: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    served = {**env, "LEDGER_SEQUENCE_INTERVAL": "0.05"}
    with serving_process(served, tmp_path / "server.log") as (_base, master):
        assert wait_for(lambda: len(sequencers_of(master.pid)) == 1, seconds=10)
        [sequencer] = sequencers_of(master.pid)
        master.kill()
        master.wait(10)
        assert wait_for(lambda: not alive(sequencer), seconds=10)


def test_a_server_with_the_sequencer_off_runs_no_sequencer_process(
    env: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    served = {**env, "LEDGER_SEQUENCER": "off"}
    with serving_process(served, tmp_path / "server.log") as (_base, master):
        time.sleep(1)
        assert sequencers_of(master.pid) == []


def test_sequence_follow_drains_until_sigterm(
    env: dict[str, str], engine: Engine, session: Session, desk: Client
) -> None:
    process = subprocess.Popen(
        [JAMKESDA, "ledger", "sequence", "--follow", "--every", "0.05"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        ids = add_records(session, desk, 3)
        assert wait_for(lambda: log_order(session) == ids, seconds=15)
        more = add_records(session, desk, 2, first=3)
        assert wait_for(lambda: log_order(session) == ids + more, seconds=5)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=10)
    assert process.returncode == 0, output
