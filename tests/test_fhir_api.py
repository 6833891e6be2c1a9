"""The FHIR door as a hospital system (SIMRS) uses it: $submit, read, metadata, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.coverageeligibilityresponse import CoverageEligibilityResponse
from fhir.resources.R4B.operationoutcome import OperationOutcome
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import CheckRecord, RememberedAnswer
from service.fhir.codes import CHECK_ID_SYSTEM, CHECK_ID_URL, FHIR_JSON, NIK_SYSTEM
from tests.conftest import MOVED_IN_FROM_SAMARINDA, RESIDENT, bearer
from tests.test_fhir_request import contained, logical, service_type

SUBMIT = "/fhir/R4/CoverageEligibilityRequest/$submit"
DECEASED = "6402010101800002"


def submit(http: FlaskClient, key: str, body: Any, **headers: str) -> Any:
    """POST a CoverageEligibilityRequest as FHIR JSON."""
    return http.post(
        SUBMIT,
        data=json.dumps(body),
        headers={**bearer(key), "Content-Type": FHIR_JSON, **headers},
    )


def request_for(nik: str, **elements: Any) -> dict[str, Any]:
    """A request naming the patient by this NIK."""
    return logical(patient={"identifier": {"system": NIK_SYSTEM, "value": nik}}, **elements)


def answered(response: Any, model: Any) -> dict[str, Any]:
    """The FHIR resource of an answer, checked to be valid R4 of its type."""
    assert response.mimetype == FHIR_JSON
    resource = response.get_json()
    model.model_validate(resource)
    return resource  # type: ignore[no-any-return]


def records(session: Session) -> list[CheckRecord]:
    """Every check record, oldest first."""
    session.expire_all()
    return list(session.scalars(select(CheckRecord).order_by(CheckRecord.id)))


def test_submit_decides_records_and_answers_an_r4_response(
    http: FlaskClient, keys: dict[str, str], registry: Any, session: Session
) -> None:
    body = request_for(
        RESIDENT,
        identifier=[{"system": "https://rsud.example/visit", "value": "RJ-2026-0042"}],
        enterer={"identifier": {"value": "rina"}},
        extension=[service_type("inpatient")],
    )
    response = submit(http, keys["integration"], body)
    assert response.status_code == 200, response.get_json()
    resource = answered(response, CoverageEligibilityResponse)
    [record] = records(session)
    assert resource["id"] == record.check_id
    assert resource["identifier"] == [{"system": CHECK_ID_SYSTEM, "value": record.check_id}]
    assert resource["request"] == {
        "identifier": {"system": CHECK_ID_SYSTEM, "value": record.check_id}
    }
    assert resource["patient"] == {"identifier": {"system": NIK_SYSTEM, "value": RESIDENT}}
    assert resource["outcome"] == "complete"
    assert resource["insurance"][0]["inforce"] is True
    assert response.headers["Location"] == f"/fhir/R4/CoverageEligibilityResponse/{record.check_id}"
    assert (record.channel, record.decision, record.facility_code) == (
        "fhir",
        "ELIGIBLE",
        "1040002",
    )
    assert (record.external_ref, record.operator_id, record.service_type) == (
        "RJ-2026-0042",
        "rina",
        "inpatient",
    )


def test_the_answer_is_the_same_check_as_v1_reads_it(
    http: FlaskClient, keys: dict[str, str], registry: Any
) -> None:
    resource = submit(http, keys["integration"], request_for(DECEASED)).get_json()
    check = http.get(f"/v1/checks/{resource['id']}", headers=bearer(keys["integration"])).get_json()
    assert check["decision"] == "NOT_ELIGIBLE"
    assert resource["created"] == check["decided_at"]
    assert resource["insurance"][0]["inforce"] is False
    reasons = [
        extension["valueCoding"]["code"]
        for extension in resource["extension"]
        if extension["url"].endswith("/decision-reason")
    ]
    assert reasons == [reason["code"] for reason in check["reasons"]]


def test_a_contained_patient_feeds_the_identity_match(
    http: FlaskClient, keys: dict[str, str], registry: Any, session: Session
) -> None:
    body = contained(name=[{"text": "SITI  aminah"}], birthDate="1990-01-02")
    response = submit(http, keys["integration"], body)
    assert response.status_code == 200
    [record] = records(session)
    assert (record.name_match, record.birth_date_match) == ("MATCH", "MISMATCH")
    # The answer names the patient by the NIK identifier, never echoing the contained data.
    assert response.get_json()["patient"] == {
        "identifier": {"system": NIK_SYSTEM, "value": RESIDENT}
    }


def test_nothing_determinable_is_outcome_error_without_insurance(
    http: FlaskClient, keys: dict[str, str]
) -> None:
    resource = answered(
        submit(http, keys["integration"], request_for(RESIDENT)), CoverageEligibilityResponse
    )
    assert resource["outcome"] == "error"
    assert "insurance" not in resource
    assert resource["error"][0]["code"]["coding"][0]["code"] == "DATA_UNAVAILABLE"


def test_plain_application_json_is_accepted_too(
    http: FlaskClient, keys: dict[str, str], registry: Any
) -> None:
    response = http.post(SUBMIT, json=request_for(RESIDENT), headers=bearer(keys["integration"]))
    assert response.status_code == 200
    assert response.mimetype == FHIR_JSON


@pytest.mark.parametrize(
    ("body", "expression"),
    [
        ({**request_for(RESIDENT), "resourceType": "Patient"}, "CoverageEligibilityRequest"),
        (
            {k: v for k, v in request_for(RESIDENT).items() if k != "patient"},
            "CoverageEligibilityRequest.patient",
        ),
        (request_for(RESIDENT, purpose=["benefits"]), "CoverageEligibilityRequest.purpose"),
        (request_for(RESIDENT, priorityCode="urgent"), "CoverageEligibilityRequest.priorityCode"),
        (
            logical(patient={"identifier": {"system": "https://example.org/mrn", "value": "12"}}),
            "CoverageEligibilityRequest.patient.identifier.system",
        ),
        (contained(identifier=[]), "CoverageEligibilityRequest.contained[0].identifier"),
    ],
    ids=[
        "another-resource",
        "no-patient",
        "purpose-without-validation",
        "unknown-element",
        "another-identifier-system",
        "contained-patient-without-nik",
    ],
)
def test_a_body_that_is_not_an_acceptable_request_is_400_with_its_element(
    http: FlaskClient, keys: dict[str, str], session: Session, body: Any, expression: str
) -> None:
    response = submit(http, keys["integration"], body)
    assert response.status_code == 400
    outcome = answered(response, OperationOutcome)
    expressions = [e for issue in outcome["issue"] for e in issue.get("expression", [])]
    assert any(e.startswith(expression) for e in expressions), outcome
    assert all(issue["severity"] == "error" for issue in outcome["issue"])
    assert records(session) == []


def test_a_body_that_is_not_json_is_400_as_an_operation_outcome(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    response = http.post(
        SUBMIT, data="{not json", headers={**bearer(keys["integration"]), "Content-Type": FHIR_JSON}
    )
    assert response.status_code == 400
    outcome = answered(response, OperationOutcome)
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "MALFORMED_JSON"
    assert records(session) == []


def test_another_media_type_is_415_as_an_operation_outcome(
    http: FlaskClient, keys: dict[str, str]
) -> None:
    response = http.post(
        SUBMIT,
        data="<xml/>",
        headers={**bearer(keys["integration"]), "Content-Type": "application/fhir+xml"},
    )
    assert response.status_code == 415
    assert answered(response, OperationOutcome)["issue"][0]["code"] == "not-supported"


@pytest.mark.parametrize(
    ("body", "field", "expression"),
    [
        (request_for("6402"), "nik", "CoverageEligibilityRequest.patient.identifier.value"),
        (
            request_for(RESIDENT, servicedDate="2026-02-30"),
            "service_date",
            "CoverageEligibilityRequest.servicedDate",
        ),
    ],
    ids=["bad-nik", "bad-date"],
)
def test_a_bad_nik_or_date_is_recorded_and_answers_422_with_its_reference(
    http: FlaskClient,
    keys: dict[str, str],
    session: Session,
    body: Any,
    field: str,
    expression: str,
) -> None:
    response = submit(http, keys["integration"], body)
    assert response.status_code == 422
    outcome = answered(response, OperationOutcome)
    [record] = records(session)
    assert (record.decision, record.channel) == ("INVALID_REQUEST", "fhir")
    assert set(record.errors or {}) == {field}
    assert outcome["extension"] == [{"url": CHECK_ID_URL, "valueString": record.check_id}]
    assert [issue["expression"] for issue in outcome["issue"]] == [[expression]]


def test_a_wrong_key_is_401_with_a_bearer_challenge(http: FlaskClient, session: Session) -> None:
    response = submit(http, "jk_not-a-key", request_for(RESIDENT))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    outcome = answered(response, OperationOutcome)
    assert outcome["issue"][0]["code"] == "login"
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "UNAUTHENTICATED"
    assert records(session) == []


@pytest.mark.parametrize("role", ["auditor", "desk", "admin"])
def test_keys_of_other_roles_are_403(
    http: FlaskClient, keys: dict[str, str], session: Session, role: str
) -> None:
    response = submit(http, keys[role], request_for(RESIDENT))
    assert response.status_code == 403
    assert answered(response, OperationOutcome)["issue"][0]["code"] == "forbidden"
    assert records(session) == []


def test_a_check_of_the_facility_reads_back_with_the_masked_nik(
    http: FlaskClient, keys: dict[str, str], registry: Any
) -> None:
    made = http.post(
        "/v1/checks", json={"nik": MOVED_IN_FROM_SAMARINDA}, headers=bearer(keys["integration"])
    ).get_json()
    response = http.get(
        f"/fhir/R4/CoverageEligibilityResponse/{made['check_id'].lower()}",
        headers=bearer(keys["integration"]),
    )
    assert response.status_code == 200
    resource = answered(response, CoverageEligibilityResponse)
    assert resource["id"] == made["check_id"]
    assert resource["patient"] == {"display": "6472**********03"}
    assert RESIDENT not in response.get_data(as_text=True)


def test_reading_a_check_of_another_facility_or_a_typo_is_an_operation_outcome(
    http: FlaskClient, keys: dict[str, str], registry: Any
) -> None:
    theirs = http.post("/v1/checks", json={"nik": RESIDENT}, headers=bearer(keys["desk"]))
    other = http.get(
        f"/fhir/R4/CoverageEligibilityResponse/{theirs.get_json()['check_id']}",
        headers=bearer(keys["integration"]),
    )
    assert other.status_code == 404
    assert answered(other, OperationOutcome)["issue"][0]["code"] == "not-found"
    typo = http.get(
        "/fhir/R4/CoverageEligibilityResponse/K7QM-3XD9-2F4B", headers=bearer(keys["integration"])
    )
    assert typo.status_code == 422
    assert (
        answered(typo, OperationOutcome)["issue"][0]["details"]["coding"][0]["code"]
        == "INVALID_CHECK_ID"
    )


def test_metadata_needs_no_key_and_names_the_operation_and_the_read(http: FlaskClient) -> None:
    response = http.get("/fhir/R4/metadata")
    assert response.status_code == 200
    statement = answered(response, CapabilityStatement)
    resources = {resource["type"]: resource for resource in statement["rest"][0]["resource"]}
    assert resources["CoverageEligibilityRequest"]["operation"][0]["name"] == "submit"
    assert resources["CoverageEligibilityResponse"]["interaction"] == [{"code": "read"}]
    assert statement["rest"][0]["security"]["description"]


def test_an_unknown_fhir_path_is_a_404_operation_outcome(http: FlaskClient) -> None:
    response = http.get("/fhir/R4/Patient/1")
    assert response.status_code == 404
    assert answered(response, OperationOutcome)["issue"][0]["code"] == "not-found"


def test_a_retried_submit_gets_the_same_answer_and_no_plain_nik_is_kept(
    http: FlaskClient, keys: dict[str, str], registry: Any, session: Session
) -> None:
    body = request_for(RESIDENT)
    first = submit(http, keys["integration"], body, **{"Idempotency-Key": "simrs-77"})
    again = submit(http, keys["integration"], body, **{"Idempotency-Key": "simrs-77"})
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()
    assert again.get_json()["patient"]["identifier"]["value"] == RESIDENT
    assert len(records(session)) == 1
    kept = session.scalars(select(RememberedAnswer.body)).one()
    assert RESIDENT not in kept
    assert session.scalar(select(func.count()).select_from(RememberedAnswer)) == 1
