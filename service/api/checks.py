"""``/v1/checks``: a front desk asks whether a patient is covered, and reads a check back."""

from __future__ import annotations

import time
from typing import Any

from flask import g
from flask_smorest import Blueprint

from service import clock, db
from service.api.docs import BEARER, problems
from service.api.requests import app_settings, check_reference, json_answer, json_body
from service.api.schemas import (
    CheckRequestSchema,
    CheckResponseSchema,
    InvalidCheckRequest,
    parse_check_request,
)
from service.auth import current_client, requires
from service.checks import CheckContext, check_eligibility, record_invalid_request
from service.clients import FACILITY_ROLES
from service.documents import check_document
from service.errors import Problem
from service.facts import snapshots_by_id
from service.records import find_record

blp = Blueprint("checks", __name__, url_prefix="/v1", description="Eligibility checks")


def _context() -> CheckContext:
    settings = app_settings()
    return CheckContext(
        client=current_client(),
        policy=settings.policy,
        hash_key=settings.nik_hash_key,
        started=g.get("started", time.perf_counter()),
    )


@blp.route("/checks", methods=["POST"])
@blp.doc(
    summary="Check a patient's eligibility by NIK",
    requestBody={"required": True, "content": {"application/json": {"schema": CheckRequestSchema}}},
    security=BEARER,
)
@blp.response(201, CheckResponseSchema, description="The decision, recorded")
@problems(
    blp,
    400,
    401,
    403,
    413,
    415,
    422,
    503,
    s422="Invalid request; the attempt is recorded and its check_id returned",
)
@requires(*FACILITY_ROLES)
def create_check() -> Any:
    """Decide, record and answer; an invalid request is recorded too and gets 422."""
    # The record is the one write, committed by its own INSERT before the answer leaves
    # (SPEC §2.2); a record that cannot be written makes the answer a 503.
    connection = db.autocommit_connection()
    context = _context()
    body = json_body()
    try:
        request = parse_check_request(body, clock.today(context.policy.zone))
    except InvalidCheckRequest as invalid:
        record = record_invalid_request(
            connection, context, body if isinstance(body, dict) else {}, invalid.errors
        )
        raise Problem(
            422,
            invalid.code,
            "Periksa kembali isian yang ditandai.",
            errors=invalid.errors,
            check_id=record.check_id,
        ) from invalid
    result = check_eligibility(connection, context, request)
    document = check_document(result.record, result.snapshots, context.policy.zone)
    # The busiest answer is written without the schema's dump (see json_answer).
    return json_answer(document, 201, {"Location": f"/v1/checks/{result.record.check_id}"})


@blp.route("/checks/<string:check_id>", methods=["GET"])
@blp.doc(summary="Read a check of the caller's own facility", security=BEARER)
@blp.response(200, CheckResponseSchema)
@problems(
    blp,
    401,
    403,
    404,
    422,
    503,
    s404="No such check at the caller's facility",
    s422="Malformed reference or wrong check character",
)
@requires(*FACILITY_ROLES)
def get_check(check_id: str) -> Any:
    """The same body as the 201, for a check of the caller's facility; 404 otherwise."""
    reference = check_reference(check_id)
    session = db.session()
    record = find_record(session, reference)
    client = current_client()
    if record is None or record.facility_code != client.facility_code:
        raise Problem(
            404, "CHECK_NOT_FOUND", "Tidak ada pemeriksaan dengan nomor ini di fasilitas Anda."
        )
    if record.decision == "INVALID_REQUEST":
        raise Problem(
            404, "CHECK_NOT_FOUND", "Nomor ini adalah permintaan yang ditolak, bukan pemeriksaan."
        )
    snapshots = snapshots_by_id(
        session,
        (record.population_snapshot_id, record.jamkesda_snapshot_id, record.jkn_snapshot_id),
    )
    return check_document(record, snapshots, app_settings().policy.zone)
