"""Time is bound in the ledger (SPEC §13, issue 14 finding 5).

The attack reproduced: a record inserted through SQL with ``decided_at`` three months back
was sequenced like any other and passed ``jamkesda ledger verify``. Now checkpoints carry
their signing time in a signed ``time`` line; the sequencer quarantines a record decided
more than ``LEDGER_MAX_SKEW_SECONDS`` before the latest checkpoint; and both verifiers
report a leaf that goes back in time beyond it, written past the sequencer by someone
holding the database and the signing key.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from models import CheckRecord, Client, LedgerCheckpoint, LedgerQuarantine
from service import clock, config
from service.config import ConfigError
from service.ledger.note import (
    Checkpoint,
    checkpoint_time,
    format_checkpoint,
    parse_checkpoint,
    sign_note,
    verify_note,
)
from service.ledger.runner import drain
from service.ledger.sequencer import checkpoint, sequence
from tests.audit_records import client_of
from tests.conftest import TEST_LEDGER_SIGNER, TEST_LEDGER_VERIFIER_KEY, bearer
from tests.ledger_records import add_records, log_order, queued, record_values, sequence_all
from tests.test_server import running_server
from tests.test_web_sessions import sign_in

JAMKESDA = str(Path(sys.executable).with_name("jamkesda"))
SCRIPT = Path(__file__).resolve().parent.parent / "docs" / "ombudsman" / "verify_ledger.py"
THREE_MONTHS = timedelta(days=91)


@pytest.fixture
def desk(session: Session, keys: dict[str, str]) -> Client:
    """The desk client the records are made by."""
    return client_of(session, keys["desk"])


def insert_record(session: Session, desk: Client, number: int, decided_ago: timedelta) -> str:
    """A record inserted through SQL, decided ``decided_ago`` before now; its reference."""
    values = record_values(desk, number, decided_at=clock.now() - decided_ago)
    session.execute(insert(CheckRecord), [values])
    session.commit()
    return str(values["check_id"])


def auditor_get(http: FlaskClient, keys: dict[str, str], path: str, **query: Any) -> Any:
    """GET as the auditor."""
    return http.get(path, headers=bearer(keys["auditor"]), query_string=query)


def test_checkpoints_carry_their_signing_time_in_a_signed_line(
    engine: Engine, session: Session, desk: Client
) -> None:
    add_records(session, desk, 2)
    before = int(clock.now().timestamp())
    signed = sequence_all(engine).checkpoint
    assert signed is not None
    text = verify_note(signed.note, TEST_LEDGER_VERIFIER_KEY)
    origin, size, _root, time_line = text.splitlines()
    assert (origin, size) == (TEST_LEDGER_SIGNER.name, "2")
    seconds = checkpoint_time(parse_checkpoint(text))
    assert time_line == f"time {seconds}"
    assert seconds is not None
    assert before <= seconds <= int(clock.now().timestamp())
    assert int(clock.aware(signed.signed_at).timestamp()) == seconds


def test_a_record_backdated_three_months_through_sql_is_quarantined_not_sequenced(
    http: FlaskClient,
    keys: dict[str, str],
    env: dict[str, str],
    engine: Engine,
    session: Session,
    desk: Client,
) -> None:
    ids = add_records(session, desk, 3)
    sequence_all(engine)
    backdated = insert_record(session, desk, 3, THREE_MONTHS)
    # A record committed a little late, within the tolerance, is logged as before.
    late = insert_record(session, desk, 4, timedelta(seconds=100))
    done = sequence_all(engine)
    assert done.appended == 1
    [held] = done.quarantined
    assert session.get(CheckRecord, held).check_id == backdated  # type: ignore[union-attr]
    assert held not in log_order(session)
    assert len(log_order(session)) == 4
    assert log_order(session)[:3] == ids
    assert queued(session) == []
    # Its AuditRecord says so (SPEC §13), and the sequenced one gives its leaf.
    record = auditor_get(http, keys, f"/v1/audit/checks/{backdated}").get_json()
    assert record["ledger"] == {"leaf_index": None, "quarantined": True}
    assert auditor_get(http, keys, f"/v1/audit/checks/{late}").get_json()["ledger"] == {
        "leaf_index": 3
    }
    # The auditors' list names it, with the checkpoint it was measured against.
    listed = auditor_get(http, keys, "/v1/ledger/quarantine")
    assert listed.status_code == 200, listed.get_data(as_text=True)
    [item] = listed.get_json()["items"]
    assert item["check_id"] == backdated
    assert item["checkpoint_size"] == 3
    assert listed.get_json()["next_cursor"] is None
    # The log itself is sound, and the summary counts the quarantined record.
    result = subprocess.run(
        [JAMKESDA, "ledger", "verify"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 quarantined (GET /v1/ledger/quarantine): no problems found" in result.stdout


def test_the_first_records_are_never_quarantined_before_any_checkpoint(
    engine: Engine, session: Session, desk: Client
) -> None:
    insert_record(session, desk, 0, THREE_MONTHS)
    assert sequence_all(engine).quarantined == ()
    assert len(log_order(session)) == 1


def test_the_quarantine_listing_pages_and_is_for_auditors_only(
    http: FlaskClient, keys: dict[str, str], engine: Engine, session: Session, desk: Client
) -> None:
    add_records(session, desk, 1)
    sequence_all(engine)
    references = [insert_record(session, desk, n, THREE_MONTHS) for n in range(1, 4)]
    sequence_all(engine)
    first = auditor_get(http, keys, "/v1/ledger/quarantine", limit=2).get_json()
    second = auditor_get(
        http, keys, "/v1/ledger/quarantine", limit=2, cursor=first["next_cursor"]
    ).get_json()
    listed = [item["check_id"] for item in first["items"] + second["items"]]
    assert listed == references[::-1]
    assert second["next_cursor"] is None
    desk_answer = http.get("/v1/ledger/quarantine", headers=bearer(keys["desk"]))
    assert desk_answer.status_code == 403
    assert desk_answer.content_type == "application/problem+json"
    for query in ({"limit": "0"}, {"cursor": "zz"}, {"size": "1"}):
        refused = auditor_get(http, keys, "/v1/ledger/quarantine", **query)
        assert refused.status_code == 422, query
        assert refused.get_json()["code"] == "INVALID_FILTER"


def test_the_console_record_page_says_dikarantina(
    http: FlaskClient, keys: dict[str, str], engine: Engine, session: Session, desk: Client
) -> None:
    add_records(session, desk, 1)
    sequence_all(engine)
    backdated = insert_record(session, desk, 1, THREE_MONTHS)
    sequence_all(engine)
    sign_in(http, "console", keys["auditor"])
    page = http.get(f"/console/pemeriksaan/{backdated}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Indeks di ledger</dt><dd>dikarantina</dd>" in html
    assert "Indeks daun</dt><dd>dikarantina</dd>" in html
    assert "Catatan ini <strong>dikarantina</strong>" in html


def test_max_skew_is_configurable_and_a_malformed_value_is_named() -> None:
    assert config.ledger_max_skew_seconds({}) == 300
    assert config.ledger_max_skew_seconds({"LEDGER_MAX_SKEW_SECONDS": "60"}) == 60
    for bad in ("-1", "5m", "1.5", "١٢"):
        with pytest.raises(ConfigError, match="LEDGER_MAX_SKEW_SECONDS"):
            config.ledger_max_skew_seconds({"LEDGER_MAX_SKEW_SECONDS": bad})


def test_sequence_with_a_malformed_max_skew_exits_2_naming_it(env: dict[str, str]) -> None:
    result = subprocess.run(
        [JAMKESDA, "ledger", "sequence"],
        env={**env, "LEDGER_MAX_SKEW_SECONDS": "soon"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "LEDGER_MAX_SKEW_SECONDS" in result.stderr


def test_a_smaller_tolerance_quarantines_sooner(
    engine: Engine, session: Session, desk: Client
) -> None:
    add_records(session, desk, 1)
    sequence_all(engine)
    insert_record(session, desk, 1, timedelta(seconds=120))
    done = drain(engine, TEST_LEDGER_SIGNER, interval=0, force=True, max_skew=60)
    assert len(done.quarantined) == 1
    assert session.scalar(select(LedgerQuarantine.checkpoint_size)) == 1


def forge_backdated_leaf(engine: Engine, session: Session, desk: Client) -> str:
    """A log of 5 leaves, then a leaf decided three months back, written past the quarantine.

    As an operator holding the database and the signing key could: sequencing with a
    tolerance of their own, and signing a checkpoint over it. Returns its reference.
    """
    add_records(session, desk, 5)
    sequence_all(engine)
    backdated = insert_record(session, desk, 5, THREE_MONTHS)
    with Session(engine) as rogue, rogue.begin():
        assert sequence(rogue, max_skew=10**9) == 1
    with Session(engine) as rogue, rogue.begin():
        assert checkpoint(rogue, TEST_LEDGER_SIGNER, interval=0, force=True) is not None
    assert len(log_order(session)) == 6
    return backdated


def test_both_verifiers_report_a_leaf_forged_with_an_old_decision_time(
    env: dict[str, str],
    keys: dict[str, str],
    engine: Engine,
    session: Session,
    desk: Client,
    tmp_path: Path,
) -> None:
    backdated = forge_backdated_leaf(engine, session, desk)
    result = subprocess.run(
        [JAMKESDA, "ledger", "verify"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"leaf 5 (check {backdated}): decided at " in result.stdout
    assert "backdated beyond the tolerance of 300 s" in result.stdout
    # The Ombudsman's verifier sees it from outside, through the API of a served app.
    (tmp_path / "auditor.key").write_text(keys["auditor"])
    served = {**env, "LEDGER_SEQUENCER": "off"}
    with running_server(served, tmp_path / "server.log") as base:
        outside = subprocess.run(
            [
                sys.executable,
                str(SCRIPT),
                "--api",
                base,
                "--key-file",
                str(tmp_path / "auditor.key"),
                "--verifier-key",
                TEST_LEDGER_VERIFIER_KEY,
                "--entries",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
    assert outside.returncode == 1, outside.stdout + outside.stderr
    assert f"FAIL  entry index 5, check {backdated}: decided " in outside.stdout
    assert "the log goes back in time" in outside.stdout


def test_ledger_verify_reports_a_leaf_decided_before_a_checkpoint_it_follows(
    env: dict[str, str], engine: Engine, session: Session, desk: Client
) -> None:
    # The leaf is later than every leaf before it, but earlier than the checkpoint it
    # follows by more than the tolerance: only the signed time shows it. (The first two,
    # six months old, are logged: before the first checkpoint nothing is quarantined.)
    insert_record(session, desk, 0, THREE_MONTHS * 2)
    insert_record(session, desk, 1, THREE_MONTHS * 2)
    sequence_all(engine)
    insert_record(session, desk, 2, THREE_MONTHS)
    with Session(engine) as rogue, rogue.begin():
        sequence(rogue, max_skew=10**9)
    result = subprocess.run(
        [JAMKESDA, "ledger", "verify"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1, result.stdout
    assert "leaf 2 (check " in result.stdout
    assert "before the checkpoint of size 2" in result.stdout


def test_an_old_checkpoint_without_a_time_line_still_verifies(
    env: dict[str, str], engine: Engine, session: Session, desk: Client
) -> None:
    add_records(session, desk, 2)
    sequence_all(engine)
    with engine.begin() as connection:
        stored = connection.execute(select(LedgerCheckpoint)).one()
        old_form = Checkpoint(TEST_LEDGER_SIGNER.name, stored.tree_size, bytes(stored.root_hash))
        connection.execute(
            update(LedgerCheckpoint).values(
                note=sign_note(format_checkpoint(old_form), TEST_LEDGER_SIGNER)
            )
        )
    add_records(session, desk, 1, first=2)
    assert sequence_all(engine).quarantined == ()
    result = subprocess.run(
        [JAMKESDA, "ledger", "verify"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
