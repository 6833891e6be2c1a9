"""Error answers of the FHIR door as R4 ``OperationOutcome`` resources (SPEC §9.3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.errors import field_messages
from service.fhir.codes import CHECK_ID_URL, INVALID_FHIR_RESOURCE, PROBLEM_SYSTEM
from service.fhir.issues import InvalidFhirRequest

# FHIR's IssueType code for each HTTP status the service answers with.
ISSUE_TYPES: dict[int, str] = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    413: "too-long",
    415: "not-supported",
    422: "invalid",
    429: "throttled",
    500: "exception",
    503: "transient",
}

INVALID_FHIR_DETAIL = (
    "Isi permintaan bukan CoverageEligibilityRequest FHIR R4 yang dapat diterima: "
    "perbaiki elemen yang ditandai."
)


def issue_type(status: int) -> str:
    """The IssueType of an error answer's status (``exception`` for an unlisted 5xx)."""
    return ISSUE_TYPES.get(status, "exception" if status >= 500 else "processing")


def operation_outcome(
    status: int,
    code: str,
    detail: str,
    errors: Mapping[str, Any] | None = None,
    check_id: str | None = None,
    expressions: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A ``/v1`` problem as an OperationOutcome: one issue per field of ``errors``, else one.

    ``code`` is the problem's stable code, ``detail`` its Indonesian text; ``expressions``
    maps a field to the FHIRPath it was read from, and ``check_id`` names a recorded attempt.
    """
    details = _details(code, detail)
    if errors:
        # A field that failed has a wrong value; the rest of the resource was acceptable.
        kind = "value" if status == 422 else issue_type(status)
        issues = [
            _issue(kind, details, " ".join(field_messages(texts)), (expressions or {}).get(field))
            for field, texts in errors.items()
        ]
    else:
        issues = [_issue(issue_type(status), details, detail, None)]
    outcome: dict[str, Any] = {"resourceType": "OperationOutcome"}
    if check_id:
        outcome["extension"] = [{"url": CHECK_ID_URL, "valueString": check_id}]
    outcome["issue"] = issues
    return outcome


def invalid_request_outcome(error: InvalidFhirRequest) -> dict[str, Any]:
    """The 400 for a body that is not an acceptable CoverageEligibilityRequest."""
    details = _details(INVALID_FHIR_RESOURCE, INVALID_FHIR_DETAIL)
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            _issue(issue.code, details, issue.diagnostics, issue.expression)
            for issue in error.issues
        ],
    }


def _details(code: str, text: str) -> dict[str, Any]:
    """The problem's stable code in the service's code system, with its text."""
    return {"coding": [{"system": PROBLEM_SYSTEM, "code": code}], "text": text}


def _issue(
    kind: str, details: dict[str, Any], diagnostics: str, expression: str | None
) -> dict[str, Any]:
    """One issue; every error answer is of severity ``error``."""
    issue: dict[str, Any] = {
        "severity": "error",
        "code": kind,
        "details": details,
        "diagnostics": diagnostics,
    }
    if expression:
        issue["expression"] = [expression]
    return issue
