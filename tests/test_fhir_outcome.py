"""Error answers as OperationOutcome, and the CapabilityStatement of the FHIR door (SPEC §9.3)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome

from service.api.schemas import InvalidCheckRequest, parse_check_request
from service.fhir.capability import capability_statement
from service.fhir.codes import CHECK_ID_URL, NIK_SYSTEM, PROBLEM_SYSTEM, SUBMIT_OPERATION
from service.fhir.outcome import operation_outcome
from service.fhir.request import read_eligibility_request

CHECK_ID = "Z539-33N3-HQFY"


def valid_outcome(resource: dict[str, Any]) -> None:
    """The resource is a valid R4 OperationOutcome, read back exactly as written."""
    model = OperationOutcome.model_validate(resource)
    assert model.model_dump(mode="json", exclude_none=True) == resource


@pytest.mark.parametrize(
    ("status", "code", "issue_type"),
    [
        (400, "MALFORMED_JSON", "invalid"),
        (400, "INVALID_IDEMPOTENCY_KEY", "invalid"),
        (401, "UNAUTHENTICATED", "login"),
        (403, "FORBIDDEN", "forbidden"),
        (404, "CHECK_NOT_FOUND", "not-found"),
        (405, "METHOD_NOT_ALLOWED", "not-supported"),
        (409, "IDEMPOTENCY_KEY_IN_USE", "conflict"),
        (413, "PAYLOAD_TOO_LARGE", "too-long"),
        (415, "UNSUPPORTED_MEDIA_TYPE", "not-supported"),
        (422, "IDEMPOTENCY_KEY_REUSED", "invalid"),
        (429, "RATE_LIMITED", "throttled"),
        (500, "INTERNAL_ERROR", "exception"),
        (503, "DATABASE_UNAVAILABLE", "transient"),
    ],
)
def test_each_status_has_its_issue_type(status: int, code: str, issue_type: str) -> None:
    detail = "Teks untuk petugas."
    outcome = operation_outcome(status, code, detail)
    valid_outcome(outcome)
    assert outcome == {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": issue_type,
                "details": {"coding": [{"system": PROBLEM_SYSTEM, "code": code}], "text": detail},
                "diagnostics": detail,
            }
        ],
    }


def test_a_recorded_422_names_each_field_its_element_and_the_check() -> None:
    body = {
        "resourceType": "CoverageEligibilityRequest",
        "status": "active",
        "purpose": ["validation"],
        "patient": {"identifier": {"system": NIK_SYSTEM, "value": "12345"}},
        "servicedDate": "2026-02-30",
        "created": "2026-11-28",
        "insurer": {"display": "Jamkesda"},
    }
    request = read_eligibility_request(body)
    with pytest.raises(InvalidCheckRequest) as raised:
        parse_check_request(request.fields, date(2026, 11, 28))
    invalid = raised.value
    outcome = operation_outcome(
        422,
        invalid.code,
        "Periksa kembali isian yang ditandai.",
        errors=invalid.errors,
        check_id=CHECK_ID,
        expressions=request.expressions,
    )
    valid_outcome(outcome)
    assert outcome["extension"] == [{"url": CHECK_ID_URL, "valueString": CHECK_ID}]
    issues = {issue["expression"][0]: issue for issue in outcome["issue"]}
    assert set(issues) == {
        "CoverageEligibilityRequest.patient.identifier.value",
        "CoverageEligibilityRequest.servicedDate",
    }
    nik_issue = issues["CoverageEligibilityRequest.patient.identifier.value"]
    assert nik_issue["severity"] == "error"
    assert nik_issue["code"] == "value"
    assert nik_issue["details"]["coding"] == [{"system": PROBLEM_SYSTEM, "code": "INVALID_NIK"}]
    assert nik_issue["diagnostics"] == "NIK harus terdiri dari 16 angka."
    date_issue = issues["CoverageEligibilityRequest.servicedDate"]
    assert date_issue["diagnostics"] == " ".join(invalid.errors["service_date"])


def test_a_field_without_an_element_has_no_expression() -> None:
    outcome = operation_outcome(
        422, "INVALID_REQUEST", "Periksa.", errors={"_schema": ["Salah."]}, expressions={}
    )
    valid_outcome(outcome)
    assert "expression" not in outcome["issue"][0]
    assert outcome["issue"][0]["diagnostics"] == "Salah."


def test_nested_messages_are_flattened() -> None:
    outcome = operation_outcome(
        422, "INVALID_REQUEST", "Periksa.", errors={"checks": {"0": ["Satu."], "1": ["Dua."]}}
    )
    valid_outcome(outcome)
    assert outcome["issue"][0]["diagnostics"] == "Satu. Dua."


def test_capability_statement_names_the_operation_the_read_and_the_security() -> None:
    statement = capability_statement()
    model = CapabilityStatement.model_validate(statement)
    assert model.model_dump(mode="json", exclude_none=True) == statement
    assert (statement["status"], statement["kind"], statement["fhirVersion"]) == (
        "active",
        "instance",
        "4.0.1",
    )
    assert "json" in statement["format"]
    assert statement["date"] == capability_statement()["date"]
    (rest,) = statement["rest"]
    assert rest["mode"] == "server"
    resources = {resource["type"]: resource for resource in rest["resource"]}
    assert resources["CoverageEligibilityRequest"]["operation"] == [
        {"name": "submit", "definition": SUBMIT_OPERATION}
    ]
    assert resources["CoverageEligibilityResponse"]["interaction"] == [{"code": "read"}]
    assert "Bearer" in rest["security"]["description"]
