"""Data access for remembered answers: find one, remember one, purge the expired."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from models import RememberedAnswer
from service.prepared import Prepared

LIFETIME = timedelta(hours=24)
PURGE_CHUNK = 1000
_TABLE = RememberedAnswer.__table__
_KEPT = ("operation", "fingerprint", "status", "media_type", "location", "body")


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


def _remember_statement(insert: Any) -> Any:
    """Insert a first answer, or take the place of an expired one; a live one stays."""
    statement = insert(_TABLE)
    return statement.on_conflict_do_update(
        index_elements=["client_id", "key"],
        set_={name: statement.excluded[name] for name in (*_KEPT, "created_at")},
        where=_TABLE.c.created_at <= bindparam("cutoff"),
    ).returning(_TABLE.c.id)


_ROW = ("client_id", "key", *_KEPT, "created_at")
_REMEMBER = {
    "postgresql": Prepared(_remember_statement(postgresql.insert), *_ROW, "cutoff"),
    "sqlite": Prepared(_remember_statement(sqlite.insert), *_ROW, "cutoff"),
}


def find_answer(
    connection: Connection, client_id: int, key: str, now: datetime
) -> Remembered | None:
    """The answer remembered for the client's key in the last 24 hours, if any."""
    row = _FIND.first(connection, {"client_id": client_id, "key": key, "cutoff": now - LIFETIME})
    return None if row is None else Remembered(**row)


def remember_answer(
    connection: Connection, client_id: int, key: str, answer: Remembered, now: datetime
) -> bool:
    """Keep the first answer to the client's key; False when a live one is there already.

    On PostgreSQL a concurrent transaction that remembered the same key first makes this
    statement wait until it commits (then False) or rolls back (then True).
    """
    values = {
        "client_id": client_id,
        "key": key,
        **{name: getattr(answer, name) for name in _KEPT},
        "created_at": now,
        "cutoff": now - LIFETIME,
    }
    return _REMEMBER[connection.dialect.name].first(connection, values) is not None


def purge_expired(connection: Connection, now: datetime) -> int:
    """Delete up to ``PURGE_CHUNK`` answers older than 24 hours; how many went."""
    expired = select(_TABLE.c.id).where(_TABLE.c.created_at <= now - LIFETIME).limit(PURGE_CHUNK)
    deleted = connection.execute(delete(RememberedAnswer).where(RememberedAnswer.id.in_(expired)))
    return deleted.rowcount
