"""The replay use-case (SPEC §4, §5): re-derive a recorded decision, as then and as now.

"As then" reads exactly the snapshots the record names, under the policy version it
names, for its service date: SPEC §2.4 promises that this gives the recorded decision
again. "As now" reads the snapshots in force today, under the policy configured today,
for the same request, so an auditor sees whether the answer would differ today.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from models import CheckRecord
from service import clock
from service.audit.nik_recovery import recover_nik
from service.decision import Decision, Facts, Outcome, Reason, decide
from service.facts import SnapshotSet, load_facts, snapshots_by_id, snapshots_in_force
from service.policy import Policy, bundled_policies
from service.records import find_record
from service.registry_key import rotated_at


class NotReplayable(Exception):
    """The record decided nothing (a refused request), so there is nothing to re-derive."""


class HashedUnderEarlierKey(Exception):
    """The record's NIK hash was made under a key the registry has since been rehashed from.

    Its person cannot be looked up any more; taking them for a person in no import would
    be a false ``NIK_NOT_FOUND``, so the record is not replayed.
    """

    def __init__(self, rotated_at: datetime) -> None:
        super().__init__(rotated_at.isoformat())
        self.rotated_at = rotated_at


class PolicyUnavailable(Exception):
    """The record names a policy version that is neither configured nor bundled."""

    def __init__(self, version: str) -> None:
        super().__init__(version)
        self.version = version


@dataclass(frozen=True)
class Replay:
    """A record's decision, and the decisions its request gets from the data then and now."""

    recorded: Decision
    as_of_then: Decision
    as_of_now: Decision

    @property
    def same_as_recorded(self) -> bool:
        """Whether the data and policy the record names still give its decision and reasons."""
        return (self.as_of_then.outcome, self.as_of_then.reasons) == (
            self.recorded.outcome,
            self.recorded.reasons,
        )


def policy_of(version: str, configured: Policy) -> Policy:
    """The policy a record names: the configured one when its version matches, else bundled."""
    # The configured file wins over a bundled file of the same version: it is the text the
    # service actually decided with, whereas the bundled copy is only the product default.
    if version == configured.version:
        return configured
    policy = bundled_policies().get(version)
    if policy is None:
        raise PolicyUnavailable(version)
    return policy


def absent_facts(snapshots: SnapshotSet) -> Facts:
    """The facts of a NIK that none of the snapshots holds: known sources, nobody in them."""
    return Facts(
        population_known=snapshots.population is not None,
        person=None,
        jamkesda_known=snapshots.jamkesda is not None,
        membership=None,
        jkn_known=snapshots.jkn is not None,
        jkn_active=False,
    )


def recorded_decision(record: CheckRecord) -> Decision:
    """The decision and reasons as the record keeps them."""
    return Decision(
        Outcome(record.decision), tuple(Reason(code) for code in record.reasons), record.coverage
    )


def _decision(
    session: Session, nik: str | None, snapshots: SnapshotSet, policy: Policy, service_date: date
) -> Decision:
    """The pure decision on what ``snapshots`` say about ``nik`` (None: in no import ever)."""
    facts = absent_facts(snapshots) if nik is None else load_facts(session, nik, snapshots)
    return decide(facts, policy, service_date)


def replay_check(
    session: Session, check_id: str, configured: Policy, hash_key: bytes
) -> Replay | None:
    """Replay the record with this canonical reference; None when there is no such record.

    Raises ``NotReplayable`` for a refused request, ``PolicyUnavailable`` when the
    record's policy version is no longer to be found, and ``RehashNeeded`` when the
    registry's NIK hashes are under another key than ``hash_key`` (the person cannot be
    looked up, which must not pass for a person in no import). ``HashedUnderEarlierKey``
    answers a record made before the last key change whose person is not found: its hash
    is under the earlier key, so "not found" would say nothing.
    """
    record = find_record(session, check_id)
    if record is None:
        return None
    service_date = record.service_date
    if record.decision == Outcome.INVALID_REQUEST.value or service_date is None:
        raise NotReplayable(check_id)
    policy_then = policy_of(record.policy_version, configured)
    nik = recover_nik(session, record.nik_hash, hash_key)
    if nik is None and record.nik_hash is not None:
        rotated = rotated_at(session)
        if rotated is not None and clock.aware(record.decided_at) < clock.aware(rotated):
            raise HashedUnderEarlierKey(clock.aware(rotated))
    then = snapshots_by_id(
        session,
        (record.population_snapshot_id, record.jamkesda_snapshot_id, record.jkn_snapshot_id),
    )
    return Replay(
        recorded=recorded_decision(record),
        as_of_then=_decision(session, nik, then, policy_then, service_date),
        as_of_now=_decision(session, nik, snapshots_in_force(session), configured, service_date),
    )
