"""Heavy audit requests cannot take every thread of a worker (issue 14, finding 4)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service import create_app
from service.config import ConfigError, Settings, audit_heavy_slots
from tests.audit_records import client_of
from tests.conftest import RESIDENT, bearer
from tests.test_server import many_records, serving_process

CSV = "/v1/audit/checks.csv"


@pytest.fixture
def one_slot_app(settings: Settings, engine: Engine) -> Flask:
    """The app with one heavy slot per worker."""
    return create_app(replace(settings, audit_heavy_slots=1), engine)


def test_a_heavy_request_beyond_the_slots_is_503_audit_busy_at_once(
    one_slot_app: Flask, keys: dict[str, str], registry: object
) -> None:
    http = one_slot_app.test_client()
    auditor = bearer(keys["auditor"])
    # A CSV export being streamed holds its slot until its answer is closed.
    export = http.get(CSV, headers=auditor, buffered=False)
    assert export.status_code == 200
    for path in (CSV, "/v1/audit/stats?group_by=day", "/v1/audit/checks/ABCD-EFGH-JKMN/replay"):
        busy = http.get(path, headers=auditor)
        assert busy.status_code == 503, path
        assert (busy.json or {})["code"] == "AUDIT_BUSY"
        assert busy.headers["Retry-After"] == "1"
    # Light audit requests and checks are not held back.
    assert http.get("/v1/audit/checks", headers=auditor).status_code == 200
    checked = http.post("/v1/checks", json={"nik": RESIDENT}, headers=bearer(keys["desk"]))
    assert checked.status_code == 201
    export.close()
    assert http.get("/v1/audit/stats?group_by=day", headers=auditor).status_code == 200


def test_a_heavy_request_that_fails_gives_its_slot_back(
    one_slot_app: Flask, keys: dict[str, str]
) -> None:
    http = one_slot_app.test_client()
    auditor = bearer(keys["auditor"])
    for _ in range(3):
        refused = http.get("/v1/audit/stats?group_by=week", headers=auditor)
        assert refused.status_code == 422
    assert http.get("/v1/audit/stats?group_by=day", headers=auditor).status_code == 200


def test_the_slots_default_to_half_the_threads() -> None:
    assert audit_heavy_slots({}) == 2
    assert audit_heavy_slots({"JAMKESDA_THREADS": "8"}) == 4
    assert audit_heavy_slots({"JAMKESDA_THREADS": "1"}) == 1
    assert audit_heavy_slots({"AUDIT_HEAVY_SLOTS": "3"}) == 3
    with pytest.raises(ConfigError, match="AUDIT_HEAVY_SLOTS"):
        audit_heavy_slots({"AUDIT_HEAVY_SLOTS": "0"})


def test_served_exports_holding_every_slot_leave_checks_their_threads(
    env: dict[str, str], keys: dict[str, str], registry: object, session: Session, tmp_path: Path
) -> None:
    # One worker of four threads, two heavy slots: two exports that are never read (of
    # more records than the sockets buffer) hold both, and every further export is refused
    # at once while checks go on.
    many_records(session, client_of(session, keys["desk"]).id, "1040001")
    session.commit()
    served = {**env, "JAMKESDA_THREADS": "4", "AUDIT_HEAVY_SLOTS": "2", "LEDGER_SEQUENCER": "off"}
    auditor, desk = bearer(keys["auditor"]), bearer(keys["desk"])
    with serving_process(served, tmp_path / "server.log", workers=1) as (base, _process):
        held = [requests.get(base + CSV, headers=auditor, stream=True, timeout=10) for _ in "ab"]
        try:
            assert [answer.status_code for answer in held] == [200, 200]
            busy = [requests.get(base + CSV, headers=auditor, timeout=10) for _ in range(8)]
            assert {answer.status_code for answer in busy} == {503}
            started = time.perf_counter()
            for _ in range(10):
                checked = requests.post(
                    f"{base}/v1/checks", json={"nik": RESIDENT}, headers=desk, timeout=10
                )
                assert checked.status_code == 201
            assert time.perf_counter() - started < 5
        finally:
            for answer in held:
                answer.close()
