"""A first load into an empty table: on PostgreSQL its keys and indexes are built afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Table, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex


@contextmanager
def keys_built_after(session: Session, table: Table) -> Iterator[bool]:
    """While the block fills ``table``, drop its foreign keys and indexes; rebuild them after.

    Only on PostgreSQL and only when the table is empty (a source's first import), and
    yields whether it did. This is PostgreSQL's own advice for populating a table: checking
    ``valid_from → snapshots`` row by row was a third of the 807,000-row first import, and
    inserting each NIK into its index most of the rest, while adding the key back checks
    every row in one query and an index built at the end is one sort. Nothing is given up:
    the block runs in the import's transaction, so the rows are never seen without their
    keys, and a row that breaks a key fails the whole import. The table is locked while the
    transaction lasts, which costs nothing here: with no rows yet, no check can use it.
    """
    connection = session.connection()
    empty = session.execute(select(literal(1)).select_from(table).limit(1)).first() is None
    if connection.dialect.name != "postgresql" or not empty:
        yield False
        return
    keys = sorted(table.foreign_key_constraints, key=lambda key: str(key.name))
    indexes = sorted(table.indexes, key=lambda index: str(index.name))
    for key in keys:
        connection.execute(DropConstraint(key))
    for index in indexes:
        connection.execute(DropIndex(index))
    yield True
    for index in indexes:
        connection.execute(CreateIndex(index))
    for key in keys:
        connection.execute(AddConstraint(key))
