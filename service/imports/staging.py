"""The import's temporary tables: the file's good rows, and the keys of its bad rows."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, Connection, Index, MetaData, String, Table, text
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateTable, DropTable

from service.imports.sources import NIK_HASH, Source

# The schema name under which each database keeps a session's temporary tables.
_TEMP_SCHEMA = {"postgresql": "pg_temp", "sqlite": "temp"}


@dataclass(frozen=True)
class Scratch:
    """The temporary tables of one import, private to its database session."""

    # The file's good rows, compared with the rows in force when they are not written directly.
    rows: Table
    # The keys of the file's bad rows: the people they name keep their rows in force.
    skipped: Table
    # The rows the snapshot adds or changes and the keys it removes, ``change`` saying which;
    # for people, with a column for the NIK's hash, filled only for the rows to be written.
    changes: Table
    # The NIK hashes of the rows to be written, computed in Python (see ``apply``).
    hashes: Table

    @property
    def tables(self) -> tuple[Table, Table, Table, Table]:
        """All four tables."""
        return self.rows, self.skipped, self.changes, self.hashes


def _is_postgresql(connection: Connection) -> bool:
    """Whether ``connection`` is to PostgreSQL (else it is to SQLite)."""
    return connection.dialect.name == "postgresql"


def temporary_metadata(connection: Connection) -> MetaData:
    """Metadata whose tables are created temporary: private to the session, dropped with it."""
    return MetaData(schema=_TEMP_SCHEMA[connection.dialect.name])


def create_scratch(session: Session, source: Source) -> Scratch:
    """Create the import's temporary tables, typed like ``source``'s table, dropping old ones."""
    connection = session.connection()
    metadata = temporary_metadata(connection)
    stored = source.table.c
    key = source.fields[0]
    rows = Table("import_rows", metadata, *(Column(f, stored[f].type) for f in source.fields))
    skipped = Table("import_skipped", metadata, Column(key, stored[key].type, primary_key=True))
    changes = Table(
        "import_changes",
        metadata,
        Column("change", String(8)),
        # The row in force that the change closes or updates (NULL for an added row).
        Column("in_force", stored[source.row_id].type),
        *(Column(f, stored[f].type) for f in source.stored_fields),
    )
    hashes = Table(
        "import_hashes",
        metadata,
        Column(key, stored[key].type, primary_key=True),
        Column(NIK_HASH, String(64)),
    )
    scratch = Scratch(rows, skipped, changes, hashes)
    for table in scratch.tables:
        # Left over only when an earlier import on this connection failed and was not rolled back.
        connection.execute(DropTable(table, if_exists=True))
        connection.execute(CreateTable(table))
    return scratch


def drop_scratch(session: Session, scratch: Scratch) -> None:
    """Drop the import's temporary tables, so that the next import may create its own."""
    for table in scratch.tables:
        session.execute(DropTable(table))


def prepare_for_diff(session: Session, scratch: Scratch, key: str) -> None:
    """Give the planner what it needs to compare the staged rows with the rows in force."""
    connection = session.connection()
    if _is_postgresql(connection):
        # Autovacuum never analyses a temporary table, and the planner needs its size.
        connection.execute(text(f"ANALYZE {scratch.rows.schema}.{scratch.rows.name}"))
    else:
        # SQLite runs each correlated subquery per row: without an index each is a full scan.
        Index("ix_import_rows_key", scratch.rows.c[key]).create(connection)
