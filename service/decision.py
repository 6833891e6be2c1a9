"""The eligibility decision of SPEC §4: facts + policy + service date in, decision out (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from service.policy import Policy


class Outcome(StrEnum):
    """What the desk is told; the first two mean the patient is covered."""

    ELIGIBLE = "ELIGIBLE"
    COVERED_BY_JKN = "COVERED_BY_JKN"
    NOT_ELIGIBLE = "NOT_ELIGIBLE"
    UNDETERMINED = "UNDETERMINED"
    # Only in the audit log: a request that could not be checked at all.
    INVALID_REQUEST = "INVALID_REQUEST"


class Reason(StrEnum):
    """Stable reason codes, in the order SPEC §4 evaluates them."""

    DECEASED = "DECEASED"
    JKN_ACTIVE = "JKN_ACTIVE"
    NIK_NOT_FOUND = "NIK_NOT_FOUND"
    NOT_RESIDENT = "NOT_RESIDENT"
    RESIDENCY_TOO_SHORT = "RESIDENCY_TOO_SHORT"
    JAMKESDA_NOT_ENROLLED = "JAMKESDA_NOT_ENROLLED"
    JAMKESDA_INACTIVE = "JAMKESDA_INACTIVE"
    DATA_UNAVAILABLE = "DATA_UNAVAILABLE"


@dataclass(frozen=True)
class Person:
    """A person's row in the population snapshot in force."""

    name: str
    birth_date: date
    village_code: str
    domiciled_since: date | None
    status: str  # HIDUP, MATI or PINDAH


@dataclass(frozen=True)
class Membership:
    """A person's row in the Jamkesda membership snapshot in force."""

    status: str  # AKTIF or NONAKTIF
    start: date
    end: date | None
    kelas: str | None


@dataclass(frozen=True)
class Facts:
    """What the data sources say about one NIK; ``*_known`` is False without a snapshot."""

    population_known: bool
    person: Person | None
    jamkesda_known: bool
    membership: Membership | None
    jkn_known: bool
    jkn_active: bool


@dataclass(frozen=True)
class Decision:
    """The outcome, its reasons in evaluation order, and the coverage when eligible."""

    outcome: Outcome
    reasons: tuple[Reason, ...]
    coverage: dict[str, str | None] | None = None

    @property
    def eligible(self) -> bool:
        """True when someone pays for the care: Jamkesda or JKN."""
        return self.outcome in (Outcome.ELIGIBLE, Outcome.COVERED_BY_JKN)


UNDETERMINED = Decision(Outcome.UNDETERMINED, (Reason.DATA_UNAVAILABLE,))


def _residency_failures(person: Person, policy: Policy, service_date: date) -> list[Reason]:
    if person.status == "PINDAH" or not policy.covers_region(person.village_code):
        return [Reason.NOT_RESIDENT]
    if person.domiciled_since is None:
        # A living resident without a domicile date cannot show the minimum stay.
        return [Reason.RESIDENCY_TOO_SHORT]
    if policy.newborn_exempt and person.domiciled_since == person.birth_date:
        return []
    if (service_date - person.domiciled_since).days < policy.min_residency_days:
        return [Reason.RESIDENCY_TOO_SHORT]
    return []


def _membership_failures(membership: Membership | None, service_date: date) -> list[Reason]:
    if membership is None:
        return [Reason.JAMKESDA_NOT_ENROLLED]
    in_period = membership.start <= service_date and (
        membership.end is None or service_date <= membership.end
    )
    if membership.status != "AKTIF" or not in_period:
        return [Reason.JAMKESDA_INACTIVE]
    return []


def decide(facts: Facts, policy: Policy, service_date: date) -> Decision:
    """Apply SPEC §4 in its order. A fact that is unknown never becomes a denial."""
    if not facts.population_known:
        return UNDETERMINED
    person = facts.person
    if person is not None and person.status == "MATI":
        return Decision(Outcome.NOT_ELIGIBLE, (Reason.DECEASED,))
    if facts.jkn_known and facts.jkn_active:
        return Decision(Outcome.COVERED_BY_JKN, (Reason.JKN_ACTIVE,))
    if person is None:
        return Decision(Outcome.NOT_ELIGIBLE, (Reason.NIK_NOT_FOUND,))

    failures = _residency_failures(person, policy, service_date)
    if policy.require_jamkesda_membership:
        if facts.jamkesda_known:
            failures += _membership_failures(facts.membership, service_date)
        elif not failures:
            return UNDETERMINED
    if failures:
        return Decision(Outcome.NOT_ELIGIBLE, tuple(failures))

    membership = facts.membership
    coverage: dict[str, str | None] = {
        "scheme": "JAMKESDA",
        "class": (membership.kelas if membership and membership.kelas else policy.default_class),
        "valid_until": membership.end.isoformat() if membership and membership.end else None,
    }
    return Decision(Outcome.ELIGIBLE, (), coverage)
