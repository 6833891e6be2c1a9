"""Data access for remembered answers: find one, remember one (with its record), purge."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from models import CheckRecord, RememberedAnswer
from service.answers import Answer, Decided
from service.check_ids import new_check_id
from service.prepared import Prepared
from service.records import COLUMNS, MAX_DRAWS, ReferencesExhausted, column_values

LIFETIME = timedelta(hours=24)
PURGE_CHUNK = 1000
_TABLE = RememberedAnswer.__table__
_RECORDS = CheckRecord.__table__
_KEPT = ("operation", "fingerprint", "status", "media_type", "location", "body")
_ROW = ("client_id", "key", *_KEPT, "created_at")
_TAKEN_REFERENCE = "uq_check_records_check_id"


@dataclass(frozen=True)
class KeyUse:
    """A request with an Idempotency-Key: whose key, for which door, which body, when."""

    client_id: int
    key: str
    operation: str
    fingerprint: str
    at: datetime

    @property
    def cutoff(self) -> datetime:
        """Answers remembered at or before this instant are forgotten."""
        return self.at - LIFETIME


@dataclass(frozen=True)
class Remembered:
    """A first answer as it was kept: for which operation and body, and what it said."""

    operation: str
    fingerprint: str
    status: int
    media_type: str
    location: str | None
    body: str


_FIND = Prepared(
    select(*(_TABLE.c[name] for name in _KEPT)).where(
        _TABLE.c.client_id == bindparam("client_id"),
        _TABLE.c.key == bindparam("key"),
        _TABLE.c.created_at > bindparam("cutoff"),
    ),
    "client_id",
    "key",
    "cutoff",
)


def _remember_statement(dialect_insert: Any) -> Any:
    """Insert a first answer, or take the place of an expired one; a live one stays."""
    statement = dialect_insert(_TABLE).values({name: bindparam(name) for name in _ROW})
    return statement.on_conflict_do_update(
        index_elements=["client_id", "key"],
        set_={name: statement.excluded[name] for name in (*_KEPT, "created_at")},
        where=_TABLE.c.created_at <= bindparam("cutoff"),
    ).returning(_TABLE.c.id)


def _remember_with_record_statement() -> Any:
    """PostgreSQL: remember an answer and write its check record in one statement.

    The record is inserted from the remembered row, so it exists only when the answer
    was remembered: one statement, committed on its own, no transaction to begin. A
    concurrent request that remembered the key first makes it wait for that commit and
    then insert neither. A reference already taken makes it fail whole.
    """
    kept = _remember_statement(postgresql.insert).cte("kept")
    values = select(
        *(bindparam(f"record_{name}", type_=_RECORDS.c[name].type) for name in COLUMNS)
    ).select_from(kept)
    record = insert(CheckRecord).from_select(list(COLUMNS), values).returning(CheckRecord.id)
    written = record.cte("written")
    return select(
        select(kept.c.id).scalar_subquery().label("kept_id"),
        select(written.c.id).scalar_subquery().label("record_id"),
    )


_REMEMBER = {
    "postgresql": Prepared(_remember_statement(postgresql.insert), *_ROW, "cutoff"),
    "sqlite": Prepared(_remember_statement(sqlite.insert), *_ROW, "cutoff"),
}
_REMEMBER_WITH_RECORD = Prepared(
    _remember_with_record_statement(),
    *_ROW,
    "cutoff",
    *(f"record_{name}" for name in COLUMNS),
)


def find_answer(connection: Connection, use: KeyUse) -> Remembered | None:
    """The answer remembered for the client's key in the last 24 hours, if any."""
    row = _FIND.first(
        connection, {"client_id": use.client_id, "key": use.key, "cutoff": use.cutoff}
    )
    return None if row is None else Remembered(**row)


def _kept_values(use: KeyUse, answer: Answer) -> dict[str, Any]:
    """The columns of a remembered answer; a FHIR answer keeps its text without the NIK."""
    return {
        "client_id": use.client_id,
        "key": use.key,
        "operation": use.operation,
        "fingerprint": use.fingerprint,
        "status": answer.status,
        "media_type": answer.media_type,
        "location": answer.location,
        "body": answer.body if answer.kept is None else answer.kept,
        "created_at": use.at,
        "cutoff": use.cutoff,
    }


def remember_answer(connection: Connection, use: KeyUse, answer: Answer) -> bool:
    """Keep the first answer to the client's key; False when a live one is there already.

    On PostgreSQL a concurrent transaction that remembered the same key first makes this
    statement wait until it commits (then False) or rolls back (then True).
    """
    statement = _REMEMBER[connection.dialect.name]
    return statement.first(connection, _kept_values(use, answer)) is not None


def record_remembering(connection: Connection, use: KeyUse, decided: Decided) -> Answer | None:
    """PostgreSQL: write a decided check and remember its answer in one statement.

    Returns the answer, or None when a concurrent request remembered the key first (then
    nothing was written). A drawn reference already taken is drawn again, as
    ``records.append_record`` does.
    """
    for _draw in range(MAX_DRAWS):
        entry = dataclasses.replace(decided.entry, check_id=new_check_id())
        answer = decided.answer(entry)
        record = {f"record_{name}": value for name, value in column_values(entry).items()}
        try:
            row = _REMEMBER_WITH_RECORD.first(connection, {**_kept_values(use, answer), **record})
        except IntegrityError as error:
            if getattr(getattr(error.orig, "diag", None), "constraint_name", None) != (
                _TAKEN_REFERENCE
            ):
                raise
            continue
        return None if row is None or row["kept_id"] is None else answer
    raise ReferencesExhausted(f"{MAX_DRAWS} drawn check references were all taken")


def purge_expired(connection: Connection, now: datetime) -> int:
    """Delete up to ``PURGE_CHUNK`` answers older than 24 hours; how many went."""
    expired = select(_TABLE.c.id).where(_TABLE.c.created_at <= now - LIFETIME).limit(PURGE_CHUNK)
    deleted = connection.execute(delete(RememberedAnswer).where(RememberedAnswer.id.in_(expired)))
    return deleted.rowcount
