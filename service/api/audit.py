"""``/v1/audit``: auditors find, explain and count every check ever made (SPEC §5).

Only auditors get in. Every request here is itself recorded (``service.audit.hook``).
These views only read: no endpoint updates or deletes a check record.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, stream_with_context

from service import db
from service.api.audit_schemas import (
    AccessPageSchema,
    ApiClientListSchema,
    AuditPageSchema,
    AuditRecordSchema,
    CheckFilterSchema,
    ListingQuerySchema,
    PagingSchema,
    QuerySchema,
    ReplaySchema,
    SnapshotListSchema,
    StatsQuerySchema,
    StatsSchema,
)
from service.api.docs import BEARER, problems
from service.api.query import QueryBlueprint
from service.api.requests import app_settings, check_not_found, check_reference, json_answer
from service.audit.access import list_access
from service.audit.clients import list_api_clients
from service.audit.export import csv_export
from service.audit.filters import CheckFilter, InvalidFilter, check_filter
from service.audit.heavy import heavy
from service.audit.records import AuditEntry, find_entry, list_records
from service.audit.replay import (
    HashedUnderEarlierKey,
    NotReplayable,
    PolicyUnavailable,
    replay_check,
)
from service.audit.snapshots import list_snapshots
from service.audit.stats import check_stats
from service.auth import requires
from service.clients import Role
from service.clock import local_iso
from service.documents import (
    access_document,
    audit_document,
    client_document,
    replay_document,
    snapshot_document,
)
from service.errors import Problem
from service.messages import earlier_key_text
from service.registry_key import RehashNeeded

blp = QueryBlueprint("audit", __name__, url_prefix="/v1/audit", description="Audit (auditors only)")
S422 = "Invalid, unknown or repeated filter (INVALID_FILTER): errors names each parameter"
S422_NONE = "Any query parameter: this list takes none (INVALID_FILTER)"


def _filter(query: dict[str, Any]) -> CheckFilter:
    settings = app_settings()
    try:
        return check_filter(query, settings.policy.zone, settings.nik_hash_key)
    except InvalidFilter as invalid:
        raise Problem(
            422, "INVALID_FILTER", "Periksa parameter yang ditandai.", errors=invalid.errors
        ) from invalid


def _document(entry: AuditEntry) -> dict[str, Any]:
    return audit_document(
        entry.record,
        entry.snapshots,
        entry.facility_name,
        entry.client_name,
        app_settings().policy.zone,
        entry.leaf_index,
        entry.quarantined,
    )


# The 503s of the heavy requests (service.audit.heavy).
BUSY = (
    "AUDIT_BUSY: too many heavy audit requests (replays, statistics, exports) run in this "
    "worker now, so that checks keep their threads; retry after Retry-After"
)
S503_HEAVY = f"The database could not be reached (DATABASE_UNAVAILABLE); or {BUSY}"


@blp.route("/checks", methods=["GET"])
@blp.doc(operationId="listAuditChecks", summary="Find check records, newest first", security=BEARER)
@blp.response(200, AuditPageSchema)
@problems(blp, 401, 403, 422, 503, s422=S422)
@requires(Role.AUDITOR)
@blp.arguments(ListingQuerySchema, location="query", unknown="raise")
def list_checks(query: dict[str, Any]) -> Any:
    """Records matching every given filter; ``next_cursor`` fetches the following page."""
    page = list_records(db.session(), _filter(query), query["limit"], query["cursor"])
    # Up to 500 records: answered without the schema's dump (see json_answer).
    return json_answer(
        {"items": [_document(entry) for entry in page.entries], "next_cursor": page.next_cursor}
    )


@blp.route("/checks.csv", methods=["GET"])
@blp.doc(
    operationId="exportAuditChecksCsv",
    summary="Export the filtered records as CSV (streamed, NIK masked)",
    security=BEARER,
    responses={
        "200": {
            "description": "UTF-8 CSV with a BOM and a header row, newest first",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
@problems(blp, 401, 403, 422, 503, s422=S422, s503=S503_HEAVY)
@requires(Role.AUDITOR)
@heavy
@blp.arguments(CheckFilterSchema, location="query", unknown="raise")
def export_checks(query: dict[str, Any]) -> Response:
    """Every matching record, one CSV row each, streamed in constant memory."""
    sessions = current_app.extensions["jamkesda.sessions"]
    chunks = csv_export(sessions, _filter(query), app_settings().policy.zone)
    return Response(
        stream_with_context(chunks),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="checks.csv"'},
    )


@blp.route("/checks/<string:check_id>", methods=["GET"])
@blp.doc(operationId="getAuditCheck", summary="One check record, of any facility", security=BEARER)
@blp.response(200, AuditRecordSchema)
@problems(
    blp,
    401,
    403,
    404,
    422,
    503,
    s404="No check with this reference",
    s422="Malformed reference or wrong check character (INVALID_CHECK_ID)",
)
@requires(Role.AUDITOR)
def get_check(check_id: str) -> Any:
    """The full record; the reference is case-insensitive and its check character verified."""
    reference = check_reference(check_id)
    entry = find_entry(db.session(), reference)
    if entry is None:
        raise check_not_found()
    return _document(entry)


@blp.route("/checks/<string:check_id>/replay", methods=["GET"])
@blp.doc(
    operationId="replayAuditCheck",
    summary="Re-derive a check's decision from the data and policy then, and from today's",
    security=BEARER,
)
@blp.response(200, ReplaySchema)
@problems(
    blp,
    401,
    403,
    404,
    422,
    503,
    s404="No check with this reference",
    s422="Malformed reference or wrong check character (INVALID_CHECK_ID); a refused "
    "request, which decided nothing (NOT_REPLAYABLE); a policy version neither configured "
    "nor bundled (POLICY_UNAVAILABLE, with policy_version); a record made before the last "
    "change of NIK_HASH_KEY whose person the registry, rehashed since, cannot find "
    "(HASHED_UNDER_EARLIER_KEY, with rotated_at)",
    s503="The database could not be reached; or the registry's NIK hashes were made under "
    "another NIK_HASH_KEY than the one configured, so the person cannot be looked up "
    "(REHASH_NEEDED: the operator runs `jamkesda db rehash`); or " + BUSY,
)
@requires(Role.AUDITOR)
@heavy
def replay(check_id: str) -> Any:
    """The recorded decision beside the same request decided on the data then and now."""
    reference = check_reference(check_id)
    settings = app_settings()
    try:
        found = replay_check(db.session(), reference, settings.policy, settings.nik_hash_key)
    except NotReplayable as refused:
        raise Problem(
            422,
            "NOT_REPLAYABLE",
            "Permintaan ini ditolak saat diperiksa dan tidak menghasilkan keputusan, "
            "jadi tidak ada yang dapat diulang.",
        ) from refused
    except PolicyUnavailable as missing:
        raise Problem(
            422,
            "POLICY_UNAVAILABLE",
            f"Versi kebijakan {missing.version} yang tercatat tidak tersedia di layanan ini.",
            policy_version=missing.version,
        ) from missing
    except HashedUnderEarlierKey as earlier:
        raise Problem(
            422,
            "HASHED_UNDER_EARLIER_KEY",
            earlier_key_text(earlier.rotated_at, app_settings().policy.zone),
            rotated_at=local_iso(earlier.rotated_at, app_settings().policy.zone),
        ) from earlier
    except RehashNeeded as stale:
        raise Problem(
            503,
            "REHASH_NEEDED",
            "Hash NIK pada data kependudukan dibuat dengan kunci lain daripada NIK_HASH_KEY "
            "yang berlaku sekarang, jadi orang pada catatan ini belum dapat dicari. Ini bukan "
            "berarti NIK tidak terdaftar: operator perlu menjalankan `jamkesda db rehash`.",
        ) from stale
    if found is None:
        raise check_not_found()
    return replay_document(found)


@blp.route("/stats", methods=["GET"])
@blp.doc(
    operationId="getAuditStats",
    summary="Counts and denial rates by facility, decision, reason and day",
    security=BEARER,
)
@blp.response(200, StatsSchema)
@problems(blp, 401, 403, 422, 503, s422=S422, s503=S503_HEAVY)
@requires(Role.AUDITOR)
@heavy
@blp.arguments(StatsQuerySchema, location="query", unknown="raise")
def stats(query: dict[str, Any]) -> Any:
    """One row per group of ``group_by``; see ``service.audit.stats`` for the counts."""
    rows = check_stats(db.session(), _filter(query), query["group_by"], app_settings().policy.zone)
    return {"rows": rows}


@blp.route("/snapshots", methods=["GET"])
@blp.doc(
    operationId="listSnapshots",
    summary="Every data import, facilities too, newest first",
    security=BEARER,
)
@blp.response(200, SnapshotListSchema)
@problems(blp, 401, 403, 422, 503, s422=S422_NONE)
@requires(Role.AUDITOR)
@blp.arguments(QuerySchema, location="query", unknown="raise")
def snapshots(_query: dict[str, Any]) -> Any:
    """Each import with its counts, file hash, and whether it came into force."""
    zone = app_settings().policy.zone
    return {"items": [snapshot_document(s, zone) for s in list_snapshots(db.session())]}


@blp.route("/access", methods=["GET"])
@blp.doc(
    operationId="listAccessLog",
    summary="Every request to the audit and ledger APIs, newest first",
    security=BEARER,
)
@blp.response(200, AccessPageSchema)
@problems(blp, 401, 403, 422, 503, s422=S422)
@requires(Role.AUDITOR)
@blp.arguments(PagingSchema, location="query", unknown="raise")
def access(query: dict[str, Any]) -> Any:
    """Who read what and when, refused requests included; NIKs masked."""
    zone = app_settings().policy.zone
    page = list_access(db.session(), query["limit"], query["cursor"])
    return {
        "items": [access_document(entry, client, zone) for entry, client in page.entries],
        "next_cursor": page.next_cursor,
    }


@blp.route("/clients", methods=["GET"])
@blp.doc(
    operationId="listClients",
    summary="Every API client, oldest first, revoked ones included (no key material)",
    security=BEARER,
)
@blp.response(200, ApiClientListSchema)
@problems(blp, 401, 403, 422, 503, s422=S422_NONE)
@requires(Role.AUDITOR)
@blp.arguments(QuerySchema, location="query", unknown="raise")
def clients(_query: dict[str, Any]) -> Any:
    """Who holds a key: id, name, role, facility, when created and when revoked."""
    zone = app_settings().policy.zone
    return {
        "items": [
            client_document(client, facility, zone)
            for client, facility in list_api_clients(db.session())
        ]
    }
