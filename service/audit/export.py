"""The CSV export of a filtered listing: streamed in batches, so any size in constant memory.

Opens in a spreadsheet as is: UTF-8 with a BOM, a header row, CRLF line ends. Text that
desk software typed (operator, external reference) and that a spreadsheet would run as a
formula (``=``, ``+``, ``-``, ``@``) gets a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import tzinfo
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session, sessionmaker

from models import CheckRecord
from service.audit.dialects import (
    POSTGRESQL,
    Column,
    date_text,
    local_time_text,
    reasons_text,
    use_zone_for_text,
)
from service.audit.filters import CheckFilter
from service.audit.records import NEWEST_FIRST
from service.clock import local_iso

BOM = "\ufeff"
BATCH_ROWS = 2000
HEADER = (
    "check_id",
    "decided_at",
    "nik_masked",
    "facility",
    "client_id",
    "operator_id",
    "channel",
    "service_date",
    "service_type",
    "external_ref",
    "decision",
    "reasons",
    "policy_version",
    "population_snapshot_id",
    "jamkesda_snapshot_id",
    "jkn_snapshot_id",
    "latency_ms",
    "batch_id",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_COLUMNS = (
    CheckRecord.check_id,
    CheckRecord.decided_at,
    CheckRecord.nik_masked,
    CheckRecord.facility_code,
    CheckRecord.client_id,
    CheckRecord.operator_id,
    CheckRecord.channel,
    CheckRecord.service_date,
    CheckRecord.service_type,
    CheckRecord.external_ref,
    CheckRecord.decision,
    CheckRecord.reasons,
    CheckRecord.policy_version,
    CheckRecord.population_snapshot_id,
    CheckRecord.jamkesda_snapshot_id,
    CheckRecord.jkn_snapshot_id,
    CheckRecord.latency_ms,
    CheckRecord.batch_id,
)


def _typed_text(value: str | None) -> str | None:
    """Desk-typed text, defused so that a spreadsheet shows it instead of running it."""
    if value and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _typed_text_sql(column: Column[str | None]) -> ColumnElement[str | None]:
    """``_typed_text`` in SQL."""
    return case((func.substr(column, 1, 1).in_(_FORMULA_START), "'" + column), else_=column)


def _line(row: Sequence[Any], zone: tzinfo) -> list[Any]:
    values = list(row)
    values[1] = local_iso(values[1], zone)
    values[5] = _typed_text(values[5])
    values[7] = values[7].isoformat() if values[7] else None
    values[9] = _typed_text(values[9])
    values[11] = ";".join(values[11] or ())
    return values


def _text(rows: Sequence[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def export_statement(check_filter: CheckFilter, dialect: str) -> Select[*tuple[Any, ...]]:
    """The SELECT of every exported column of the filter's records, newest first.

    On PostgreSQL the rows come out as ``_line`` would make them, ready to be written;
    elsewhere ``_line`` formats them.
    """
    columns: tuple[Any, ...] = _COLUMNS
    if dialect == POSTGRESQL:
        columns = (
            CheckRecord.check_id,
            local_time_text(CheckRecord.decided_at),
            *_COLUMNS[2:5],
            _typed_text_sql(CheckRecord.operator_id),
            CheckRecord.channel,
            date_text(CheckRecord.service_date),
            CheckRecord.service_type,
            _typed_text_sql(CheckRecord.external_ref),
            CheckRecord.decision,
            reasons_text(),
            *_COLUMNS[12:],
        )
    return check_filter.apply(select(*columns), dialect).order_by(*NEWEST_FIRST)


def csv_chunks(session: Session, check_filter: CheckFilter, zone: tzinfo) -> Iterator[str]:
    """The CSV text of every record of the filter, newest first, a batch of rows at a time.

    ``yield_per`` reads through a server-side cursor on PostgreSQL: memory holds one batch.
    """
    yield BOM + _text([HEADER])
    dialect = session.get_bind().dialect.name
    formatted = dialect == POSTGRESQL
    if formatted:
        use_zone_for_text(session, zone)
    statement = export_statement(check_filter, dialect)
    # Plain rows (no ORM entities): the export only writes them out.
    result = session.connection().execute(statement.execution_options(yield_per=BATCH_ROWS))
    try:
        for batch in result.partitions():
            yield _text(batch if formatted else [_line(row, zone) for row in batch])
    finally:
        # A dropped download stops here: close the server-side cursor at once.
        result.close()


def csv_export(
    sessions: sessionmaker[Session], check_filter: CheckFilter, zone: tzinfo
) -> Iterator[str]:
    """``csv_chunks`` in a session of its own, closed when the stream ends or is dropped.

    A streamed body outlives its request: the request's session is closed before the
    first row is sent, so the export cannot borrow it.
    """
    with sessions() as session:
        yield from csv_chunks(session, check_filter, zone)
