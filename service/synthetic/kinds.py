"""The kinds of person the demo shows, and the answer the bundled policy gives each."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from service.decision import Outcome, Reason


class Kind(StrEnum):
    """A kind of person the demo shows, each with the answer the bundled policy gives."""

    ELIGIBLE = "eligible"
    JKN = "jkn"
    DECEASED = "deceased"
    MOVED_OUT = "moved-out"
    LIVES_OUTSIDE = "lives-outside"
    RECENT_MOVER = "recent-mover"
    NEWBORN = "newborn"
    LAPSED = "lapsed"
    NOT_YET_STARTED = "not-yet-started"
    NOT_ENROLLED = "not-enrolled"
    NIK_FROM_ELSEWHERE = "nik-from-elsewhere"
    UNKNOWN_NIK = "unknown-nik"

    @property
    def label(self) -> str:
        """What is special about this person, in a few words."""
        return _LABELS[self]


_LABELS = {
    Kind.ELIGIBLE: "resident with an active Jamkesda membership",
    Kind.JKN: "resident with an active JKN (BPJS) card",
    Kind.DECEASED: "deceased (STATUS MATI)",
    Kind.MOVED_OUT: "moved out of Kukar (STATUS PINDAH)",
    Kind.LIVES_OUTSIDE: "domiciled in Samarinda, outside Kukar",
    Kind.RECENT_MOVER: "moved to Kukar 30 days ago",
    Kind.NEWBORN: "newborn, 3 weeks old, domiciled since birth",
    Kind.LAPSED: "Jamkesda membership ended (TGL_AKHIR passed)",
    Kind.NOT_YET_STARTED: "Jamkesda membership starts in 30 days",
    Kind.NOT_ENROLLED: "resident not enrolled in Jamkesda",
    Kind.NIK_FROM_ELSEWHERE: "NIK issued in Samarinda (6472), lives in Kukar",
    Kind.UNKNOWN_NIK: "valid NIK that is not in the registry",
}
_NOT_ELIGIBLE = Outcome.NOT_ELIGIBLE
EXPECTED: dict[Kind, tuple[Outcome, tuple[Reason, ...]]] = {
    Kind.ELIGIBLE: (Outcome.ELIGIBLE, ()),
    Kind.JKN: (Outcome.COVERED_BY_JKN, (Reason.JKN_ACTIVE,)),
    Kind.DECEASED: (_NOT_ELIGIBLE, (Reason.DECEASED,)),
    Kind.MOVED_OUT: (_NOT_ELIGIBLE, (Reason.NOT_RESIDENT,)),
    Kind.LIVES_OUTSIDE: (_NOT_ELIGIBLE, (Reason.NOT_RESIDENT,)),
    Kind.RECENT_MOVER: (_NOT_ELIGIBLE, (Reason.RESIDENCY_TOO_SHORT,)),
    Kind.NEWBORN: (Outcome.ELIGIBLE, ()),
    Kind.LAPSED: (_NOT_ELIGIBLE, (Reason.JAMKESDA_INACTIVE,)),
    Kind.NOT_YET_STARTED: (_NOT_ELIGIBLE, (Reason.JAMKESDA_INACTIVE,)),
    Kind.NOT_ENROLLED: (_NOT_ELIGIBLE, (Reason.JAMKESDA_NOT_ENROLLED,)),
    Kind.NIK_FROM_ELSEWHERE: (Outcome.ELIGIBLE, ()),
    Kind.UNKNOWN_NIK: (_NOT_ELIGIBLE, (Reason.NIK_NOT_FOUND,)),
}


@dataclass(frozen=True)
class Example:
    """One person of a kind, and what a check on ``Dataset.today`` should answer."""

    kind: Kind
    nik: str
    outcome: Outcome
    reasons: tuple[Reason, ...]
