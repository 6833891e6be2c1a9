"""What an auditor filters check records by, and the SQL conditions it becomes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Select

from models import CheckRecord
from service.audit.dialects import has_reason
from service.nik import nik_hash

ONE_MICROSECOND = timedelta(microseconds=1)
# A date at the very edge of the calendar (0001-01-01, 9999-12-31) has no instant on the
# other side of the time zone's offset or of its day's end.
OUT_OF_RANGE = "Tanggal di luar rentang yang dapat dicari."
Columns = TypeVarTuple("Columns")


class InvalidFilter(ValueError):
    """Filter values that cannot be combined; ``errors`` maps parameters to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("invalid audit filter")
        self.errors = errors


@dataclass(frozen=True)
class CheckFilter:
    """Conditions on check records; all given ones must hold. Instants are in UTC.

    The NIK is kept only as its keyed hash, the form records are searched by.
    """

    nik_hash: str | None = None
    facility: str | None = None
    client_id: int | None = None
    operator: str | None = None
    decision: str | None = None
    reason: str | None = None
    batch_id: str | None = None
    start: datetime | None = None  # decided at or after
    end: datetime | None = None  # decided before

    def conditions(self, dialect: str) -> list[ColumnElement[bool]]:
        """The WHERE conditions of this filter on ``check_records``."""
        record = CheckRecord
        equal: list[tuple[Any, Any]] = [
            (record.nik_hash, self.nik_hash),
            (record.facility_code, self.facility),
            (record.client_id, self.client_id),
            (record.operator_id, self.operator),
            (record.decision, self.decision),
            (record.batch_id, self.batch_id),
        ]
        found = [column == value for column, value in equal if value is not None]
        if self.reason is not None:
            found.append(has_reason(dialect, self.reason))
        if self.start is not None:
            found.append(record.decided_at >= self.start)
        if self.end is not None:
            found.append(record.decided_at < self.end)
        return found

    def apply(self, statement: Select[*Columns], dialect: str) -> Select[*Columns]:
        """``statement`` limited to the records this filter selects."""
        return statement.where(*self.conditions(dialect))


def _start_of(value: date | datetime, zone: tzinfo) -> datetime:
    """The first instant a ``from`` value covers: a date is its whole day in ``zone``."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    return datetime.combine(value, time.min, tzinfo=zone)


def _end_of(value: date | datetime, zone: tzinfo) -> datetime:
    """The instant just after a ``to`` value: ``to`` is inclusive, a date to its day's end."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=zone)) + ONE_MICROSECOND
    return datetime.combine(value + timedelta(days=1), time.min, tzinfo=zone)


def check_filter(query: Mapping[str, Any], zone: tzinfo, hash_key: bytes) -> CheckFilter:
    """The filter of validated query parameters (``from_``/``to`` read on ``zone``'s clock).

    ``query["nik"]`` is a normalised, structurally valid NIK; only its hash is kept.
    """
    try:
        start = _start_of(query["from_"], zone).astimezone(UTC) if query.get("from_") else None
    except OverflowError as overflow:
        raise InvalidFilter({"from": [OUT_OF_RANGE]}) from overflow
    try:
        end = _end_of(query["to"], zone).astimezone(UTC) if query.get("to") else None
    except OverflowError as overflow:
        raise InvalidFilter({"to": [OUT_OF_RANGE]}) from overflow
    if start is not None and end is not None and start >= end:
        raise InvalidFilter({"from": ["'from' harus sebelum atau sama dengan 'to'."]})
    nik = query.get("nik")
    return CheckFilter(
        nik_hash=nik_hash(hash_key, nik) if nik else None,
        facility=query.get("facility"),
        client_id=query.get("client"),
        operator=query.get("operator"),
        decision=query.get("decision"),
        reason=query.get("reason"),
        batch_id=query.get("batch"),
        start=start,
        end=end,
    )
