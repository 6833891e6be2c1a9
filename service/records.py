"""Data access for check records: append one, find one. Records are never updated or deleted."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import CheckRecord
from service.check_ids import new_check_id
from service.prepared import Prepared

# A reference has 55 random bits, so a clash is rare (about 1 in 3·10⁹ checks at ten
# million records) but not impossible; a few fresh draws make it vanish.
MAX_DRAWS = 5
_TABLE = CheckRecord.__table__


@dataclass(frozen=True, slots=True)
class CheckEntry:
    """A check record as it is written: the columns of ``CheckRecord``, without ORM upkeep.

    The check path appends one of these for every request; building it costs a tenth of
    what an ORM object with its attribute events costs. ``id`` and ``check_id`` are set by
    ``append_record``.
    """

    decided_at: datetime
    nik_hash: str | None
    nik_masked: str | None
    facility_code: str | None
    client_id: int
    operator_id: str | None
    channel: str
    service_date: date | None
    service_type: str | None
    external_ref: str | None
    name_match: str
    birth_date_match: str
    decision: str
    reasons: list[str]
    coverage: dict[str, Any] | None
    errors: dict[str, Any] | None
    policy_version: str
    population_snapshot_id: int | None
    jamkesda_snapshot_id: int | None
    jkn_snapshot_id: int | None
    latency_ms: float
    batch_id: str | None = None
    check_id: str = ""
    id: int | None = None


# The columns a record is written with: all but the id.
COLUMNS = tuple(column.key for column in _TABLE.columns if column.key != "id")
_FIELDS = (*COLUMNS, "id")
# The entry mirrors the table: a column added to one and not the other fails at import.
assert set(_FIELDS) == {field.name for field in dataclasses.fields(CheckEntry)}


def column_values(entry: CheckEntry) -> dict[str, Any]:
    """The values an entry is written with, by column (all but the id)."""
    return {name: getattr(entry, name) for name in COLUMNS}


def _append_statement(insert: Any) -> Any:
    return insert(_TABLE).on_conflict_do_nothing(index_elements=["check_id"]).returning(_TABLE.c.id)


# Compiled once per dialect and run on the driver's cursor (``service.prepared``); psycopg
# prepares it on the server after a few uses.
_APPEND = {
    "postgresql": Prepared(_append_statement(postgresql.insert), *COLUMNS),
    "sqlite": Prepared(_append_statement(sqlite.insert), *COLUMNS),
}


class ReferencesExhausted(RuntimeError):
    """Every drawn reference was taken: something is wrong with the random source."""


def append_record(database: Session | Connection, entry: CheckEntry) -> CheckEntry:
    """Insert ``entry`` under a fresh reference no other record has; the caller commits.

    One statement per draw (``ON CONFLICT DO NOTHING``): a clash costs a retry, never an
    aborted transaction. Returns the entry with its reference and id set.
    """
    connection = database if isinstance(database, Connection) else database.connection()
    statement = _APPEND[connection.dialect.name]
    values = column_values(entry)
    for _draw in range(MAX_DRAWS):
        values["check_id"] = new_check_id()
        appended = statement.first(connection, values)
        if appended is not None:
            return dataclasses.replace(entry, id=appended["id"], check_id=values["check_id"])
    raise ReferencesExhausted(f"{MAX_DRAWS} drawn check references were all taken")


def append_records(connection: Connection, entries: Sequence[CheckEntry]) -> list[CheckEntry]:
    """Insert every entry under a fresh reference, in one round trip; the caller commits.

    A batch's records go out together (``Prepared.first_of_each``) instead of one round
    trip each. Rows whose drawn reference was taken come back without an id and are drawn
    again, as in ``append_record``. Returns the entries in their order, references and ids set.
    """
    statement = _APPEND[connection.dialect.name]
    appended: dict[int, CheckEntry] = {}
    waiting = list(range(len(entries)))
    for _draw in range(MAX_DRAWS):
        drawn = [(position, new_check_id()) for position in waiting]
        rows = [
            {**column_values(entries[position]), "check_id": check_id}
            for position, check_id in drawn
        ]
        waiting = []
        for (position, check_id), row in zip(
            drawn, statement.first_of_each(connection, rows), strict=True
        ):
            if row is None:
                waiting.append(position)
            else:
                appended[position] = dataclasses.replace(
                    entries[position], id=row["id"], check_id=check_id
                )
        if not waiting:
            return [appended[position] for position in range(len(entries))]
    raise ReferencesExhausted(f"{MAX_DRAWS} drawn check references were all taken")


def entry_of(row: Mapping[Any, Any]) -> CheckEntry:
    """The entry of a row holding every column of ``check_records`` (and maybe more)."""
    return CheckEntry(**{name: row[name] for name in _FIELDS})


def find_record(session: Session, check_id: str) -> CheckRecord | None:
    """The record with this canonical reference, or None."""
    return session.scalars(select(CheckRecord).where(CheckRecord.check_id == check_id)).first()
