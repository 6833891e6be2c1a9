"""SPEC §13 "Exports are inert": no CSV cell of the audit export runs as a spreadsheet formula.

Issue 14, finding 2: only ``operator_id`` and ``external_ref`` were escaped, while a refused
request keeps its ``service_type`` and NIK as sent (``=cmd|'/ccalc'!A1``, ``=HYP…``).
Every column is reached here the way an attacker would reach it: through the API, an
import or the policy file, and read back from the API's export and the console's download.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service import create_app
from service.audit.export import HEADER, csv_text
from service.config import Settings
from service.imports import import_file
from service.policy import load_policy
from tests.audit_records import RESIDENT, add_people
from tests.conftest import TEST_NIK_HASH_KEY, bearer
from tests.factories import add_key
from tests.test_imports import facility, write_csv
from tests.test_web_console import search
from tests.test_web_sessions import sign_in

# OWASP's list of what a spreadsheet reads as the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CALC = "=cmd|'/ccalc'!A1"
# The columns no caller writes: made by the service, or numbers, dates and codes.
SERVICE_MADE = {
    "check_id",
    "decided_at",
    "client_id",
    "channel",
    "service_date",
    "decision",
    "reasons",
    "population_snapshot_id",
    "jamkesda_snapshot_id",
    "jkn_snapshot_id",
    "latency_ms",
    "batch_id",
}


def export_rows(http: FlaskClient, key: str) -> list[dict[str, str]]:
    """Every record as the API's CSV export writes it, newest first."""
    response = http.get("/v1/audit/checks.csv", headers=bearer(key))
    assert response.status_code == 200
    return read_csv(response.get_data(as_text=True))


def read_csv(text: str) -> list[dict[str, str]]:
    """A CSV body, its BOM checked, as dicts by header."""
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


def refused(http: FlaskClient, key: str, **body: Any) -> str:
    """A refused check request, recorded: its reference."""
    response = http.post("/v1/checks", json=body, headers=bearer(key))
    assert response.status_code == 422, response.get_data(as_text=True)
    return str(response.get_json()["check_id"])


def decided(http: FlaskClient, key: str, **body: Any) -> str:
    """A decided check: its reference."""
    response = http.post("/v1/checks", json={"nik": RESIDENT, **body}, headers=bearer(key))
    assert response.status_code == 201, response.get_data(as_text=True)
    return str(response.get_json()["check_id"])


def by_reference(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    """The rows by check reference."""
    return {row["check_id"]: row for row in rows}


@pytest.mark.parametrize("start", FORMULA_STARTS, ids=repr)
def test_every_text_a_caller_sends_is_exported_inert(
    http: FlaskClient, keys: dict[str, str], session: Session, start: str
) -> None:
    add_people(session)
    payload = f"{start}1+1"
    # A refused request keeps service_type, the (masked) NIK as sent, operator and reference.
    refusal = refused(
        http,
        keys["desk"],
        nik=f"{start}HYPERLINK(1)",
        service_type=f"{start}{CALC}"[:16],
        operator_id=payload,
        external_ref=payload,
    )
    # A decided check keeps the operator and the reference (valid values of any text).
    decision = decided(http, keys["integration"], operator_id=payload, external_ref=payload)
    rows = by_reference(export_rows(http, keys["auditor"]))
    for column in ("service_type", "operator_id", "external_ref"):
        assert rows[refusal][column].startswith("'" + start), column
    for column in ("operator_id", "external_ref"):
        assert rows[decision][column] == "'" + payload, column
    # A NIK loses white space, dots and dashes before it is masked.
    if start in "=+@":
        assert rows[refusal]["nik_masked"].startswith(f"'{start}HYP"), rows[refusal]
    # The values the service writes are as they were: only formula-like text changes.
    for row in (rows[refusal], rows[decision]):
        assert not any(row[column].startswith("'") for column in SERVICE_MADE)
        datetime.fromisoformat(row["decided_at"])
        float(row["latency_ms"])
    date.fromisoformat(rows[decision]["service_date"])
    assert rows[decision]["nik_masked"] == "6402**********01"


def test_a_facility_code_from_an_import_is_exported_inert(
    http: FlaskClient, keys: dict[str, str], engine: Engine, session: Session, tmp_path: Path
) -> None:
    code = "@SUM(1+1)"
    path = write_csv(tmp_path / "facilities.csv", [facility(code, NAMA="=HYPERLINK(1)")])
    with Session(engine) as importing, importing.begin():
        import_file(
            importing, "facilities", path, date(2026, 1, 1), hash_key=TEST_NIK_HASH_KEY.encode()
        )
    desk = add_key(session, "desk", code)
    session.commit()
    reference = refused(http, desk, nik="12345")
    row = by_reference(export_rows(http, keys["auditor"]))[reference]
    assert row["facility"] == "'" + code


@pytest.fixture
def formula_policy_app(settings: Settings, engine: Engine) -> Flask:
    """The app under a policy file whose version starts like a formula."""
    policy = dataclasses.replace(load_policy(), version="-2025+1")
    return create_app(dataclasses.replace(settings, policy=policy), engine)


def test_the_policy_version_is_exported_inert(
    formula_policy_app: Flask, keys: dict[str, str]
) -> None:
    http = formula_policy_app.test_client()
    reference = refused(http, keys["desk"], nik="12345")
    assert by_reference(export_rows(http, keys["auditor"]))[reference]["policy_version"] == (
        "'-2025+1"
    )


def test_the_consoles_download_is_inert_too(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    reference = refused(http, keys["desk"], nik="=HYPERLINK(1)", service_type=CALC[:16])
    sign_in(http, "console", keys["auditor"])
    results = search(http, decision="INVALID_REQUEST")
    answer = http.get(results.replace("/console/pemeriksaan", "/console/pemeriksaan.csv"))
    assert answer.status_code == 200
    row = by_reference(read_csv(answer.get_data(as_text=True)))[reference]
    assert row["service_type"] == "'" + CALC[:16]
    assert row["nik_masked"].startswith("'=HYP")


def test_the_writer_escapes_every_text_cell_and_no_other() -> None:
    cells = [f"{start}x" for start in FORMULA_STARTS]
    others = ["", "x=1", "'=quoted", "6402**********01", "2026-11-28T09:14:03+08:00"]
    numbers = [-1, -2.5, 0, None, date(2026, 1, 1)]
    [written] = list(csv.reader(io.StringIO(csv_text([cells + others + numbers]), newline="")))
    assert written == (
        [f"'{cell}" for cell in cells] + others + ["-1", "-2.5", "0", "", "2026-01-01"]
    )
    assert len(HEADER) == 18
