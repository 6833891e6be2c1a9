"""POST and GET /v1/checks as a front desk uses them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import CheckRecord
from service.check_ids import new_check_id, parse_check_id
from service.nik import nik_hash
from tests.conftest import MOVED_IN_FROM_SAMARINDA, RESIDENT, TEST_NIK_HASH_KEY, bearer
from tests.factories import TODAY, add_membership, add_person, add_snapshot

UNKNOWN = "6402010101900099"


def check(http: FlaskClient, key: str, **body: Any) -> Any:
    """POST a check and return the response."""
    return http.post("/v1/checks", json=body, headers=bearer(key))


def test_eligible_resident_gets_coverage_and_a_recorded_reference(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any], session: Session
) -> None:
    response = check(http, keys["desk"], nik="6402 0141 0190 0001", operator_id="rina")
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"] == f"/v1/checks/{body['check_id']}"
    assert parse_check_id(body["check_id"]) == body["check_id"]
    assert body["decision"] == "ELIGIBLE"
    assert body["eligible"] is True
    assert body["reasons"] == []
    assert body["coverage"] == {
        "scheme": "JAMKESDA",
        "class": "II",
        "valid_until": (TODAY + timedelta(days=30)).isoformat(),
    }
    assert body["nik_masked"] == "6402**********01"
    assert body["policy_version"] == "kukar-2025.1"
    assert body["data_as_of"] == {
        "population": (TODAY - timedelta(days=3)).isoformat(),
        "jamkesda": (TODAY - timedelta(days=1)).isoformat(),
        "jkn": (TODAY - timedelta(days=2)).isoformat(),
    }
    assert body["decided_at"].endswith("+08:00")
    assert body.get("dispute") is None
    assert body["identity_match"] == {"name": "NOT_PROVIDED", "birth_date": "NOT_PROVIDED"}
    record = session.scalars(select(CheckRecord)).one()
    assert record.check_id == body["check_id"]
    assert record.decision == "ELIGIBLE"
    assert record.facility_code == "1040001"
    assert record.operator_id == "rina"
    assert record.service_date == TODAY
    assert record.population_snapshot_id == registry["population"].id


@pytest.mark.parametrize(
    ("nik", "decision", "reasons"),
    [
        ("6402010101800002", "NOT_ELIGIBLE", ["DECEASED"]),
        ("6402010101800003", "NOT_ELIGIBLE", ["NOT_RESIDENT"]),
        ("6402010101800004", "NOT_ELIGIBLE", ["NOT_RESIDENT", "JAMKESDA_NOT_ENROLLED"]),
        ("6402010101800005", "COVERED_BY_JKN", ["JKN_ACTIVE"]),
        (UNKNOWN, "NOT_ELIGIBLE", ["NIK_NOT_FOUND"]),
        (MOVED_IN_FROM_SAMARINDA, "ELIGIBLE", []),
    ],
)
def test_each_kind_of_person_gets_its_decision_and_reasons(
    http: FlaskClient,
    keys: dict[str, str],
    registry: dict[str, Any],
    nik: str,
    decision: str,
    reasons: list[str],
) -> None:
    body = check(http, keys["integration"], nik=nik).get_json()
    assert body["decision"] == decision
    assert [reason["code"] for reason in body["reasons"]] == reasons
    assert all(reason["message"] for reason in body["reasons"])
    assert body["eligible"] is (decision in ("ELIGIBLE", "COVERED_BY_JKN"))
    if decision == "ELIGIBLE":
        assert body.get("dispute") is None
    else:
        assert body["dispute"]["reference"] == body["check_id"]
        assert body["check_id"] in body["dispute"]["message"]


def test_no_population_snapshot_is_undetermined_never_a_denial(
    http: FlaskClient, keys: dict[str, str]
) -> None:
    body = check(http, keys["desk"], nik=RESIDENT).get_json()
    assert body["decision"] == "UNDETERMINED"
    assert body["eligible"] is False
    assert [reason["code"] for reason in body["reasons"]] == ["DATA_UNAVAILABLE"]
    assert body["data_as_of"] == {"population": None, "jamkesda": None, "jkn": None}
    assert body["dispute"]["reference"] == body["check_id"]


def test_emergency_adds_the_notice_without_changing_the_decision(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any]
) -> None:
    body = check(http, keys["desk"], nik="6402010101800003", service_type="emergency").get_json()
    assert body["decision"] == "NOT_ELIGIBLE"
    assert "UU No. 17 Tahun 2023" in body["emergency_notice"]
    assert check(http, keys["desk"], nik=RESIDENT).get_json().get("emergency_notice") is None


def test_identity_fields_are_compared_without_revealing_the_registry(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any]
) -> None:
    matching = check(
        http, keys["desk"], nik=RESIDENT, patient_name="SITI  aminah.", birth_date="1990-01-01"
    ).get_json()
    assert matching["identity_match"] == {"name": "MATCH", "birth_date": "MATCH"}
    wrong = check(http, keys["desk"], nik=RESIDENT, patient_name="Budi", birth_date="1991-01-01")
    body = wrong.get_json()
    assert body["identity_match"] == {"name": "MISMATCH", "birth_date": "MISMATCH"}
    assert body["decision"] == "ELIGIBLE"
    assert "Siti" not in wrong.get_data(as_text=True)
    assert "1990-01-01" not in wrong.get_data(as_text=True)


def test_service_date_in_the_past_is_decided_for_that_date(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    population = add_snapshot(session, "population")
    jamkesda = add_snapshot(session, "jamkesda")
    add_person(session, population, RESIDENT, domiciled_since=TODAY - timedelta(days=100))
    add_membership(session, jamkesda, RESIDENT)
    session.commit()
    twenty_days_ago = (TODAY - timedelta(days=20)).isoformat()
    body = check(http, keys["desk"], nik=RESIDENT, service_date=twenty_days_ago).get_json()
    assert [reason["code"] for reason in body["reasons"]] == ["RESIDENCY_TOO_SHORT"]
    assert check(http, keys["desk"], nik=RESIDENT).get_json()["decision"] == "ELIGIBLE"


def test_records_hold_a_keyed_hash_and_masked_nik_never_the_plain_nik(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any], session: Session
) -> None:
    check(http, keys["desk"], nik=RESIDENT)
    check(http, keys["desk"], nik="6402-0101-0190-00XX")
    for record in session.scalars(select(CheckRecord)):
        values = [str(getattr(record, column.key)) for column in CheckRecord.__table__.columns]
        assert not any(RESIDENT in value for value in values)
    valid = session.scalars(select(CheckRecord).where(CheckRecord.decision == "ELIGIBLE")).one()
    assert valid.nik_hash == nik_hash(TEST_NIK_HASH_KEY.encode(), RESIDENT)
    assert valid.nik_masked == "6402**********01"


@pytest.mark.parametrize(
    "nik",
    [
        "640201410190000",  # 15 digits
        "64020141019000011",  # 17 digits
        "1002014101900001",  # province 10
        "6402013201900001",  # day 32
        "6402017201900001",  # day 72 (women's 32)
        "6402010113900001",  # month 13
        "6402013102900001",  # 31 February
        "6402012902010001",  # 29 February 1901/2001
        "6402014101900000",  # serial 0000
        "6402O14101900001",  # a letter O
        "",
    ],
)
def test_invalid_nik_is_422_and_the_attempt_is_recorded(
    http: FlaskClient, keys: dict[str, str], session: Session, nik: str
) -> None:
    response = check(http, keys["desk"], nik=nik, external_ref="REG-1")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["code"] == "INVALID_NIK"
    assert problem["status"] == 422
    assert "nik" in problem["errors"]
    record = session.scalars(select(CheckRecord)).one()
    assert record.check_id == problem["check_id"]
    assert record.decision == "INVALID_REQUEST"
    assert record.external_ref == "REG-1"
    assert record.facility_code == "1040001"


def test_leap_day_nik_valid_in_one_century_reading_is_accepted(
    http: FlaskClient, keys: dict[str, str]
) -> None:
    assert check(http, keys["desk"], nik="6402012902000001").status_code == 201


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("service_date", (TODAY + timedelta(days=1)).isoformat()),
        ("service_date", (TODAY - timedelta(days=91)).isoformat()),
        ("service_date", "28-11-2026"),
        ("service_type", "dental"),
        ("operator_id", "x" * 65),
        ("external_ref", "x" * 65),
        ("birth_date", "1990-02-30"),
        ("unexpected", "field"),
    ],
)
def test_other_invalid_fields_are_422_with_the_field_named_and_recorded(
    http: FlaskClient, keys: dict[str, str], session: Session, field: str, value: str
) -> None:
    response = check(http, keys["desk"], nik=RESIDENT, **{field: value})
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["code"] == "INVALID_REQUEST"
    assert list(problem["errors"]) == [field]
    assert session.scalars(select(CheckRecord.decision)).one() == "INVALID_REQUEST"


def test_service_date_limits_are_inclusive(http: FlaskClient, keys: dict[str, str]) -> None:
    oldest = (TODAY - timedelta(days=90)).isoformat()
    assert check(http, keys["desk"], nik=RESIDENT, service_date=oldest).status_code == 201
    today = TODAY.isoformat()
    assert check(http, keys["desk"], nik=RESIDENT, service_date=today).status_code == 201


def test_a_check_reads_back_the_same_for_its_facility_only(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any]
) -> None:
    created = check(http, keys["desk"], nik="6402010101800003", service_type="emergency")
    body = created.get_json()
    reference = body["check_id"]
    again = http.get(f"/v1/checks/{reference}", headers=bearer(keys["desk"]))
    assert again.status_code == 200
    assert again.get_json() == body
    lower = http.get(f"/v1/checks/{reference.lower()}", headers=bearer(keys["desk"]))
    assert lower.get_json() == body
    elsewhere = http.get(f"/v1/checks/{reference}", headers=bearer(keys["other_desk"]))
    assert elsewhere.status_code == 404
    assert elsewhere.get_json()["code"] == "CHECK_NOT_FOUND"


def test_every_kind_of_answer_is_exactly_what_the_schema_dumps(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    """The 201 is written without the schema's dump; GET /v1/checks/{id} still dumps it."""
    answers = [check(http, keys["desk"], nik=RESIDENT)]  # before any import: null dates
    population = add_snapshot(session, "population", TODAY - timedelta(days=3))
    jamkesda = add_snapshot(session, "jamkesda", TODAY - timedelta(days=1))
    add_person(session, population, RESIDENT, name="Siti Aminah", birth_date=date(1990, 1, 1))
    add_membership(session, jamkesda, RESIDENT, kelas="II", end_date=TODAY + timedelta(days=30))
    add_person(session, population, "6402010101800003", status="PINDAH")
    session.commit()
    answers += [
        check(http, keys["desk"], nik=RESIDENT, patient_name="siti aminah"),
        check(http, keys["desk"], nik="6402010101800003", service_type="emergency"),
        check(http, keys["integration"], nik=UNKNOWN, birth_date="1990-01-01"),
    ]
    decisions = set()
    for answer in answers:
        assert answer.status_code == 201
        assert answer.mimetype == "application/json"
        body = answer.get_json()
        decisions.add(body["decision"])
        key = keys["integration"] if body["nik_masked"] == "6402**********99" else keys["desk"]
        again = http.get(f"/v1/checks/{body['check_id']}", headers=bearer(key))
        assert again.get_json() == body
    assert decisions == {"UNDETERMINED", "ELIGIBLE", "NOT_ELIGIBLE"}


def test_a_mistyped_reference_is_422_and_an_unknown_one_404(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any]
) -> None:
    reference = check(http, keys["desk"], nik=RESIDENT).get_json()["check_id"]
    first = reference[0]
    typo = ("1" if first != "1" else "2") + reference[1:]
    response = http.get(f"/v1/checks/{typo}", headers=bearer(keys["desk"]))
    assert response.status_code == 422
    assert response.get_json()["code"] == "INVALID_CHECK_ID"
    malformed = http.get("/v1/checks/ABC", headers=bearer(keys["desk"]))
    assert malformed.get_json()["code"] == "INVALID_CHECK_ID"
    unknown = http.get("/v1/checks/0000-0000-0000", headers=bearer(keys["desk"]))
    assert unknown.status_code == 404


def test_a_reference_already_taken_is_never_reused(
    http: FlaskClient,
    keys: dict[str, str],
    registry: dict[str, Any],
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    taken = check(http, keys["desk"], nik=RESIDENT).get_json()["check_id"]
    unused = new_check_id()
    draws = iter([taken, taken, unused])
    monkeypatch.setattr("service.records.new_check_id", lambda: next(draws))
    response = check(http, keys["desk"], nik=RESIDENT)
    assert response.status_code == 201
    assert response.get_json()["check_id"] == unused
    assert response.headers["Location"] == f"/v1/checks/{unused}"
    assert session.scalar(select(func.count()).select_from(CheckRecord)) == 2
