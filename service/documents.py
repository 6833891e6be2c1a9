"""How a recorded check reads to the desk (SPEC §5): built from the record, not the registry."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from models import CheckRecord
from service.clock import local_iso
from service.decision import Outcome, Reason
from service.facts import SnapshotSet
from service.messages import EMERGENCY_NOTICE, REASON_MESSAGES, dispute_message

COVERED = (Outcome.ELIGIBLE.value, Outcome.COVERED_BY_JKN.value)


def check_document(record: CheckRecord, snapshots: SnapshotSet, zone: tzinfo) -> dict[str, Any]:
    """The body of ``POST /v1/checks`` and ``GET /v1/checks/{check_id}``."""
    return {
        "check_id": record.check_id,
        "decided_at": local_iso(record.decided_at, zone),
        "nik_masked": record.nik_masked,
        "decision": record.decision,
        "eligible": record.decision in COVERED,
        "reasons": [
            {"code": code, "message": REASON_MESSAGES[Reason(code)]} for code in record.reasons
        ],
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
