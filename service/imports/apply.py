"""Read the rows in force and write a snapshot's changes, in bulk (one statement per kind)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from models import Facility, Snapshot
from service.imports.diff import Diff
from service.imports.sources import Record, Source


def identical_snapshot(session: Session, source: Source, sha256: str) -> int | None:
    """The earliest snapshot of ``source`` imported from a file with these exact bytes."""
    return session.scalar(
        select(Snapshot.id)
        .where(Snapshot.source == source.name, Snapshot.sha256 == sha256)
        .order_by(Snapshot.id)
        .limit(1)
    )


def snapshot_in_force(session: Session, source: Source) -> Snapshot | None:
    """The snapshot of ``source`` in force: the last one imported that came into force."""
    return session.scalar(
        select(Snapshot)
        .where(Snapshot.source == source.name, Snapshot.came_into_force.is_(True))
        .order_by(Snapshot.id.desc())
        .limit(1)
    )


def current_rows(session: Session, source: Source) -> dict[str, tuple[Any, Record]]:
    """The rows in force of ``source`` in one query: key → (primary key, stored values).

    For a full snapshot these are the versions not yet closed (``valid_to`` NULL): they are
    exactly the facts at the snapshot in force, since history-only rows are always closed.
    """
    model = source.model
    columns = [getattr(model, name) for name in source.fields]
    if source.full_snapshot:
        # Every versioned table has these columns; the declarative base does not declare them.
        row_id, valid_to = getattr(model, "id"), getattr(model, "valid_to")  # noqa: B009
        query = select(row_id, *columns).where(valid_to.is_(None))
    else:
        query = select(Facility.code, *columns)
    rows: dict[str, tuple[Any, Record]] = {}
    for row_id, *values in session.execute(query):
        record = dict(zip(source.fields, values, strict=True))
        rows[str(record[source.fields[0]])] = (row_id, record)
    return rows


def write_versions(
    session: Session,
    source: Source,
    snapshot_id: int,
    changes: Diff[int],
    incoming: dict[str, Record],
    in_force: bool,
) -> None:
    """Store a full snapshot's row versions: close what it changes or removes, add the new.

    A snapshot that does not come into force only stores its own rows, each in the empty
    interval ``valid_from = valid_to = snapshot_id``, and closes nothing.
    """
    model = source.model
    if not in_force:
        rows = [
            {**record, "valid_from": snapshot_id, "valid_to": snapshot_id}
            for record in incoming.values()
        ]
        session.execute(insert(model), rows)
        return
    closed = [row_id for row_id, _record in changes.changed] + changes.removed
    if closed:
        session.execute(
            update(model), [{"id": row_id, "valid_to": snapshot_id} for row_id in closed]
        )
    new = changes.added + [record for _row_id, record in changes.changed]
    if new:
        session.execute(
            insert(model),
            [{**record, "valid_from": snapshot_id, "valid_to": None} for record in new],
        )


def write_facilities(session: Session, snapshot_id: int, changes: Diff[str]) -> None:
    """Upsert facilities by code; rows written point to the import that wrote them."""
    if changes.added:
        session.execute(
            insert(Facility),
            [{**record, "snapshot_id": snapshot_id} for record in changes.added],
        )
    if changes.changed:
        session.execute(
            update(Facility),
            [{**record, "snapshot_id": snapshot_id} for _code, record in changes.changed],
        )
