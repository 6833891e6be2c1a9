"""GET /v1/audit/checks.csv: the listing's records as a spreadsheet-ready, streamed CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from models import CheckRecord, Client
from service.audit.export import BATCH_ROWS, HEADER
from service.check_ids import new_check_id
from tests.audit_records import (
    MOVED_OUT,
    RESIDENT,
    add_people,
    add_record,
    client_of,
    post_check,
)
from tests.conftest import bearer

WITA = ZoneInfo("Asia/Makassar")


def export(http: FlaskClient, keys: dict[str, str], **params: Any) -> Any:
    """GET /v1/audit/checks.csv as the auditor."""
    query = f"?{urlencode(params)}" if params else ""
    return http.get(f"/v1/audit/checks.csv{query}", headers=bearer(keys["auditor"]))


def rows_of(response: Any) -> list[dict[str, str]]:
    """The CSV body read back as dicts (after checking its BOM)."""
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


@pytest.fixture
def made(http: FlaskClient, keys: dict[str, str], session: Session) -> list[dict[str, Any]]:
    """Checks made through the API at two facilities, oldest first."""
    add_people(session)
    return [
        post_check(http, keys["desk"], nik=RESIDENT, operator_id="rina", external_ref="REG-1"),
        post_check(http, keys["integration"], nik=MOVED_OUT, service_type="inpatient"),
        post_check(http, keys["desk"], nik="12345", operator_id="rina"),
        post_check(http, keys["integration"], nik=RESIDENT, external_ref="=HYPERLINK(1)"),
    ]


def test_the_export_is_a_utf8_csv_attachment_with_a_bom_and_a_header(
    http: FlaskClient, keys: dict[str, str], made: list[dict[str, Any]]
) -> None:
    response = export(http, keys)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="checks.csv"'
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    first_line = body.decode("utf-8").lstrip("\ufeff").split("\r\n")[0]
    assert first_line == ",".join(HEADER)
    assert list(HEADER) == [
        "check_id",
        "decided_at",
        "nik_masked",
        "facility",
        "client_id",
        "operator_id",
        "channel",
        "service_date",
        "service_type",
        "external_ref",
        "decision",
        "reasons",
        "policy_version",
        "population_snapshot_id",
        "jamkesda_snapshot_id",
        "jkn_snapshot_id",
        "latency_ms",
        "batch_id",
    ]


def test_the_rows_are_the_listings_records(
    http: FlaskClient, keys: dict[str, str], made: list[dict[str, Any]]
) -> None:
    items = http.get("/v1/audit/checks", headers=bearer(keys["auditor"])).get_json()["items"]
    rows = rows_of(export(http, keys))
    assert len(rows) == len(items) == len(made)
    for row, item in zip(rows, items, strict=True):
        assert row["check_id"] == item["check_id"]
        assert row["decided_at"] == item["decided_at"]
        assert row["decided_at"].endswith("+08:00")
        assert row["nik_masked"] == item["nik_masked"]
        assert row["facility"] == item["facility"]["code"]
        assert row["client_id"] == str(item["client"]["id"])
        assert row["operator_id"] == (item["operator_id"] or "")
        assert row["channel"] == item["channel"]
        assert row["service_date"] == (item["request"]["service_date"] or "")
        assert row["service_type"] == (item["request"]["service_type"] or "")
        assert row["decision"] == item["decision"]
        assert row["reasons"] == ";".join(reason["code"] for reason in item["reasons"])
        assert row["policy_version"] == item["policy_version"]
        for source in ("population", "jamkesda", "jkn"):
            snapshot = item["data_snapshots"][source]
            assert row[f"{source}_snapshot_id"] == ("" if snapshot is None else str(snapshot))
        assert float(row["latency_ms"]) == item["latency_ms"]
        assert row["batch_id"] == (item["batch_id"] or "")
    external_refs = [row["external_ref"] for row in rows]
    assert external_refs == ["'=HYPERLINK(1)", "", "", "REG-1"]


def test_only_masked_niks_leave(
    http: FlaskClient, keys: dict[str, str], made: list[dict[str, Any]]
) -> None:
    text = export(http, keys).get_data(as_text=True)
    assert RESIDENT not in text
    assert MOVED_OUT not in text
    assert "6402**********01" in text
    assert "6402**********02" in text


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"facility": "1040002"}, [3, 1]),
        ({"nik": RESIDENT}, [3, 0]),
        ({"nik": RESIDENT, "facility": "1040001"}, [0]),
        ({"decision": "INVALID_REQUEST"}, [2]),
        ({"reason": "NOT_RESIDENT"}, [1]),
        ({"operator": "rina"}, [2, 0]),
        ({"from": "2020-01-01", "to": "2020-12-31"}, []),
    ],
)
def test_the_listings_filters_apply(
    http: FlaskClient,
    keys: dict[str, str],
    made: list[dict[str, Any]],
    params: dict[str, str],
    expected: list[int],
) -> None:
    rows = rows_of(export(http, keys, **params))
    assert [row["check_id"] for row in rows] == [made[i]["check_id"] for i in expected]


def test_reasons_are_joined_with_semicolons_and_times_are_wita(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    client = client_of(session, keys["desk"])
    add_record(
        session,
        client,
        decision="NOT_ELIGIBLE",
        reasons=["RESIDENCY_TOO_SHORT", "JAMKESDA_NOT_ENROLLED"],
        decided_at=datetime(2026, 3, 3, 23, 30, tzinfo=WITA),
    )
    [row] = rows_of(export(http, keys))
    assert row["reasons"] == "RESIDENCY_TOO_SHORT;JAMKESDA_NOT_ENROLLED"
    assert row["decided_at"] == "2026-03-03T23:30:00+08:00"


@pytest.mark.parametrize(
    ("params", "field_name"),
    [
        ({"limit": "10"}, "limit"),
        ({"cursor": "aWQ6MTA"}, "cursor"),
        ({"nik": "1234"}, "nik"),
        ({"from": "tomorrow"}, "from"),
        ({"format": "xlsx"}, "format"),
    ],
)
def test_a_wrong_parameter_is_a_422_problem_not_a_csv(
    http: FlaskClient, keys: dict[str, str], params: dict[str, str], field_name: str
) -> None:
    response = export(http, keys, **params)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "INVALID_FILTER"
    assert list(response.get_json()["errors"]) == [field_name]


@pytest.fixture
def many(session: Session, keys: dict[str, str]) -> int:
    """More records than two batches of the export hold, inserted in bulk."""
    client: Client = client_of(session, keys["desk"])
    count = 2 * BATCH_ROWS + 7
    template: dict[str, Any] = {
        "nik_hash": None,
        "nik_masked": "6402**********01",
        "facility_code": client.facility_code,
        "client_id": client.id,
        "channel": "api",
        "name_match": "NOT_PROVIDED",
        "birth_date_match": "NOT_PROVIDED",
        "decision": "ELIGIBLE",
        "reasons": [],
        "policy_version": "kukar-2025.1",
        "latency_ms": 1.0,
    }
    session.execute(
        insert(CheckRecord),
        [
            {
                **template,
                "check_id": new_check_id(),
                "decided_at": datetime(2026, 3, 3, tzinfo=WITA),
            }
            for _ in range(count)
        ],
    )
    session.commit()
    return count


def test_the_body_is_streamed_in_batches_of_rows(
    http: FlaskClient, keys: dict[str, str], many: int
) -> None:
    response = export(http, keys)
    assert response.is_streamed
    chunks = list(response.response)
    # The header, then one chunk per batch: never the whole result in memory at once.
    assert len(chunks) == 1 + 3
    assert max(chunk.count(b"\r\n") for chunk in chunks) == BATCH_ROWS
    assert sum(chunk.count(b"\r\n") for chunk in chunks) == many + 1
    response.close()


def test_the_export_gives_its_connection_back_when_done_or_dropped(
    http: FlaskClient, keys: dict[str, str], engine: Engine, session: Session, many: int
) -> None:
    session.close()
    finished = export(http, keys)
    finished.get_data()
    finished.close()
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    dropped = export(http, keys)
    next(iter(dropped.response))
    next(iter(dropped.response))
    dropped.close()
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
