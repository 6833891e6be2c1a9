"""The audit queries' only dialect-specific SQL: reasons inside the JSON list, and WITA days.

Records keep ``reasons`` as a JSON list of codes. PostgreSQL reads it as ``jsonb``
(containment, ``json_array_elements_text``), SQLite with ``json_each``. A day is the
date on the policy's clock: PostgreSQL converts with the zone's rules, SQLite (the
embedded demo database) adds the zone's current UTC offset, exact for WITA, which has
had no daylight saving time since 1932.
"""

from __future__ import annotations

from datetime import tzinfo

from sqlalchemy import ColumnElement, FromClause, cast, exists, func, select
from sqlalchemy.dialects.postgresql import JSONB

from models import CheckRecord
from service import clock

POSTGRESQL = "postgresql"


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
