"""Find the snapshots an import builds on and write its changes, set-based in SQL."""

from __future__ import annotations

from sqlalchemy import (
    ColumnElement,
    Integer,
    Table,
    delete,
    exists,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from models import Snapshot
from service.imports.diff import ADDED, CHANGED, in_force
from service.imports.sources import NIK_HASH, Source
from service.imports.writer import row_writer
from service.nik import nik_hasher


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


def has_rows_in_force(session: Session, source: Source) -> bool:
    """Whether any stored row of ``source`` is in force."""
    stored, current = in_force(source)
    return session.scalar(select(exists().select_from(stored).where(current))) or False


def delete_skipped(
    session: Session, rows: Table, key: str, skipped: Table, where: ColumnElement[bool] | None
) -> int:
    """Delete the written ``rows`` (those matching ``where``) whose key is skipped; how many."""
    statement = delete(rows).where(rows.c[key].in_(select(skipped.c[key])))
    if where is not None:
        statement = statement.where(where)
    return session.execute(statement).rowcount  # type: ignore[attr-defined, no-any-return]


def hash_new_versions(session: Session, changes: Table, hashes: Table, hash_key: bytes) -> None:
    """Fill the NIK hash of the rows that the snapshot adds or changes, and of those only.

    A re-import mostly leaves rows unchanged: hashing only the versions it writes spares
    hashing and staging every NIK of the file. The hashes are computed in Python (the
    database has no HMAC), copied into ``hashes`` and set on ``changes`` in one UPDATE.
    """
    key = hashes.c.keys()[0]
    written = changes.c.change.in_((ADDED, CHANGED))
    niks = session.scalars(select(changes.c[key]).where(written)).all()
    hashed = nik_hasher(hash_key)
    with row_writer(session, hashes, (key, NIK_HASH)) as write:
        for nik in niks:
            write([nik, hashed(nik)])
    session.execute(
        update(changes)
        .values({NIK_HASH: hashes.c[NIK_HASH]})
        .where(changes.c[key] == hashes.c[key], written)
    )


def write_versions(session: Session, source: Source, changes: Table, snapshot_id: int) -> None:
    """Close the rows in force that the snapshot changes or removes, then add its new versions.

    The rows in force of skipped keys stay open; an unchanged row stays the same version.
    """
    stored = source.table
    # Closed by primary key: the planner then looks each one up, even before statistics
    # on a freshly loaded table say how few the changes are.
    closed = select(changes.c.in_force).where(changes.c.in_force.is_not(None))
    session.execute(
        update(stored).where(stored.c[source.row_id].in_(closed)).values(valid_to=snapshot_id)
    )
    fields = source.stored_fields
    new = select(*(changes.c[name] for name in fields), literal(snapshot_id, Integer))
    new = new.where(changes.c.change.in_((ADDED, CHANGED)))
    session.execute(insert(stored).from_select([*fields, "valid_from"], new))


def write_facilities(session: Session, source: Source, changes: Table, snapshot_id: int) -> None:
    """Upsert facilities by code; rows written point to the import that wrote them."""
    stored = source.table
    key = source.fields[0]
    changed = changes.c.change == CHANGED
    same_key = changes.c[key] == stored.c[key]
    values: dict[str, object] = {
        name: select(changes.c[name]).where(changed, same_key).scalar_subquery()
        for name in source.fields[1:]
    }
    values["snapshot_id"] = snapshot_id
    keys = select(changes.c.in_force).where(changed)
    session.execute(update(stored).where(stored.c[source.row_id].in_(keys)).values(values))
    new = select(*(changes.c[name] for name in source.fields), literal(snapshot_id, Integer))
    new = new.where(changes.c.change == ADDED)
    session.execute(insert(stored).from_select([*source.fields, "snapshot_id"], new))
