"""The audit queries' only dialect-specific SQL: reasons inside the JSON list, WITA days, and
the export's values as text.

Records keep ``reasons`` as a JSON list of codes. PostgreSQL reads it as ``jsonb``
(containment, ``json_array_elements_text``), SQLite with ``json_each``. A day is the
date on the policy's clock: PostgreSQL converts with the zone's rules, SQLite (the
embedded demo database) adds the zone's current UTC offset, exact for WITA, which has
had no daylight saving time since 1932.

On PostgreSQL the CSV export has the database write its dates, times and reason lists as
text: formatting them in Python was most of the export's time per row.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any, TypeAlias, TypeVar

from sqlalchemy import ColumnElement, FromClause, Text, cast, exists, func, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import InstrumentedAttribute, Session

from models import CheckRecord
from service import clock

POSTGRESQL = "postgresql"
Value = TypeVar("Value")
# A column of a model or an expression.
Column: TypeAlias = ColumnElement[Value] | InstrumentedAttribute[Value]


def has_reason(dialect: str, code: str) -> ColumnElement[bool]:
    """True for a record whose reasons include ``code``."""
    if dialect == POSTGRESQL:
        return cast(CheckRecord.reasons, JSONB).contains([code])
    elements = func.json_each(CheckRecord.reasons).table_valued("value")
    return exists(select(elements.c.value).where(elements.c.value == code))


def reason_elements(dialect: str) -> FromClause:
    """One row per reason code of each record (column ``value``), to join as a lateral."""
    if dialect == POSTGRESQL:
        return (
            func.json_array_elements_text(CheckRecord.reasons)
            .table_valued("value")
            .lateral("reason")
        )
    # SQLite lets a table-valued function in a join read the tables before it.
    return func.json_each(CheckRecord.reasons).table_valued("value").alias("reason")


def local_day(dialect: str, zone: tzinfo) -> ColumnElement[str]:
    """``YYYY-MM-DD`` of the record's ``decided_at`` on the zone's clock."""
    if dialect == POSTGRESQL:
        return func.to_char(func.timezone(str(zone), CheckRecord.decided_at), "YYYY-MM-DD")
    offset = clock.now().astimezone(zone).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    return func.strftime("%Y-%m-%d", CheckRecord.decided_at, f"{minutes:+d} minutes")


def use_zone_for_text(session: Session, zone: tzinfo) -> None:
    """Let ``local_time_text`` write times on the zone's clock until the transaction ends."""
    session.execute(text("SELECT set_config('TimeZone', :zone, true)"), {"zone": str(zone)})


def local_time_text(column: Column[Any]) -> ColumnElement[str]:
    """A timestamp as ISO 8601 to the second with its offset, on the session's clock.

    The same text as ``service.clock.local_iso`` once ``use_zone_for_text`` has set the
    clock (PostgreSQL only).
    """
    return func.to_char(column, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM')


def date_text(column: Column[Any]) -> ColumnElement[str]:
    """A date as ``YYYY-MM-DD`` (PostgreSQL only)."""
    return func.to_char(column, "YYYY-MM-DD")


def reasons_text() -> ColumnElement[str]:
    """The record's reason codes joined by semicolons, in their order (PostgreSQL only).

    ``reasons`` is stored as the JSON text of a list of codes (``["A", "B"]``), and codes are
    capital letters and underscores (``service.decision.Reason``): dropping the brackets,
    quotes and spaces and turning commas into semicolons leaves exactly ``A;B``. That is
    a few times cheaper than expanding the list row by row.
    """
    listed = func.translate(cast(CheckRecord.reasons, Text), '[]" ', "")
    return func.replace(listed, ",", ";")
