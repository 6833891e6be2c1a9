"""How a recorded check reads to the desk (SPEC §5): built from the record, not the registry."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import tzinfo
from typing import Any

from models import AccessRecord, CheckRecord, Client, Facility, Snapshot
from service.audit.replay import Replay
from service.clock import local_iso
from service.decision import Decision, Outcome, Reason
from service.facts import SnapshotSet
from service.identity import Match
from service.messages import EMERGENCY_NOTICE, REASON_MESSAGES, dispute_message
from service.records import CheckEntry

COVERED = (Outcome.ELIGIBLE.value, Outcome.COVERED_BY_JKN.value)


def reason_documents(codes: Iterable[str]) -> list[dict[str, str]]:
    """Reason codes as the API shows them: each with its message for the clerk."""
    return [{"code": code, "message": REASON_MESSAGES[Reason(code)]} for code in codes]


def check_document(
    record: CheckRecord | CheckEntry, snapshots: SnapshotSet, zone: tzinfo
) -> dict[str, Any]:
    """The body of ``POST /v1/checks`` and ``GET /v1/checks/{check_id}``."""
    return {
        "check_id": record.check_id,
        "decided_at": local_iso(record.decided_at, zone),
        "nik_masked": record.nik_masked,
        "decision": record.decision,
        "eligible": record.decision in COVERED,
        "reasons": reason_documents(record.reasons),
        "coverage": record.coverage,
        "identity_match": {"name": record.name_match, "birth_date": record.birth_date_match},
        "policy_version": record.policy_version,
        "data_as_of": {
            "population": snapshots.population.as_of if snapshots.population else None,
            "jamkesda": snapshots.jamkesda.as_of if snapshots.jamkesda else None,
            "jkn": snapshots.jkn.as_of if snapshots.jkn else None,
        },
        "dispute": (
            None
            if record.decision == Outcome.ELIGIBLE.value
            else {"reference": record.check_id, "message": dispute_message(record.check_id)}
        ),
        "emergency_notice": EMERGENCY_NOTICE if record.service_type == "emergency" else None,
    }


def audit_document(
    record: CheckRecord | CheckEntry,
    snapshots: SnapshotSet,
    facility_name: str | None,
    client_name: str | None,
    zone: tzinfo,
    leaf_index: int | None = None,
    quarantined: bool = False,
) -> dict[str, Any]:
    """An ``AuditRecord``: the check's answer plus who asked, how, and on which data.

    A refused request (``INVALID_REQUEST``) decided nothing: it has no dispute, and its
    ``errors`` say which fields were wrong. A facility or client whose name is None (none
    named, or not on file) is shown as null. ``leaf_index`` is the record's place in the
    ledger, None until it is sequenced; a ``quarantined`` record is never sequenced, and
    says so (SPEC §13).
    """
    document = check_document(record, snapshots, zone)
    if record.decision == Outcome.INVALID_REQUEST.value:
        document["dispute"] = None
    return {
        **document,
        "facility": (
            {"code": record.facility_code, "name": facility_name}
            if facility_name is not None
            else None
        ),
        "client": (
            {"id": record.client_id, "name": client_name} if client_name is not None else None
        ),
        "operator_id": record.operator_id,
        "channel": record.channel,
        "batch_id": record.batch_id,
        "request": {
            "service_date": record.service_date,
            "service_type": record.service_type,
            "external_ref": record.external_ref,
            "identity_provided": {
                "name": record.name_match != Match.NOT_PROVIDED.value,
                "birth_date": record.birth_date_match != Match.NOT_PROVIDED.value,
            },
        },
        "data_snapshots": {
            "population": record.population_snapshot_id,
            "jamkesda": record.jamkesda_snapshot_id,
            "jkn": record.jkn_snapshot_id,
        },
        "latency_ms": record.latency_ms,
        "errors": record.errors,
        "ledger": ledger_ref(leaf_index, quarantined),
    }


def ledger_ref(leaf_index: int | None, quarantined: bool) -> dict[str, Any] | None:
    """An ``AuditRecord``'s ``ledger``: its leaf, its quarantine, or None while queued."""
    if leaf_index is not None:
        return {"leaf_index": leaf_index}
    if quarantined:
        return {"leaf_index": None, "quarantined": True}
    return None


def snapshot_document(snapshot: Snapshot, zone: tzinfo) -> dict[str, Any]:
    """One data import as ``GET /v1/audit/snapshots`` lists it."""
    return {
        "id": snapshot.id,
        "source": snapshot.source,
        "as_of": snapshot.as_of,
        "imported_at": local_iso(snapshot.imported_at, zone),
        "filename": snapshot.filename,
        "sha256": snapshot.sha256,
        "rows": snapshot.rows,
        "added": snapshot.added,
        "changed": snapshot.changed,
        "removed": snapshot.removed,
        "unchanged": snapshot.unchanged,
        "came_into_force": snapshot.came_into_force,
    }


def access_document(entry: AccessRecord, client: Client | None, zone: tzinfo) -> dict[str, Any]:
    """One access-log entry as ``GET /v1/audit/access`` lists it."""
    return {
        "id": entry.id,
        "time": local_iso(entry.at, zone),
        "client": {"id": client.id, "name": client.name} if client else None,
        "method": entry.method,
        "path": entry.path,
        "query": entry.query,
        "status": entry.status,
    }


def client_document(client: Client, facility: Facility | None, zone: tzinfo) -> dict[str, Any]:
    """One API client as ``GET /v1/audit/clients`` lists it: no key, no key hash."""
    return {
        "id": client.id,
        "name": client.name,
        "role": client.role,
        "facility": {"code": facility.code, "name": facility.name} if facility else None,
        "created_at": local_iso(client.created_at, zone),
        "revoked_at": local_iso(client.revoked_at, zone) if client.revoked_at else None,
    }


def _outcome_document(decision: Decision) -> dict[str, Any]:
    """One part of a replay: the decision and its reasons, as a check shows them."""
    return {"decision": decision.outcome.value, "reasons": reason_documents(decision.reasons)}


def replay_document(replay: Replay) -> dict[str, Any]:
    """The body of ``GET /v1/audit/checks/{check_id}/replay``."""
    return {
        "recorded": _outcome_document(replay.recorded),
        "as_of_then": _outcome_document(replay.as_of_then),
        "as_of_now": _outcome_document(replay.as_of_now),
        "same_as_recorded": replay.same_as_recorded,
    }
