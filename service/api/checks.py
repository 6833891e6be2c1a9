"""``/v1/checks``: a front desk asks whether a patient is covered, and reads a check back."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from flask import g, request
from flask_smorest import Blueprint
from sqlalchemy import Connection

from service import clock, db
from service.answers import Answer, Decided
from service.api.docs import BEARER, IDEMPOTENCY_KEY, IN_USE, problems
from service.api.requests import JSON, app_settings, check_reference, json_body, json_text
from service.api.schemas import (
    MAX_BATCH_ITEMS,
    BatchRequestSchema,
    BatchResponseSchema,
    CheckRequestSchema,
    CheckResponseSchema,
    InvalidBatch,
    InvalidCheckRequest,
    parse_check_request,
    read_batch,
)
from service.auth import current_client, requires
from service.batches import RefusedItem, check_batch
from service.checks import CheckContext, CheckRequest, decide_check, refused_entry
from service.clients import FACILITY_ROLES, Role
from service.documents import check_document
from service.errors import PROBLEM_JSON, Problem, problem_document, problem_text
from service.facts import snapshots_by_id
from service.idempotency import answer_check, answer_unit
from service.records import CheckEntry, find_record

blp = Blueprint("checks", __name__, url_prefix="/v1", description="Eligibility checks")
BATCH_MAX_BODY_BYTES = 1024 * 1024
# The error answers of the doors that decide, and the texts they share.
DOOR_PROBLEMS = (400, 401, 403, 409, 413, 415, 422, 503)
DOOR_TEXTS = {
    "s400": "Malformed JSON, or an object giving a member twice (MALFORMED_JSON); a "
    "malformed Idempotency-Key (INVALID_IDEMPOTENCY_KEY); nothing recorded",
    "s409": IN_USE,
}


def check_context(channel: str = "api") -> CheckContext:
    """Who asks, through which door, under the app's policy and hash key."""
    settings = app_settings()
    return CheckContext(
        client=current_client(),
        policy=settings.policy,
        hash_key=settings.nik_hash_key,
        started=g.get("started", time.perf_counter()),
        channel=channel,
    )


def refused_problem(code: str, errors: dict[str, Any], check_id: str) -> Problem:
    """The 422 of a check request that was refused and recorded under ``check_id``."""
    return Problem(
        422, code, "Periksa kembali isian yang ditandai.", errors=errors, check_id=check_id
    )


def _decide(connection: Connection, context: CheckContext, body: Any) -> Decided:
    """Decide one check, or refuse an invalid request: either way a record and its answer."""
    try:
        request = parse_check_request(body, clock.today(context.policy.zone))
    except InvalidCheckRequest as invalid:
        return _refused(context, body if isinstance(body, dict) else {}, invalid)
    entry, snapshots = decide_check(connection, context, request)

    def decision(record: CheckEntry) -> Answer:
        # The busiest answer is written without the schema's dump (see json_answer).
        document = check_document(record, snapshots, context.policy.zone)
        return Answer(201, json_text(document), JSON, f"/v1/checks/{record.check_id}")

    return Decided(entry, decision)


def _refused(context: CheckContext, body: dict[str, Any], invalid: InvalidCheckRequest) -> Decided:
    """A refused request: recorded as such, answered 422 with its reference."""

    def refusal(record: CheckEntry) -> Answer:
        problem = refused_problem(invalid.code, invalid.errors, record.check_id)
        return Answer(422, problem_text(problem), PROBLEM_JSON)

    return Decided(refused_entry(context, body, invalid.errors), refusal)


@blp.route("/checks", methods=["POST"])
@blp.doc(
    operationId="createCheck",
    summary="Check a patient's eligibility by NIK",
    parameters=[IDEMPOTENCY_KEY],
    requestBody={"required": True, "content": {"application/json": {"schema": CheckRequestSchema}}},
    security=BEARER,
)
@blp.response(201, CheckResponseSchema, description="The decision, recorded")
@problems(
    blp,
    *DOOR_PROBLEMS,
    **DOOR_TEXTS,
    s422="Invalid request (the attempt is recorded and its check_id returned), "
    "or an Idempotency-Key used before for another request (IDEMPOTENCY_KEY_REUSED)",
)
@requires(*FACILITY_ROLES)
def create_check() -> Any:
    """Decide, record and answer; an invalid request is recorded too and gets 422."""
    # The record is the one write, committed by its own INSERT before the answer leaves
    # (SPEC §2.2); a record that cannot be written makes the answer a 503. With an
    # Idempotency-Key, the record and the remembered answer commit together.
    context = check_context()
    body = json_body()
    return answer_check("checks", lambda connection: _decide(connection, context, body))


@blp.route("/checks/batch", methods=["POST"])
@blp.doc(
    operationId="createCheckBatch",
    summary="Check up to 100 patients in one call",
    parameters=[IDEMPOTENCY_KEY],
    requestBody={"required": True, "content": {"application/json": {"schema": BatchRequestSchema}}},
    security=BEARER,
)
@blp.response(200, BatchResponseSchema, description="Every item decided and recorded")
@problems(
    blp,
    *DOOR_PROBLEMS,
    **DOOR_TEXTS,
    s403="Only integration keys may send batches",
    s413="Body over 1 MiB",
    s422="Not a batch of 1–100 objects (INVALID_BATCH; nothing recorded), or an "
    "Idempotency-Key used before for another request (IDEMPOTENCY_KEY_REUSED)",
    s503="The database could not be reached or the batch not committed; no item was decided",
)
@requires(Role.INTEGRATION)
def create_batch() -> Any:
    """Decide and record every item in one transaction; each item answers 201 or 422."""
    request.max_content_length = BATCH_MAX_BODY_BYTES
    context = check_context(channel="batch")
    try:
        sent = read_batch(json_body())
    except InvalidBatch as invalid:
        raise Problem(
            422,
            "INVALID_BATCH",
            f'Kirim objek {{"checks": [...]}} berisi 1 sampai {MAX_BATCH_ITEMS} pemeriksaan.',
            errors=invalid.errors,
        ) from invalid
    today = clock.today(context.policy.zone)
    items = [_batch_item(item, today) for item in sent]
    return answer_unit("batch", lambda connection: _batch_answer(connection, context, items))


def _batch_item(body: dict[str, Any], today: date) -> CheckRequest | RefusedItem:
    """An item of a batch: a valid check request, or the refusal to record."""
    try:
        return parse_check_request(body, today)
    except InvalidCheckRequest as invalid:
        return RefusedItem(body, invalid.errors, invalid.code)


def _batch_answer(
    connection: Connection, context: CheckContext, items: list[CheckRequest | RefusedItem]
) -> Answer:
    """The batch decided and recorded: each item's answer, in the order sent."""
    batch = check_batch(connection, context, items)
    zone = context.policy.zone
    results: list[dict[str, Any]] = []
    for index, (item, record) in enumerate(zip(items, batch.records, strict=True)):
        if isinstance(item, RefusedItem):
            problem = problem_document(refused_problem(item.code, item.errors, record.check_id))
            results.append({"index": index, "status": 422, "problem": problem})
        else:
            check = check_document(record, batch.snapshots, zone)
            results.append({"index": index, "status": 201, "check": check})
    document = {"batch_id": batch.batch_id, "results": results}
    recorded = tuple((record.decision, record.channel) for record in batch.records)
    return Answer(200, json_text(document), JSON, batch_id=batch.batch_id, recorded=recorded)


@blp.route("/checks/<string:check_id>", methods=["GET"])
@blp.doc(
    operationId="getCheck", summary="Read a check of the caller's own facility", security=BEARER
)
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
    return own_check_document(check_id)


def own_check_document(check_id: str) -> dict[str, Any]:
    """The answer of a check the caller's facility made (any door); 422 or 404 otherwise."""
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
