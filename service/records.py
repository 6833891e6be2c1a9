"""Data access for check records: append one, find one. Records are never updated or deleted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import CheckRecord
from service.check_ids import new_check_id

# A reference has 55 random bits, so a clash is rare (about 1 in 3·10⁹ checks at ten
# million records) but not impossible; a few fresh draws make it vanish.
MAX_DRAWS = 5
_TABLE = CheckRecord.__table__
_COLUMNS = tuple(column.key for column in _TABLE.columns if column.key != "id")


def _append_statement(insert: Any) -> Any:
    return insert(_TABLE).on_conflict_do_nothing(index_elements=["check_id"]).returning(_TABLE.c.id)


# Built once, the values given as parameters: SQLAlchemy reuses the compiled statement and
# psycopg prepares it on the server after a few uses.
_APPEND = {
    "postgresql": _append_statement(postgresql.insert),
    "sqlite": _append_statement(sqlite.insert),
}


class ReferencesExhausted(RuntimeError):
    """Every drawn reference was taken: something is wrong with the random source."""


def append_record(session: Session, record: CheckRecord) -> CheckRecord:
    """Insert ``record`` under a fresh reference no other record has; the caller commits.

    One statement per draw (``ON CONFLICT DO NOTHING``): a clash costs a retry, never an
    aborted transaction. The record object is returned with its reference and id set.
    """
    statement = _APPEND[session.get_bind().dialect.name]
    values = {name: getattr(record, name) for name in _COLUMNS}
    for _draw in range(MAX_DRAWS):
        values["check_id"] = new_check_id()
        record_id = session.connection().execute(statement, values).scalar()
        if record_id is not None:
            record.id, record.check_id = record_id, values["check_id"]
            return record
    raise ReferencesExhausted(f"{MAX_DRAWS} drawn check references were all taken")


def find_record(session: Session, check_id: str) -> CheckRecord | None:
    """The record with this canonical reference, or None."""
    return session.scalars(select(CheckRecord).where(CheckRecord.check_id == check_id)).first()
