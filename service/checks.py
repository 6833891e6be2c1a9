"""The check use-case: gather the facts, decide, and record the decision in one unit of work."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection

from service import clock
from service.clients import Caller
from service.decision import Decision, Facts, Outcome, decide
from service.facts import SnapshotSet, facts_in_force
from service.identity import Match, match_birth_date, match_name
from service.nik import mask, nik_hash, normalise
from service.policy import Policy
from service.records import CheckEntry, append_record
from service.refusals import bounded_errors, storable

NOT_CHECKED = "NOT_CHECKED"


@dataclass(frozen=True)
class CheckRequest:
    """A valid check request; the NIK is normalised and structurally valid."""

    nik: str
    service_date: date
    service_type: str = "outpatient"
    operator_id: str | None = None
    patient_name: str | None = None
    birth_date: date | None = None
    external_ref: str | None = None


@dataclass(frozen=True)
class CheckContext:
    """Who asks, through which channel, under which policy and hash key, since when."""

    client: Caller
    policy: Policy
    hash_key: bytes
    started: float
    channel: str = "api"
    batch_id: str | None = None

    def latency_ms(self) -> float:
        """Milliseconds since the request started, as the record keeps it."""
        return round((time.perf_counter() - self.started) * 1000, 3)


@dataclass(frozen=True)
class CheckResult:
    """A recorded check and the snapshots it used."""

    record: CheckEntry
    snapshots: SnapshotSet


def check_eligibility(
    connection: Connection, context: CheckContext, request: CheckRequest
) -> CheckResult:
    """Decide SPEC §4 for the request and append its record in the caller's unit of work."""
    entry, snapshots = decide_check(connection, context, request)
    return CheckResult(append_record(connection, entry), snapshots)


def decide_check(
    connection: Connection, context: CheckContext, request: CheckRequest
) -> tuple[CheckEntry, SnapshotSet]:
    """Decide SPEC §4 for the request: its record, not yet written, and the snapshots read."""
    facts, snapshots = facts_in_force(connection, request.nik)
    return decided_entry(context, request, facts, snapshots), snapshots


def decided_entry(
    context: CheckContext, request: CheckRequest, facts: Facts, snapshots: SnapshotSet
) -> CheckEntry:
    """The record of the decision SPEC §4 makes for the request on these facts."""
    decision: Decision = decide(facts, context.policy, request.service_date)
    ids = snapshots.ids
    return CheckEntry(
        decided_at=clock.now(),
        nik_hash=nik_hash(context.hash_key, request.nik),
        nik_masked=mask(request.nik),
        facility_code=context.client.facility_code,
        client_id=context.client.id,
        operator_id=request.operator_id,
        channel=context.channel,
        service_date=request.service_date,
        service_type=request.service_type,
        external_ref=request.external_ref,
        name_match=match_name(request.patient_name, facts.person).value,
        birth_date_match=match_birth_date(request.birth_date, facts.person).value,
        decision=decision.outcome.value,
        reasons=[reason.value for reason in decision.reasons],
        coverage=decision.coverage,
        errors=None,
        policy_version=context.policy.version,
        population_snapshot_id=ids["population"],
        jamkesda_snapshot_id=ids["jamkesda"],
        jkn_snapshot_id=ids["jkn"],
        latency_ms=context.latency_ms(),
        batch_id=context.batch_id,
    )


def _text_field(body: Mapping[str, Any], name: str, limit: int) -> str | None:
    """A request field kept on an invalid record: only if it is text, cut to the column size.

    SQLite does not enforce a column's size, so the cut is what bounds the stored text.
    """
    value = body.get(name)
    return storable(value[:limit]) if isinstance(value, str) else None


def record_invalid_request(
    connection: Connection,
    context: CheckContext,
    body: Mapping[str, Any],
    errors: Mapping[str, Any],
) -> CheckEntry:
    """Record a refused request (decision INVALID_REQUEST) so that the attempt is on file too."""
    return append_record(connection, refused_entry(context, body, errors))


def refused_entry(
    context: CheckContext, body: Mapping[str, Any], errors: Mapping[str, Any]
) -> CheckEntry:
    """The record of a refused request: what was asked, as far as it can be kept, and why not."""
    raw_nik = body.get("nik")
    nik = normalise(raw_nik) if isinstance(raw_nik, str) and raw_nik.strip() else None
    # Nothing was compared for a refused request: say only whether a field was given.
    provided = {
        name: Match.NOT_PROVIDED.value if body.get(name) is None else NOT_CHECKED
        for name in ("patient_name", "birth_date")
    }
    service_type = _text_field(body, "service_type", 16)
    return CheckEntry(
        decided_at=clock.now(),
        nik_hash=nik_hash(context.hash_key, nik) if nik else None,
        nik_masked=storable(mask(nik)[:32]) if nik else None,
        facility_code=context.client.facility_code,
        client_id=context.client.id,
        operator_id=_text_field(body, "operator_id", 64),
        channel=context.channel,
        service_date=None,
        service_type=service_type,
        external_ref=_text_field(body, "external_ref", 64),
        name_match=provided["patient_name"],
        birth_date_match=provided["birth_date"],
        decision=Outcome.INVALID_REQUEST.value,
        reasons=[],
        coverage=None,
        # Field names and fixed messages within fixed bounds: never a value the caller
        # sent, and never more than a ledger leaf of 4 KiB can hold (SPEC §13).
        errors=bounded_errors(errors),
        policy_version=context.policy.version,
        population_snapshot_id=None,
        jamkesda_snapshot_id=None,
        jkn_snapshot_id=None,
        latency_ms=context.latency_ms(),
        batch_id=context.batch_id,
    )
