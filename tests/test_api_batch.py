"""POST /v1/checks/batch as a hospital system uses it: many patients, one transaction."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import Batch, CheckRecord
from service.check_ids import parse_batch_id
from tests.conftest import MOVED_IN_FROM_SAMARINDA, RESIDENT, bearer
from tests.factories import refusing_inserts

DECEASED = "6402010101800002"


def send(http: FlaskClient, key: str, body: Any, **headers: str) -> Any:
    """POST a batch and return the response."""
    return http.post("/v1/checks/batch", json=body, headers={**bearer(key), **headers})


def counts(session: Session) -> tuple[int, int]:
    """How many check records and batches exist."""
    session.expire_all()
    records = session.scalar(select(func.count()).select_from(CheckRecord)) or 0
    batches = session.scalar(select(func.count()).select_from(Batch)) or 0
    return records, batches


def test_every_item_is_decided_recorded_and_answered_in_order(
    http: FlaskClient, keys: dict[str, str], registry: Any, session: Session
) -> None:
    items = [
        {"nik": RESIDENT, "external_ref": "RM-1"},
        {"nik": "6402"},
        {"nik": DECEASED, "service_type": "emergency"},
        {"nik": MOVED_IN_FROM_SAMARINDA, "service_date": "1990-01-01"},
    ]
    response = send(http, keys["integration"], {"checks": items})
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert parse_batch_id(body["batch_id"]) == body["batch_id"]
    results = body["results"]
    assert [(result["index"], result["status"]) for result in results] == [
        (0, 201),
        (1, 422),
        (2, 201),
        (3, 422),
    ]
    assert results[0]["check"]["decision"] == "ELIGIBLE"
    assert results[2]["check"]["decision"] == "NOT_ELIGIBLE"
    assert results[2]["check"]["emergency_notice"]
    assert results[1]["problem"]["code"] == "INVALID_NIK"
    assert results[3]["problem"]["code"] == "INVALID_REQUEST"
    assert set(results[3]["problem"]["errors"]) == {"service_date"}
    for result in results:
        reference = (result.get("check") or result["problem"])["check_id"]
        record = session.scalars(select(CheckRecord).where(CheckRecord.check_id == reference)).one()
        assert record.batch_id == body["batch_id"]
        assert record.channel == "batch"
        assert record.facility_code == "1040002"
    assert counts(session) == (4, 1)


def test_a_decided_item_is_exactly_what_reading_the_check_answers(
    http: FlaskClient, keys: dict[str, str], registry: Any
) -> None:
    body = send(http, keys["integration"], {"checks": [{"nik": RESIDENT}]}).get_json()
    check = body["results"][0]["check"]
    read = http.get(f"/v1/checks/{check['check_id']}", headers=bearer(keys["integration"]))
    assert read.get_json() == check


def test_a_nik_sent_twice_is_checked_twice(
    http: FlaskClient, keys: dict[str, str], registry: Any, session: Session
) -> None:
    body = send(http, keys["integration"], {"checks": [{"nik": RESIDENT}] * 2}).get_json()
    first, second = (result["check"] for result in body["results"])
    assert first["check_id"] != second["check_id"]
    assert first["decision"] == second["decision"] == "ELIGIBLE"
    assert counts(session) == (2, 1)


def test_a_batch_of_only_invalid_items_records_each_and_answers_200(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    items = [{"nik": "1"}, {"nik": RESIDENT, "surprise": True}, {}]
    response = send(http, keys["integration"], {"checks": items})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [result["status"] for result in results] == [422, 422, 422]
    assert [set(result["problem"]["errors"]) for result in results] == [
        {"nik"},
        {"surprise"},
        {"nik"},
    ]
    records = session.scalars(select(CheckRecord).order_by(CheckRecord.id)).all()
    assert [record.decision for record in records] == ["INVALID_REQUEST"] * 3
    assert [record.check_id for record in records] == [
        result["problem"]["check_id"] for result in results
    ]


def test_a_hundred_items_are_one_batch(
    http: FlaskClient, keys: dict[str, str], registry: Any, session: Session
) -> None:
    response = send(http, keys["integration"], {"checks": [{"nik": RESIDENT}] * 100})
    assert response.status_code == 200
    assert len(response.get_json()["results"]) == 100
    assert counts(session) == (100, 1)


@pytest.mark.parametrize(
    "body",
    [
        [{"nik": RESIDENT}],
        {"checks": []},
        {"checks": [{"nik": RESIDENT}] * 101},
        {"checks": {"nik": RESIDENT}},
        {"checks": None},
        {},
        {"checks": [{"nik": RESIDENT}, "6402014101900001"]},
        {"checks": [{"nik": RESIDENT}, [{"nik": RESIDENT}]]},
        {"checks": [{"nik": RESIDENT}], "priority": "high"},
    ],
    ids=[
        "a-list",
        "no-items",
        "101-items",
        "checks-an-object",
        "checks-null",
        "no-checks",
        "an-item-a-string",
        "an-item-a-list",
        "an-unknown-member",
    ],
)
def test_anything_but_1_to_100_objects_is_invalid_and_records_nothing(
    http: FlaskClient, keys: dict[str, str], registry: Any, session: Session, body: Any
) -> None:
    response = send(http, keys["integration"], body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["code"] == "INVALID_BATCH"
    assert problem["errors"]
    assert "check_id" not in problem
    assert counts(session) == (0, 0)


def test_a_body_over_64_kib_is_taken_up_to_1_mib(
    http: FlaskClient, keys: dict[str, str], registry: Any, session: Session
) -> None:
    """Hospital batches carry names: 100 items of 700 bytes are over the 64 KiB of a check."""
    item = {"nik": RESIDENT, "patient_name": "Siti Aminah " * 16, "external_ref": "R" * 64}
    response = send(http, keys["integration"], {"checks": [item] * 100})
    assert response.status_code == 200
    assert counts(session) == (100, 1)


def test_a_body_over_1_mib_is_413_and_records_nothing(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    item = {"nik": RESIDENT, "patient_name": "x" * 11_000}
    response = send(http, keys["integration"], {"checks": [item] * 100})
    assert response.status_code == 413
    assert response.get_json()["code"] == "PAYLOAD_TOO_LARGE"
    assert "1024 KiB" in response.get_json()["detail"]
    assert counts(session) == (0, 0)


@pytest.mark.parametrize("role", ["desk", "auditor", "admin"])
def test_only_integration_keys_send_batches(
    http: FlaskClient, keys: dict[str, str], session: Session, role: str
) -> None:
    response = send(http, keys[role], {"checks": [{"nik": RESIDENT}]})
    assert response.status_code == 403
    assert counts(session) == (0, 0)


def test_a_batch_without_a_key_is_401(http: FlaskClient) -> None:
    response = http.post("/v1/checks/batch", json={"checks": [{"nik": RESIDENT}]})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_batch_that_cannot_be_committed_is_503_and_no_item_was_decided(
    http: FlaskClient, keys: dict[str, str], registry: Any, session: Session, engine: Engine
) -> None:
    items = [{"nik": RESIDENT}, {"nik": "1"}]
    with refusing_inserts(engine, session, "check_records"):
        response = send(http, keys["integration"], {"checks": items})
    assert response.status_code == 503
    assert response.get_json()["code"] == "DATABASE_UNAVAILABLE"
    assert "results" not in response.get_json()
    assert counts(session) == (0, 0)


def test_a_retried_batch_with_its_key_is_answered_again_without_new_records(
    http: FlaskClient, keys: dict[str, str], registry: Any, session: Session
) -> None:
    body = {"checks": [{"nik": RESIDENT}, {"nik": "1"}]}
    first = send(http, keys["integration"], body, **{"Idempotency-Key": "census-06-12"})
    again = send(http, keys["integration"], body, **{"Idempotency-Key": "census-06-12"})
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()
    assert counts(session) == (2, 1)


def test_a_key_used_for_a_single_check_cannot_send_a_batch(
    http: FlaskClient, keys: dict[str, str], registry: Any, session: Session
) -> None:
    headers = {**bearer(keys["integration"]), "Idempotency-Key": "k-1"}
    assert http.post("/v1/checks", json={"nik": RESIDENT}, headers=headers).status_code == 201
    batch = send(http, keys["integration"], {"checks": [{"nik": RESIDENT}]}, **headers)
    assert batch.status_code == 422
    assert batch.get_json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert counts(session) == (1, 0)


def test_the_audit_listing_csv_and_stats_filter_by_batch(
    http: FlaskClient, keys: dict[str, str], registry: Any
) -> None:
    send(http, keys["integration"], {"checks": [{"nik": DECEASED}]})
    body = send(http, keys["integration"], {"checks": [{"nik": RESIDENT}, {"nik": "1"}]})
    batch_id = body.get_json()["batch_id"]
    http.post("/v1/checks", json={"nik": RESIDENT}, headers=bearer(keys["integration"]))
    auditor = bearer(keys["auditor"])
    for typed in (batch_id, batch_id.lower()):
        listing = http.get("/v1/audit/checks", query_string={"batch": typed}, headers=auditor)
        items = listing.get_json()["items"]
        assert {item["batch_id"] for item in items} == {batch_id}
        assert sorted(item["decision"] for item in items) == ["ELIGIBLE", "INVALID_REQUEST"]
    everything = http.get("/v1/audit/checks", headers=auditor).get_json()["items"]
    assert sorted(item["channel"] for item in everything) == ["api", "batch", "batch", "batch"]
    assert [item["batch_id"] for item in everything if item["channel"] == "api"] == [None]
    csv_text = http.get(
        "/v1/audit/checks.csv", query_string={"batch": batch_id}, headers=auditor
    ).get_data(as_text=True)
    lines = csv_text.lstrip("\ufeff").strip().split("\r\n")
    assert lines[0].endswith(",batch_id")
    assert len(lines) == 3
    assert all(line.endswith(f",{batch_id}") for line in lines[1:])
    stats = http.get(
        "/v1/audit/stats", query_string={"batch": batch_id, "group_by": "decision"}, headers=auditor
    ).get_json()
    assert {(row["decision"], row["count"]) for row in stats["rows"]} == {
        ("ELIGIBLE", 1),
        ("INVALID_REQUEST", 1),
    }


@pytest.mark.parametrize("typed", ["K7QM-3XD9-2F4A", "B-K7QM-3XD9-2F4B", "B-"])
def test_a_malformed_batch_filter_is_a_422(
    http: FlaskClient, keys: dict[str, str], typed: str
) -> None:
    response = http.get(
        "/v1/audit/checks", query_string={"batch": typed}, headers=bearer(keys["auditor"])
    )
    assert response.status_code == 422
    assert response.get_json()["code"] == "INVALID_FILTER"
    assert set(response.get_json()["errors"]) == {"batch"}
