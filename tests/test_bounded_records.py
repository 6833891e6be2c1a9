"""SPEC §13 "Bounded records": a refused request cannot make a record bigger than 4 KiB.

Issue 14, finding 3: unknown JSON members were copied into a refused record's ``errors``,
so a desk key could store 64 KiB of arbitrary text per permanent, sequenced record (1,000
requests added 73 MB). These tests send the largest requests each door accepts and
measure what the records and their ledger leaves keep.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from models import CheckRecord
from service.api.checks import BATCH_MAX_BODY_BYTES
from service.cli import main
from service.errors import MAX_BODY_BYTES
from service.fhir.codes import FHIR_JSON
from service.ledger.leaf import encode_leaf
from service.refusals import (
    MAX_ERROR_FIELDS,
    MAX_ERRORS_BYTES,
    MAX_FIELD_NAME_BYTES,
    MORE_FIELDS,
    UNKNOWN_FIELD,
    bounded_errors,
    leaf_bytes,
)
from tests.audit_records import client_of
from tests.conftest import RESIDENT, bearer
from tests.ledger_records import record_values, sequence_all
from tests.test_fhir_api import SUBMIT, request_for
from tests.test_fhir_request import service_type

MAX_LEAF_BYTES = 4096
# The character whose leaf spelling is the longest per character: a character beyond
# U+FFFF is written as a surrogate pair of \\u escapes (12 bytes for 4 bytes of UTF-8).
WIDE = "\U0001f600"
# A NUL, which a PostgreSQL text column cannot hold, and a formula start for good measure.
AWKWARD = "=\x00" + WIDE


def known_fields_at_their_worst() -> dict[str, Any]:
    """Every field the service knows, each wrong and as long as the record could keep."""
    return {
        "nik": WIDE * 40,
        "service_date": WIDE * 40,
        "service_type": WIDE * 40,
        "operator_id": AWKWARD + WIDE * 100,
        "patient_name": WIDE * 300,
        "birth_date": WIDE * 40,
        "external_ref": AWKWARD + WIDE * 100,
    }


def encoded(body: Any) -> bytes:
    """A body as compact UTF-8 JSON, characters unescaped: the most a byte limit lets in."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def encoded_size(body: Any) -> int:
    """The bytes of ``encoded(body)``."""
    return len(encoded(body))


def post(http: FlaskClient, path: str, key: str, body: Any, media: str = "application/json") -> Any:
    """POST a body as compact UTF-8 JSON."""
    return http.post(path, data=encoded(body), headers={**bearer(key), "Content-Type": media})


def filled(body: dict[str, Any], limit: int, name_chars: int, value_chars: int) -> dict[str, Any]:
    """``body`` with unknown members added while it stays within ``limit`` bytes.

    Each unknown name is ``name_chars`` wide characters and a counter; each value is
    ``value_chars`` wide characters: many short members, or a few very long ones.
    """
    body = dict(body)
    size = encoded_size(body)
    counter = 0
    while True:
        name = f"{WIDE * name_chars}{counter}"
        value = WIDE * value_chars
        member_size = encoded_size({name: value}) - 2 + 1  # without braces, with a comma
        if size + member_size > limit:
            break
        body[name] = value
        size += member_size
        counter += 1
    # The last bytes: one more member whose name takes up what is left.
    rest = limit - size - encoded_size({"": ""}) - 1
    if rest > 0:
        body["x" * rest] = ""
    assert encoded_size(body) <= limit
    return body


# (name characters, value characters): as many members as fit, or as long names, or as
# long values as fit in the body.
SHAPES = {
    "many-short-members": (0, 0),
    "long-names": (2000, 0),
    "long-values": (1, 2000),
}


def largest_invalid_body(shape: str, limit: int = MAX_BODY_BYTES - 256) -> dict[str, Any]:
    """The largest refused check request of this shape the door accepts."""
    name_chars, value_chars = SHAPES[shape]
    return filled(known_fields_at_their_worst(), limit, name_chars, value_chars)


def stored_records(session: Session) -> list[CheckRecord]:
    """Every check record, oldest first."""
    session.expire_all()
    return list(session.scalars(select(CheckRecord).order_by(CheckRecord.id)))


def leaf_size(record: CheckRecord) -> int:
    """The bytes of a record's ledger leaf, as the sequencer encodes it."""
    return len(encode_leaf(record))


# The sizes of the text columns a refusal writes; SQLite does not enforce them.
COLUMN_SIZES = {"operator_id": 64, "external_ref": 64, "service_type": 16, "nik_masked": 32}


def test_the_column_sizes_are_the_models() -> None:
    for column, size in COLUMN_SIZES.items():
        assert getattr(CheckRecord.__table__.c[column].type, "length", None) == size


def assert_bounded(record: CheckRecord) -> None:
    """The record is a refusal whose every stored text and leaf are bounded."""
    assert record.decision == "INVALID_REQUEST"
    assert leaf_size(record) < MAX_LEAF_BYTES
    for column in COLUMN_SIZES:
        value = getattr(record, column)
        limit = COLUMN_SIZES[column]
        assert value is None or len(value) <= limit, column
        assert value is None or "\x00" not in value, column
    errors = record.errors or {}
    assert len(errors) <= MAX_ERROR_FIELDS + 1
    for name in errors:
        assert len(json.dumps(name)) - 2 <= MAX_FIELD_NAME_BYTES


@pytest.mark.parametrize("shape", SHAPES)
def test_the_largest_invalid_check_makes_a_record_under_4_kib(
    http: FlaskClient, keys: dict[str, str], session: Session, shape: str
) -> None:
    body = largest_invalid_body(shape)
    assert encoded_size(body) > MAX_BODY_BYTES - 512
    response = post(http, "/v1/checks", keys["desk"], body)
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    [record] = stored_records(session)
    assert record.check_id == response.get_json()["check_id"]
    assert_bounded(record)
    # The answer is the record's ``errors``: the caller learns what the auditor reads.
    assert response.get_json()["errors"] == record.errors


@pytest.mark.parametrize("shape", SHAPES)
def test_the_largest_invalid_batch_item_makes_a_record_under_4_kib(
    http: FlaskClient, keys: dict[str, str], session: Session, shape: str
) -> None:
    # One item takes up the whole 1 MiB body, far more than a single check's 64 KiB.
    item = largest_invalid_body(shape, limit=BATCH_MAX_BODY_BYTES - 1024)
    response = post(http, "/v1/checks/batch", keys["integration"], {"checks": [item]})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    [result] = response.get_json()["results"]
    assert result["status"] == 422
    [record] = stored_records(session)
    assert record.batch_id is not None
    assert_bounded(record)
    assert result["problem"]["errors"] == record.errors


def test_the_largest_invalid_fhir_request_makes_a_record_under_4_kib(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    # The FHIR door refuses unknown elements with a 400 and records nothing; what it
    # records is every /v1 field it reads, each wrong and as long as a body can make it.
    worst = known_fields_at_their_worst()
    body = request_for(
        worst["nik"],
        servicedDate=worst["service_date"],
        identifier=[{"value": worst["external_ref"] + WIDE * 6000}],
        enterer={"identifier": {"value": worst["operator_id"] + WIDE * 6000}},
        extension=[service_type(worst["service_type"] + WIDE * 3000)],
    )
    assert MAX_BODY_BYTES - 4096 < encoded_size(body) <= MAX_BODY_BYTES
    response = post(http, SUBMIT, keys["integration"], body, FHIR_JSON)
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    [record] = stored_records(session)
    assert record.channel == "fhir"
    assert_bounded(record)


def test_many_requests_with_60_kib_of_unknown_members_store_little(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    # The finding reproduced: 50 refused requests, each with 60 KiB of unknown members.
    requests = 50
    for number in range(requests):
        body = filled({"nik": RESIDENT, "tag": str(number)}, 60 * 1024, 8, 40)
        response = post(http, "/v1/checks", keys["desk"], body)
        assert response.status_code == 422
    records = stored_records(session)
    assert len(records) == requests
    stored = sum(stored_size(record) for record in records)
    assert stored < requests * MAX_LEAF_BYTES, stored


def stored_size(record: CheckRecord) -> int:
    """What one record keeps: its row's texts and JSON, plus its encoded ledger leaf."""
    row = sum(
        len(json.dumps(getattr(record, column.key), default=str))
        for column in CheckRecord.__table__.columns
    )
    return row + leaf_size(record)


def test_bounded_errors_keeps_names_and_fixed_messages_only() -> None:
    errors = {
        "nik": ["NIK harus terdiri dari 16 angka."],
        **{f"{number}{WIDE * 500}": ["Kolom ini tidak dikenal."] for number in range(1000)},
    }
    bounded = bounded_errors(errors)
    assert next(iter(bounded)) == "nik"
    assert bounded["nik"] == ["NIK harus terdiri dari 16 angka."]
    kept = [name for name in bounded if name not in {"nik", MORE_FIELDS}]
    # As many as the bounds let in: here the bytes of the names, before the count.
    assert 10 <= len(kept) <= MAX_ERROR_FIELDS - 1
    assert leaf_bytes(bounded) <= MAX_ERRORS_BYTES
    assert all(bounded[name] == [UNKNOWN_FIELD] for name in kept)
    assert all(name.endswith("…") for name in kept)
    assert all(len(json.dumps(name)) - 2 <= MAX_FIELD_NAME_BYTES for name in kept)
    left_out = 1000 - len(kept)
    assert bounded[MORE_FIELDS] == [f"{left_out} kolom lain juga salah (tidak ditampilkan)."]
    # Bounding what is already bounded changes nothing: records and answers agree.
    assert bounded_errors(bounded) == bounded


def test_bounded_errors_keeps_the_first_twenty_short_names_and_counts_the_rest() -> None:
    errors = {f"extra{number}": [UNKNOWN_FIELD] for number in range(100)}
    bounded = bounded_errors(errors)
    assert list(bounded) == [f"extra{number}" for number in range(MAX_ERROR_FIELDS)] + [MORE_FIELDS]
    assert bounded[MORE_FIELDS] == ["80 kolom lain juga salah (tidak ditampilkan)."]


def test_names_cut_to_one_are_shown_once_and_counted() -> None:
    errors = {f"{'a' * 100}{number}": [UNKNOWN_FIELD] for number in range(3)}
    bounded = bounded_errors(errors)
    assert bounded == {
        "a" * (MAX_FIELD_NAME_BYTES - 6) + "…": [UNKNOWN_FIELD],
        MORE_FIELDS: ["2 kolom lain juga salah (tidak ditampilkan)."],
    }


def test_bounded_errors_leaves_a_few_short_names_as_they_are() -> None:
    errors = {"nik": ["NIK harus terdiri dari 16 angka."], "nama": [UNKNOWN_FIELD]}
    assert bounded_errors(errors) == errors


def test_bounded_errors_puts_the_known_fields_first() -> None:
    errors = {f"extra{number}": [UNKNOWN_FIELD] for number in range(30)}
    errors["service_date"] = ["Tanggal tidak valid."]
    bounded = bounded_errors(errors, known=("nik", "service_date"))
    assert next(iter(bounded)) == "service_date"
    assert MORE_FIELDS in bounded


def test_a_name_with_a_nul_is_kept_storable() -> None:
    bounded = bounded_errors({"a\x00b": [UNKNOWN_FIELD]})
    assert bounded == {"a\ufffdb": [UNKNOWN_FIELD]}


def test_a_record_of_every_refusal_shape_encodes_under_4_kib() -> None:
    # The leaf encoder's input bound, without a database: the worst ``errors`` the
    # bounding lets through, at the widest characters, in a version-2 (batch) leaf.
    errors = bounded_errors(
        {
            **{name: ["x" * 500, WIDE * 200, "y", "z"] for name in known_fields_at_their_worst()},
            **{f"{WIDE * 100}{number}": [UNKNOWN_FIELD] for number in range(500)},
        }
    )
    record = {
        "id": 2**63 - 1,
        "check_id": "K7QM-3XD9-2F4E",
        "decided_at": __import__("datetime").datetime(2026, 11, 28, 9, 14, 3, 123456),
        "nik_hash": "f" * 64,
        "nik_masked": WIDE * 32,
        "facility_code": WIDE * 32,
        "client_id": 2**31 - 1,
        "operator_id": WIDE * 64,
        "channel": "batch",
        "service_date": None,
        "service_type": WIDE * 16,
        "external_ref": WIDE * 64,
        "name_match": "NOT_PROVIDED",
        "birth_date_match": "NOT_PROVIDED",
        "decision": "INVALID_REQUEST",
        "reasons": [],
        "coverage": None,
        "errors": errors,
        "policy_version": "kukar-2025.1",
        "population_snapshot_id": None,
        "jamkesda_snapshot_id": None,
        "jkn_snapshot_id": None,
        "latency_ms": 123456.789,
        "batch_id": "B-K7QM-3XD9-2F4E",
    }
    assert len(encode_leaf(record)) < MAX_LEAF_BYTES


def test_a_refusal_records_unknown_names_never_their_values(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    body = {"nik": "12345", "nama_pasien": "SECRET-VALUE", "catatan": {"x": "SECRET-VALUE"}}
    response = post(http, "/v1/checks", keys["desk"], body)
    assert response.status_code == 422
    [record] = stored_records(session)
    assert record.errors == {
        "nik": ["NIK harus terdiri dari 16 angka."],
        "nama_pasien": [UNKNOWN_FIELD],
        "catatan": [UNKNOWN_FIELD],
    }
    assert b"SECRET-VALUE" not in encode_leaf(record)
    assert response.get_json()["errors"] == record.errors


def test_text_that_no_database_can_store_is_refused_or_replaced(
    http: FlaskClient, keys: dict[str, str], session: Session, registry: Any
) -> None:
    # A lone surrogate is valid JSON (an escape) but not Unicode: no driver encodes it.
    lone = b'{"nik": "6402014101900001", "operator_id": "\\ud800", "\\udc00x": 1}'
    response = http.post(
        "/v1/checks",
        data=lone,
        headers={**bearer(keys["desk"]), "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert set(response.get_json()["errors"]) == {"operator_id", "\ufffdx"}
    [record] = stored_records(session)
    assert record.operator_id == "\ufffd"
    assert_bounded(record)


def test_a_record_stored_unbounded_before_the_fix_still_verifies(
    env: dict[str, str], engine: Engine, session: Session, keys: dict[str, str]
) -> None:
    # The bounds apply when a record is written; the leaf encoding is unchanged, so a
    # record logged with 60 KiB of names in its ``errors`` keeps its leaf and verifies.
    desk = client_of(session, keys["desk"])
    errors = {f"{number}{'n' * 60}": [UNKNOWN_FIELD] for number in range(1000)}
    old = record_values(desk, 1, decision="INVALID_REQUEST", coverage=None, errors=errors)
    session.execute(insert(CheckRecord), [old])
    session.commit()
    sequence_all(engine)
    [record] = stored_records(session)
    assert leaf_size(record) > 60 * 1024
    result = CliRunner().invoke(main, ["ledger", "verify"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "1 leaves" in result.stdout
