"""The canonical leaf of a check record: pinned bytes, one spelling, the same after the database."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import CheckRecord, Client
from service import clock
from service.ledger.leaf import FIELDS, UnencodableRecord, encode_leaf
from service.records import CheckEntry, append_record
from tests.conftest import bearer
from tests.factories import add_snapshot

WITA = ZoneInfo("Asia/Makassar")
NIK = "6402014101900001"

EXAMPLE: dict[str, Any] = {
    "id": 12,
    "check_id": "K7QM-3XD9-2F4A",
    "decided_at": datetime(2026, 11, 28, 9, 14, 3, 250, tzinfo=WITA),
    "nik_hash": "5d41402abc4b2a76b9719d911017c592" * 2,
    "nik_masked": "6402**********01",
    "facility_code": "1040001",
    "client_id": 3,
    "operator_id": "Rina Ñ",
    "channel": "api",
    "service_date": date(2026, 11, 28),
    "service_type": "outpatient",
    "external_ref": None,
    "name_match": "MATCH",
    "birth_date_match": "NOT_PROVIDED",
    "decision": "ELIGIBLE",
    "reasons": [],
    "coverage": {"scheme": "JAMKESDA", "class": "III", "valid_until": None},
    "errors": None,
    "policy_version": "kukar-2025.1",
    "population_snapshot_id": 5,
    "jamkesda_snapshot_id": 6,
    "jkn_snapshot_id": None,
    "latency_ms": 12.345,
    "batch_id": None,
}
EXAMPLE_LEAF = (
    b'{"birth_date_match":"NOT_PROVIDED","channel":"api","check_id":"K7QM-3XD9-2F4A",'
    b'"client_id":3,"coverage":{"class":"III","scheme":"JAMKESDA","valid_until":null},'
    b'"decided_at":"2026-11-28T01:14:03.000250Z","decision":"ELIGIBLE","errors":null,'
    b'"external_ref":null,"facility_code":"1040001","id":12,"jamkesda_snapshot_id":6,'
    b'"jkn_snapshot_id":null,"latency_us":12345,"name_match":"MATCH",'
    b'"nik_hash":"5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592",'
    b'"nik_masked":"6402**********01","operator_id":"Rina \\u00d1","policy_version":"kukar-2025.1",'
    b'"population_snapshot_id":5,"reasons":[],"service_date":"2026-11-28",'
    b'"service_type":"outpatient","v":1}'
)

# The same record made in a batch (leaf version 2).
EXAMPLE_LEAF_V2 = (
    b'{"batch_id":"B-K7QM-3XD9-2F4A","birth_date_match":"NOT_PROVIDED","channel":"api",'
    b'"check_id":"K7QM-3XD9-2F4A",'
    b'"client_id":3,"coverage":{"class":"III","scheme":"JAMKESDA","valid_until":null},'
    b'"decided_at":"2026-11-28T01:14:03.000250Z","decision":"ELIGIBLE","errors":null,'
    b'"external_ref":null,"facility_code":"1040001","id":12,"jamkesda_snapshot_id":6,'
    b'"jkn_snapshot_id":null,"latency_us":12345,"name_match":"MATCH",'
    b'"nik_hash":"5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592",'
    b'"nik_masked":"6402**********01","operator_id":"Rina \\u00d1","policy_version":"kukar-2025.1",'
    b'"population_snapshot_id":5,"reasons":[],"service_date":"2026-11-28",'
    b'"service_type":"outpatient","v":2}'
)


def test_example_record_encodes_to_the_pinned_bytes() -> None:
    """The documented encoding, byte for byte: a change here is a new leaf version."""
    assert encode_leaf(EXAMPLE) == EXAMPLE_LEAF


def test_leaf_has_exactly_the_documented_members() -> None:
    """Every record field the leaf reads, latency in microseconds, and the version."""
    members = json.loads(encode_leaf(EXAMPLE))
    expected = {field for field in FIELDS if field not in ("latency_ms", "batch_id")}
    assert set(members) == expected | {"latency_us", "v"}
    assert len(members) == 24
    assert members["v"] == 1
    assert "nik" not in members


def test_a_record_made_in_a_batch_is_a_version_2_leaf_with_its_batch() -> None:
    """Version 2 is version 1 with ``v`` 2 and the batch reference: pinned byte for byte."""
    leaf = encode_leaf({**EXAMPLE, "batch_id": "B-K7QM-3XD9-2F4A"})
    assert leaf == EXAMPLE_LEAF_V2
    assert set(json.loads(leaf)) == {*json.loads(EXAMPLE_LEAF), "batch_id"}


def test_a_batch_reference_that_is_not_text_is_refused() -> None:
    """A batch reference has one spelling: a string."""
    with pytest.raises(UnencodableRecord, match="batch_id"):
        encode_leaf({**EXAMPLE, "batch_id": 7})


def test_member_order_of_the_input_does_not_matter() -> None:
    """Mappings and nested objects in any order give the same bytes."""
    reordered = dict(reversed(list(EXAMPLE.items())))
    reordered["coverage"] = dict(reversed(list(EXAMPLE["coverage"].items())))
    assert encode_leaf(reordered) == EXAMPLE_LEAF


def test_the_same_instant_in_any_zone_or_naive_utc_encodes_the_same() -> None:
    """SQLite gives back naive UTC, PostgreSQL an aware value, the app WITA or UTC."""
    instant = EXAMPLE["decided_at"]
    for spelling in (instant.astimezone(UTC), instant.astimezone(UTC).replace(tzinfo=None)):
        assert encode_leaf({**EXAMPLE, "decided_at": spelling}) == EXAMPLE_LEAF


def test_latency_is_whole_microseconds() -> None:
    """Milliseconds kept to three places become an integer, never a float spelling."""
    for milliseconds, microseconds in [(0.001, 1), (0.1, 100), (1234.567, 1234567), (7, 7000)]:
        leaf = json.loads(encode_leaf({**EXAMPLE, "latency_ms": milliseconds}))
        assert leaf["latency_us"] == microseconds


def test_reasons_keep_their_order() -> None:
    """Reasons are in evaluation order, which the leaf keeps."""
    reasons = ["NOT_RESIDENT", "JAMKESDA_NOT_ENROLLED"]
    leaf = encode_leaf({**EXAMPLE, "decision": "NOT_ELIGIBLE", "reasons": reasons})
    assert b'"reasons":["NOT_RESIDENT","JAMKESDA_NOT_ENROLLED"]' in leaf


@given(st.text(max_size=64), st.text(max_size=64))
def test_any_text_is_escaped_to_ascii_and_read_back(operator_id: str, external_ref: str) -> None:
    """Whatever a clerk types, the leaf is printable ASCII on one line and keeps the text."""
    leaf = encode_leaf({**EXAMPLE, "operator_id": operator_id, "external_ref": external_ref})
    assert all(0x20 <= byte < 0x7F for byte in leaf)
    decoded = json.loads(leaf)
    assert (decoded["operator_id"], decoded["external_ref"]) == (operator_id, external_ref)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("coverage", {"class": "III", "rate": 0.5}),
        ("errors", {1: ["not a string key"]}),
        ("reasons", "NOT_RESIDENT"),
        ("coverage", ["not", "an", "object"]),
        ("id", True),
        ("id", None),
        ("client_id", "3"),
        ("decided_at", "2026-11-28T01:14:03Z"),
        ("service_date", datetime(2026, 11, 28, tzinfo=UTC)),
        ("latency_ms", float("nan")),
        ("latency_ms", None),
        ("check_id", None),
    ],
)
def test_values_without_one_spelling_are_refused(field: str, value: Any) -> None:
    """Floats in JSON, wrong kinds and missing required values make a record unencodable."""
    with pytest.raises(UnencodableRecord, match=field):
        encode_leaf({**EXAMPLE, field: value})


def test_a_missing_field_is_refused() -> None:
    """A mapping without every field cannot be a record."""
    partial = {key: value for key, value in EXAMPLE.items() if key != "channel"}
    with pytest.raises(UnencodableRecord, match="no field channel"):
        encode_leaf(partial)


@pytest.fixture
def written(session: Session, keys: dict[str, str]) -> list[CheckEntry]:
    """Records of each kind, written as the app writes them, still in memory as written."""
    client_id = session.scalars(select(Client.id).where(Client.facility_code == "1040001")).one()
    population = add_snapshot(session, "population").id
    jamkesda = add_snapshot(session, "jamkesda").id
    common: dict[str, Any] = {
        "facility_code": "1040001",
        "client_id": client_id,
        "channel": "api",
        "policy_version": "kukar-2025.1",
        "nik_hash": "ab" * 32,
        "nik_masked": "6402**********01",
    }
    records = [
        CheckEntry(
            **common,
            decided_at=clock.now(),
            operator_id="Rina Ñoño 😷",
            service_date=clock.today(WITA),
            service_type="outpatient",
            external_ref='REG "42" \\ x',
            name_match="MATCH",
            birth_date_match="MISMATCH",
            decision="ELIGIBLE",
            reasons=[],
            coverage={"scheme": "JAMKESDA", "class": "II", "valid_until": "2027-01-31"},
            errors=None,
            population_snapshot_id=population,
            jamkesda_snapshot_id=jamkesda,
            jkn_snapshot_id=None,
            latency_ms=12.345,
        ),
        CheckEntry(
            **common,
            decided_at=clock.now().replace(microsecond=0) - timedelta(days=400),
            operator_id=None,
            service_date=date(2024, 2, 29),
            service_type="emergency",
            external_ref=None,
            name_match="NOT_PROVIDED",
            birth_date_match="NOT_PROVIDED",
            decision="NOT_ELIGIBLE",
            reasons=["NOT_RESIDENT", "JAMKESDA_INACTIVE"],
            coverage=None,
            errors=None,
            population_snapshot_id=population,
            jamkesda_snapshot_id=jamkesda,
            jkn_snapshot_id=None,
            latency_ms=1234.567,
        ),
        CheckEntry(
            **{**common, "nik_hash": None, "nik_masked": None},
            decided_at=clock.now(),
            operator_id="desk-01",
            service_date=None,
            service_type=None,
            external_ref=None,
            name_match="NOT_PROVIDED",
            birth_date_match="NOT_CHECKED",
            decision="INVALID_REQUEST",
            reasons=[],
            coverage=None,
            errors={"nik": ["NIK harus 16 angka."], "service_date": ["Tanggal tidak sah."]},
            population_snapshot_id=None,
            jamkesda_snapshot_id=None,
            jkn_snapshot_id=None,
            latency_ms=0.001,
        ),
    ]
    appended = [append_record(session, record) for record in records]
    session.commit()
    return appended


def test_records_read_back_through_the_orm_encode_as_written(
    engine: Engine, written: list[CheckEntry]
) -> None:
    """On SQLite and PostgreSQL alike, a stored record gives the bytes it had in memory."""
    with Session(engine) as fresh:
        for record in written:
            stored = fresh.get(CheckRecord, record.id)
            assert stored is not None
            assert encode_leaf(stored) == encode_leaf(record)


def test_rows_read_back_as_mappings_encode_as_written(
    engine: Engine, written: list[CheckEntry]
) -> None:
    """A row mapping of just the leaf's fields, as ledger verify will read it, encodes the same."""
    table = CheckRecord.__table__
    expected = {record.id: encode_leaf(record) for record in written}
    with engine.connect() as connection:
        rows = connection.execute(select(*(table.c[field] for field in FIELDS))).mappings()
        assert {row["id"]: encode_leaf(row) for row in rows} == expected


def test_leaves_of_real_checks_hold_no_plain_nik(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    """A decided check and a refused one: the NIK is in neither leaf, in any spelling."""
    decided = http.post("/v1/checks", json={"nik": NIK}, headers=bearer(keys["desk"]))
    refused = http.post("/v1/checks", json={"nik": NIK[:15]}, headers=bearer(keys["desk"]))
    assert (decided.status_code, refused.status_code) == (201, 422)
    records = session.scalars(select(CheckRecord)).all()
    assert len(records) == 2
    for record in records:
        leaf = encode_leaf(record)
        assert NIK[:15].encode() not in leaf
        assert NIK[4:].encode() not in leaf
        assert json.loads(leaf)["nik_hash"] == record.nik_hash
