"""What the contract run (tests/test_api_contract.py) found, pinned by fast tests of their own.

Each answer here once broke SPEC §11's contract: a 5xx for a request the service should
refuse or decide, or a body the document did not describe. NUL characters and integers
beyond a 32-bit column are values PostgreSQL refuses where SQLite takes them, so these
tests matter most in the suite's PostgreSQL half; they hold on both.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AccessRecord, CheckRecord
from service.api.audit_schemas import MAX_CLIENT_ID
from service.fhir.codes import FHIR_JSON, NIK_SYSTEM
from service.fhir.issues import InvalidFhirRequest
from service.fhir.request import read_eligibility_request
from tests.audit_records import client_of
from tests.conftest import RESIDENT, bearer
from tests.ledger_records import add_records, check_id_of
from tests.openapi_conformance import DOCUMENT, assert_documented
from tests.test_fhir_request import NIK, ROOT, logical

SUBMIT = "/fhir/R4/CoverageEligibilityRequest/$submit"
CHECK_FILTER_PATHS = ["/v1/audit/checks", "/v1/audit/checks.csv", "/v1/audit/stats"]


def audit_get(http: FlaskClient, keys: dict[str, str], path: str, **query: Any) -> Any:
    """GET an audit or ledger path as the auditor; ``/v1/audit/stats`` gets a ``group_by``."""
    if path == "/v1/audit/stats":
        query.setdefault("group_by", "decision")
    return http.get(path, headers=bearer(keys["auditor"]), query_string=query)


def last_access(session: Session) -> AccessRecord:
    """The newest entry of the access log."""
    session.expire_all()
    return session.scalars(select(AccessRecord).order_by(AccessRecord.id.desc()).limit(1)).one()


def records(session: Session) -> list[CheckRecord]:
    """Every check record, oldest first."""
    session.expire_all()
    return list(session.scalars(select(CheckRecord).order_by(CheckRecord.id)))


# A client id beyond PostgreSQL's INTEGER made the query fail: the listing and the stats
# answered 503 DATABASE_UNAVAILABLE, and the CSV export broke off after its header.


@pytest.mark.parametrize("path", CHECK_FILTER_PATHS)
def test_a_client_id_beyond_the_column_is_an_invalid_filter(
    http: FlaskClient, keys: dict[str, str], path: str
) -> None:
    response = audit_get(http, keys, path, client=MAX_CLIENT_ID + 1)
    assert response.status_code == 422, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["code"], list(body["errors"])) == ("INVALID_FILTER", ["client"])
    assert_documented("GET", path, response)


@pytest.mark.parametrize("path", CHECK_FILTER_PATHS)
def test_the_largest_client_id_is_a_filter_that_finds_nothing(
    http: FlaskClient, keys: dict[str, str], path: str
) -> None:
    response = audit_get(http, keys, path, client=MAX_CLIENT_ID)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert_documented("GET", path, response)


def test_the_document_states_the_client_ids_range() -> None:
    for path in CHECK_FILTER_PATHS:
        parameters = DOCUMENT.raw_schema["paths"][path]["get"]["parameters"]
        [client] = [parameter for parameter in parameters if parameter["name"] == "client"]
        assert (client["schema"]["minimum"], client["schema"]["maximum"]) == (1, MAX_CLIENT_ID)


# A NUL in a query parameter reached PostgreSQL, which refuses it in text: 503.


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/v1/audit/checks", {"operator": "rina\x00"}),
        ("/v1/audit/checks", {"facility": "\x00"}),
        ("/v1/audit/checks.csv", {"operator": "a\x00b"}),
        ("/v1/audit/stats", {"facility": "1040001\x00"}),
        ("/v1/audit/access", {"cursor": "\x00"}),
        ("/v1/ledger/proof/consistency", {"first": "1", "second": "\x00"}),
        ("/v1/audit/snapshots", {"a\x00b": "1"}),
    ],
)
def test_a_query_parameter_holding_nul_is_an_invalid_filter_and_is_recorded(
    http: FlaskClient, keys: dict[str, str], session: Session, path: str, query: dict[str, str]
) -> None:
    response = audit_get(http, keys, path, **query)
    assert response.status_code == 422, response.get_data(as_text=True)
    body = response.get_json()
    assert body["code"] == "INVALID_FILTER"
    assert set(body["errors"]) & set(query)
    assert_documented("GET", path, response)
    entry = last_access(session)
    assert (entry.path, entry.status) == (path, 422)
    assert "\x00" not in entry.query
    assert "\ufffd" in entry.query


# The access-log entry of a path holding NUL could not be written: its answer became 503.


def test_a_path_holding_nul_is_answered_and_recorded_with_a_replacement_character(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    response = http.get("/v1/audit/checks/K7QM%00", headers=bearer(keys["auditor"]))
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["code"] == "INVALID_CHECK_ID"
    assert_documented("GET", "/v1/audit/checks/{check_id}", response)
    entry = last_access(session)
    assert (entry.path, entry.status) == ("/v1/audit/checks/K7QM\ufffd", 422)


# A NUL in operator_id or external_ref, valid as the document stood, made the check
# record unwritable on PostgreSQL: a false 503 for a request that was never decided.


@pytest.mark.parametrize("field", ["operator_id", "external_ref"])
def test_a_stored_text_holding_nul_is_refused_and_the_refusal_recorded(
    http: FlaskClient, keys: dict[str, str], registry: Any, session: Session, field: str
) -> None:
    body = {"nik": RESIDENT, field: "REG\x000042", "service_type": "in\x00patient"}
    response = http.post(
        "/v1/checks",
        data=json.dumps(body),
        content_type="application/json",
        headers=bearer(keys["desk"]),
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    problem = response.get_json()
    assert problem["code"] == "INVALID_REQUEST"
    assert set(problem["errors"]) == {field, "service_type"}
    assert_documented("POST", "/v1/checks", response)
    [record] = records(session)
    assert (record.check_id, record.decision) == (problem["check_id"], "INVALID_REQUEST")
    assert getattr(record, field) == "REG\ufffd0042"
    assert record.service_type == "in\ufffdpatient"


def test_a_refused_nik_holding_nul_is_recorded_masked_without_it(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    response = http.post(
        "/v1/checks",
        data=json.dumps({"nik": "\x00402014101900001"}),
        content_type="application/json",
        headers=bearer(keys["desk"]),
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["code"] == "INVALID_NIK"
    [record] = records(session)
    assert record.nik_masked is not None
    assert "\x00" not in record.nik_masked


def test_a_batch_item_holding_nul_is_refused_alone(
    http: FlaskClient, keys: dict[str, str], registry: Any, session: Session
) -> None:
    batch = {"checks": [{"nik": RESIDENT}, {"nik": RESIDENT, "operator_id": "\x00"}]}
    response = http.post(
        "/v1/checks/batch",
        data=json.dumps(batch),
        content_type="application/json",
        headers=bearer(keys["integration"]),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [item["status"] for item in response.get_json()["results"]] == [201, 422]
    assert_documented("POST", "/v1/checks/batch", response)
    assert [record.operator_id for record in records(session)] == [None, "\ufffd"]


def test_a_fhir_enterer_holding_nul_is_a_recorded_422(
    http: FlaskClient, keys: dict[str, str], registry: Any, session: Session
) -> None:
    body = logical(
        patient={"identifier": {"system": NIK_SYSTEM, "value": RESIDENT}},
        enterer={"identifier": {"value": "rina\x00"}},
    )
    response = http.post(
        SUBMIT,
        data=json.dumps(body),
        headers={**bearer(keys["integration"]), "Content-Type": FHIR_JSON},
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert_documented("POST", SUBMIT, response)
    [record] = records(session)
    assert (record.decision, record.operator_id) == ("INVALID_REQUEST", "rina\ufffd")


# FHIR JSON never holds null; fhir.resources read it as absent, so "patient": null
# passed the R4 validation and then failed reading the patient with a 500.


@pytest.mark.parametrize(
    ("elements", "expression"),
    [
        ({"patient": None}, f"{ROOT}.patient"),
        ({"insurer": None}, f"{ROOT}.insurer"),
        ({"identifier": [{"value": None}]}, f"{ROOT}.identifier[0].value"),
    ],
)
def test_a_null_member_is_a_400_naming_it(elements: dict[str, Any], expression: str) -> None:
    with pytest.raises(InvalidFhirRequest) as raised:
        read_eligibility_request(logical(**elements))
    assert ("structure", expression) in [(i.code, i.expression) for i in raised.value.issues]


def test_a_null_patient_is_answered_400_as_documented(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    response = http.post(
        SUBMIT,
        data=json.dumps(logical(patient=None)),
        headers={**bearer(keys["integration"]), "Content-Type": FHIR_JSON},
    )
    assert response.status_code == 400, response.get_data(as_text=True)
    assert_documented("POST", SUBMIT, response)
    assert records(session) == []


def test_null_inside_an_array_is_still_fhir_json() -> None:
    """FHIR keeps null in a primitive array whose other items carry an extension or id."""
    body = logical(purpose=["validation", None], _purpose=[None, {"id": "second"}])
    assert read_eligibility_request(body).fields == {"nik": NIK}


# Problems carrying extension members broke the document's closed Problem schema.


def test_outside_checkpoint_with_its_size_keeps_to_the_document(
    http: FlaskClient, keys: dict[str, str]
) -> None:
    response = audit_get(http, keys, "/v1/ledger/entries", start=0, end=1)
    assert response.get_json()["checkpoint_size"] == 0
    assert_documented("GET", "/v1/ledger/entries", response)


def test_not_in_tree_with_a_null_leaf_index_keeps_to_the_document(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    [waiting] = add_records(session, client_of(session, keys["desk"]), 1)
    query = {"check_id": check_id_of(session, waiting), "tree_size": 0}
    response = audit_get(http, keys, "/v1/ledger/proof/inclusion", **query)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert_documented("GET", "/v1/ledger/proof/inclusion", response)
