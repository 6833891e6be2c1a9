"""Denial rates per facility and day, from the rows of ``service.audit.stats`` (pure).

The rows come grouped by facility, day and decision. A tally adds them up again per
facility and day, and per facility over the whole period. The denial rate keeps the
audit API's definition: NOT_ELIGIBLE decisions divided by the records that decided
something, so refused requests (INVALID_REQUEST: a mistyped NIK) count in neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass
class Tally:
    """The records of one group by decision, and the counts of its denial rate."""

    by_decision: dict[str, int] = field(default_factory=dict)
    decided: int = 0
    not_eligible: int = 0

    def add(self, row: Mapping[str, Any]) -> None:
        """Count one row of ``check_stats`` (grouped by decision) in this tally."""
        decision = str(row["decision"])
        self.by_decision[decision] = self.by_decision.get(decision, 0) + int(row["count"])
        self.decided += int(row["decided"])
        self.not_eligible += int(row["not_eligible"])

    @property
    def total(self) -> int:
        """Every record, refused requests included."""
        return sum(self.by_decision.values())

    @property
    def rate(self) -> float | None:
        """NOT_ELIGIBLE / decided, or None when nothing was decided."""
        return self.not_eligible / self.decided if self.decided else None


@dataclass
class FacilityStats:
    """One facility's tallies: per WITA day with records, and over the period."""

    code: str | None
    name: str
    days: dict[date, Tally] = field(default_factory=dict)
    period: Tally = field(default_factory=Tally)


def facility_stats(
    rows: Iterable[Mapping[str, Any]], names: Mapping[str, str]
) -> list[FacilityStats]:
    """Rows grouped by facility, day and decision, as tallies per facility in name order.

    ``names`` maps facility codes to names; a code without a name is shown as the code.
    """
    found: dict[str | None, FacilityStats] = {}
    for row in rows:
        code = row["facility"]
        facility = found.get(code)
        if facility is None:
            name = names.get(code, code) if code is not None else "(tanpa fasilitas)"
            facility = found[code] = FacilityStats(code, name)
        day = date.fromisoformat(str(row["day"]))
        facility.days.setdefault(day, Tally()).add(row)
        facility.period.add(row)
    for facility in found.values():
        facility.days = dict(sorted(facility.days.items()))
    return sorted(found.values(), key=lambda facility: (facility.name, facility.code or ""))


def overall(facilities: Iterable[FacilityStats]) -> Tally:
    """Every facility's period together."""
    total = Tally()
    for facility in facilities:
        for decision, count in facility.period.by_decision.items():
            total.by_decision[decision] = total.by_decision.get(decision, 0) + count
        total.decided += facility.period.decided
        total.not_eligible += facility.period.not_eligible
    return total
