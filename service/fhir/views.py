"""``/fhir/R4``: the FHIR door onto the same check use-case as ``/v1`` (SPEC §9.3)."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response
from flask_smorest import Blueprint
from sqlalchemy import Connection

from service import clock
from service.answers import Answer, Decided
from service.api.checks import check_context, own_check_document
from service.api.docs import BEARER, IDEMPOTENCY_KEY
from service.api.requests import json_body, json_text
from service.api.schemas import InvalidCheckRequest, parse_check_request
from service.auth import requires
from service.checks import CheckContext, decide_check, refused_entry
from service.clients import Role
from service.documents import check_document
from service.errors import Problem, register_problem_renderer
from service.fhir.capability import capability_statement
from service.fhir.codes import FHIR_JSON
from service.fhir.issues import InvalidFhirRequest
from service.fhir.openapi import (
    CAPABILITY_DOC,
    READ_DOC,
    SUBMIT_DOC,
)
from service.fhir.outcome import invalid_request_outcome, operation_outcome
from service.fhir.request import EligibilityRequest, read_eligibility_request
from service.fhir.response import eligibility_response
from service.idempotency import answer_check
from service.records import CheckEntry

PREFIX = "/fhir/R4"
blp = Blueprint("fhir", __name__, url_prefix=PREFIX, description="FHIR R4 (SATUSEHAT)")
RESPONSE_PATH = f"{PREFIX}/CoverageEligibilityResponse"
REFUSED_DETAIL = "Periksa kembali elemen yang ditandai."


def fhir_response(status: int, resource: dict[str, Any]) -> Response:
    """A FHIR resource as the answer, ``application/fhir+json``."""
    return Response(json_text(resource), status=status, mimetype=FHIR_JSON)


def outcome_of_problem(problem: Problem) -> Response:
    """Any error on a FHIR path as an OperationOutcome, with the problem's headers."""
    outcome = operation_outcome(
        problem.status,
        problem.code,
        problem.detail,
        errors=problem.extra.get("errors"),
        check_id=problem.extra.get("check_id"),
    )
    response = fhir_response(problem.status, outcome)
    response.headers.update(problem.headers)
    return response


def register(app: Flask) -> None:
    """Make every error under ``/fhir/`` an OperationOutcome."""
    register_problem_renderer(app, "/fhir/", outcome_of_problem)


@blp.route("/CoverageEligibilityRequest/$submit", methods=["POST"])
@blp.doc(**SUBMIT_DOC, parameters=[IDEMPOTENCY_KEY], security=BEARER)
@requires(Role.INTEGRATION)
def submit() -> Any:
    """Check the patient of a CoverageEligibilityRequest; answer a CoverageEligibilityResponse."""
    context = check_context(channel="fhir")
    try:
        asked = read_eligibility_request(json_body())
    except InvalidFhirRequest as invalid:
        # Not an acceptable request at all: nothing to decide, nothing recorded.
        return fhir_response(400, invalid_request_outcome(invalid))
    return answer_check(
        "fhir",
        lambda connection: _decide(connection, context, asked),
        restore=lambda kept: _with_patient(kept, asked.patient),
    )


def _decide(connection: Connection, context: CheckContext, asked: EligibilityRequest) -> Decided:
    """Decide as ``/v1/checks`` does; a bad NIK or date is refused, recorded, answered 422."""
    try:
        request = parse_check_request(asked.fields, clock.today(context.policy.zone))
    except InvalidCheckRequest as invalid:
        return _refused(context, asked, invalid)
    entry, snapshots = decide_check(connection, context, request)

    def decision(record: CheckEntry) -> Answer:
        document = check_document(record, snapshots, context.policy.zone)
        answer = eligibility_response(document, asked.patient)
        # The answer echoes the NIK the caller sent, and no plain NIK is ever stored: the
        # remembered answer shows the masked NIK instead, and a replay puts the sent one back.
        kept = {**answer, "patient": {"display": document["nik_masked"]}}
        location = f"{RESPONSE_PATH}/{record.check_id}"
        return Answer(200, json_text(answer), FHIR_JSON, location, kept=json_text(kept))

    return Decided(entry, decision)


def _refused(
    context: CheckContext, asked: EligibilityRequest, invalid: InvalidCheckRequest
) -> Decided:
    """A bad NIK or date: recorded as refused, answered 422 naming each element."""

    def refusal(record: CheckEntry) -> Answer:
        outcome = operation_outcome(
            422, invalid.code, REFUSED_DETAIL, invalid.errors, record.check_id, asked.expressions
        )
        return Answer(422, json_text(outcome), FHIR_JSON)

    return Decided(refused_entry(context, asked.fields, invalid.errors), refusal)


def _with_patient(kept: str, patient: dict[str, Any]) -> str:
    """A remembered answer with the patient reference of the request replayed."""
    resource = json.loads(kept)
    if resource.get("resourceType") == "CoverageEligibilityResponse":
        resource["patient"] = patient
    return json_text(resource)


@blp.route("/CoverageEligibilityResponse/<string:check_id>", methods=["GET"])
@blp.doc(**READ_DOC, security=BEARER)
@requires(Role.INTEGRATION)
def read(check_id: str) -> Any:
    """A check of the caller's facility (any door) as a CoverageEligibilityResponse."""
    document = own_check_document(check_id)
    # The plain NIK was never kept: a read shows the masked one.
    return fhir_response(200, eligibility_response(document, {"display": document["nik_masked"]}))


@blp.route("/metadata", methods=["GET"])
@blp.doc(**CAPABILITY_DOC)
def metadata() -> Any:
    """What this FHIR door offers (no key)."""
    return fhir_response(200, capability_statement())
