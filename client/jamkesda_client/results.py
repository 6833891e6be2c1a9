"""What the service answers, as frozen objects (read from its JSON by ``answers``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Union


@dataclass(frozen=True)
class Reason:
    """Why a decision is what it is: a stable code and the clerk's Indonesian message."""

    code: str
    message: str


@dataclass(frozen=True)
class Coverage:
    """Who pays: the scheme, the care class and the last covered day (None: open-ended)."""

    scheme: str
    class_: str | None
    valid_until: date | None


@dataclass(frozen=True)
class IdentityMatch:
    """The optional identity fields against the registry: MATCH, MISMATCH or NOT_PROVIDED."""

    name: str
    birth_date: str


@dataclass(frozen=True)
class DataAsOf:
    """The as-of date of each data source the decision used (None: not imported)."""

    population: date | None
    jamkesda: date | None
    jkn: date | None


@dataclass(frozen=True)
class Dispute:
    """How the patient objects, citing the check's reference."""

    reference: str
    message: str


@dataclass(frozen=True)
class CheckResult:
    """One recorded check, as ``POST /v1/checks`` or ``GET /v1/checks/{id}`` answered it.

    ``replayed`` is true when the service answered a repeated ``Idempotency-Key`` with the
    answer it recorded the first time (``Idempotent-Replayed: true``): no second record.
    """

    check_id: str
    decided_at: datetime
    nik_masked: str | None
    decision: str
    eligible: bool
    reasons: tuple[Reason, ...]
    coverage: Coverage | None
    identity_match: IdentityMatch | None
    policy_version: str
    data_as_of: DataAsOf
    dispute: Dispute | None
    emergency_notice: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)
    replayed: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class BatchProblem:
    """A batch item the service refused (422): recorded as an invalid request."""

    index: int
    status: int
    code: str | None
    detail: str
    errors: dict[str, list[str]]
    check_id: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)


BatchItem = Union[CheckResult, BatchProblem]


@dataclass(frozen=True)
class BatchResult:
    """A batch's answer: its id and one result per item, in the order of the request."""

    batch_id: str
    results: tuple[BatchItem, ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False)
    replayed: bool = field(default=False, compare=False)

    @property
    def checks(self) -> tuple[CheckResult, ...]:
        """The items that were decided."""
        return tuple(item for item in self.results if isinstance(item, CheckResult))

    @property
    def problems(self) -> tuple[BatchProblem, ...]:
        """The items that were refused."""
        return tuple(item for item in self.results if isinstance(item, BatchProblem))


@dataclass(frozen=True)
class Verdict:
    """One part of a replay: a decision and its reasons."""

    decision: str
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class Replay:
    """A recorded decision beside the same request decided on the data then and now."""

    recorded: Verdict
    as_of_then: Verdict
    as_of_now: Verdict
    same_as_recorded: bool
    raw: Mapping[str, Any] = field(repr=False, compare=False)
