"""How the FHIR door is described in ``openapi.yaml``: media type, resources, answers.

The bodies are HL7's resources, not this service's schemas, so the document names each
by its definition (``externalDocs`` and ``x-fhir-definition``) and states only what the
service itself requires. It does not ``$ref`` HL7's JSON schema: client generators and
contract testers would have to fetch it from hl7.org, which a closed network cannot.
"""

from __future__ import annotations

from typing import Any

from service.api.docs import RETRY_AFTER
from service.fhir.codes import FHIR_JSON, NIK_SYSTEM

FHIR_R4 = "http://hl7.org/fhir/R4"
# A complete request as an integrator sends it. The schema below states only what the
# service requires of HL7's resource, so without a whole example neither a reader nor a
# contract tester (which sends the document's examples) has a request the door accepts.
SUBMIT_EXAMPLE: dict[str, Any] = {
    "resourceType": "CoverageEligibilityRequest",
    "status": "active",
    "purpose": ["validation"],
    "created": "2026-11-28",
    "insurer": {"display": "Jamkesda Kabupaten Kutai Kartanegara"},
    "patient": {"identifier": {"system": NIK_SYSTEM, "value": "6402014101900001"}},
    "identifier": [{"value": "RJ-0003"}],
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "FhirCoverageEligibilityRequest": {
        "type": "object",
        "description": "An HL7 FHIR R4 (4.0.1) CoverageEligibilityRequest, valid against R4, "
        "with status 'active', purpose containing 'validation', and the patient as a NIK "
        "identifier (system https://fhir.kemkes.go.id/id/nik) or a reference '#id' to a "
        "contained Patient carrying one.",
        "externalDocs": {"url": f"{FHIR_R4}/coverageeligibilityrequest.html"},
        "x-fhir-definition": "http://hl7.org/fhir/StructureDefinition/CoverageEligibilityRequest",
        "required": ["resourceType", "status", "purpose", "patient", "created", "insurer"],
        "properties": {
            "resourceType": {"type": "string", "enum": ["CoverageEligibilityRequest"]},
            "status": {"type": "string", "enum": ["active"]},
            "purpose": {"type": "array", "items": {"type": "string"}},
            "patient": {"type": "object"},
            "created": {"type": "string"},
            "insurer": {"type": "object"},
            "servicedDate": {"type": "string", "format": "date"},
        },
        "additionalProperties": True,
        "example": SUBMIT_EXAMPLE,
    },
    "FhirCoverageEligibilityResponse": {
        "type": "object",
        "description": "An HL7 FHIR R4 (4.0.1) CoverageEligibilityResponse: id = check_id.",
        "externalDocs": {"url": f"{FHIR_R4}/coverageeligibilityresponse.html"},
        "x-fhir-definition": "http://hl7.org/fhir/StructureDefinition/CoverageEligibilityResponse",
        "required": ["resourceType", "id", "status", "purpose", "patient", "created", "outcome"],
        "properties": {
            "resourceType": {"type": "string", "enum": ["CoverageEligibilityResponse"]},
            "id": {"type": "string", "example": "K7QM-3XD9-2F4E"},
            "outcome": {"type": "string", "enum": ["complete", "error"]},
        },
        "additionalProperties": True,
    },
    "FhirOperationOutcome": {
        "type": "object",
        "description": "An HL7 FHIR R4 OperationOutcome: issue[].details.coding[0].code is the "
        "/v1 problem code, issue[].expression the FHIRPath of the bad element.",
        "externalDocs": {"url": f"{FHIR_R4}/operationoutcome.html"},
        "x-fhir-definition": "http://hl7.org/fhir/StructureDefinition/OperationOutcome",
        "required": ["resourceType", "issue"],
        "properties": {
            "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
            "issue": {"type": "array", "items": {"type": "object"}},
        },
        "additionalProperties": True,
    },
    "FhirCapabilityStatement": {
        "type": "object",
        "description": "An HL7 FHIR R4 CapabilityStatement.",
        "externalDocs": {"url": f"{FHIR_R4}/capabilitystatement.html"},
        "x-fhir-definition": "http://hl7.org/fhir/StructureDefinition/CapabilityStatement",
        "required": ["resourceType"],
        "properties": {"resourceType": {"type": "string", "enum": ["CapabilityStatement"]}},
        "additionalProperties": True,
    },
}


def _content(schema: str) -> dict[str, Any]:
    return {FHIR_JSON: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def _outcome(description: str) -> dict[str, Any]:
    return {"description": description, "content": _content("FhirOperationOutcome")}


_ERRORS = {
    401: _outcome("Missing, unknown or revoked key (WWW-Authenticate: Bearer)"),
    403: _outcome("Only integration keys may use the FHIR door"),
    429: {
        **_outcome("Over the key's rate limit (throttled); nothing recorded"),
        "headers": RETRY_AFTER,
    },
    503: _outcome("The database could not be reached; nothing was decided"),
}

SUBMIT_DOC: dict[str, Any] = {
    "operationId": "fhirSubmitCoverageEligibilityRequest",
    "summary": "FHIR R4 $submit: check a patient's eligibility",
    "requestBody": {
        "required": True,
        "content": {
            **_content("FhirCoverageEligibilityRequest"),
            "application/json": _content("FhirCoverageEligibilityRequest")[FHIR_JSON],
        },
    },
    "responses": {
        200: {
            "description": "The decision, recorded (outcome 'error' when nothing could be "
            "determined, never a denial)",
            "content": _content("FhirCoverageEligibilityResponse"),
        },
        400: _outcome(
            "Not JSON or an object giving a member twice (MALFORMED_JSON), not an "
            "acceptable R4 CoverageEligibilityRequest, or a malformed Idempotency-Key; "
            "nothing recorded"
        ),
        409: _outcome("A request with the same Idempotency-Key is still being processed"),
        413: _outcome("Body over 64 KiB"),
        415: _outcome("Body neither application/fhir+json nor application/json"),
        422: _outcome(
            "A bad NIK or date: recorded, its check_id in the check-id extension; "
            "or an Idempotency-Key used before for another request"
        ),
        **_ERRORS,
    },
}

READ_DOC: dict[str, Any] = {
    "operationId": "fhirReadCoverageEligibilityResponse",
    "summary": "FHIR R4 read: a check of the caller's facility (any door)",
    "responses": {
        200: {"description": "The check", "content": _content("FhirCoverageEligibilityResponse")},
        404: _outcome("No such check at the caller's facility"),
        422: _outcome("Malformed reference or wrong check character"),
        **_ERRORS,
    },
}

CAPABILITY_DOC: dict[str, Any] = {
    "operationId": "fhirCapabilities",
    "summary": "FHIR R4 CapabilityStatement (no key)",
    "responses": {
        200: {
            "description": "What the FHIR door offers",
            "content": _content("FhirCapabilityStatement"),
        }
    },
}
