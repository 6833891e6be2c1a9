"""Fill a table fast, row by row as a file is read: COPY on PostgreSQL, batches on SQLite."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from operator import itemgetter
from typing import Any, cast

import psycopg
from psycopg import sql
from sqlalchemy import Connection, Table, insert
from sqlalchemy.orm import Session

# Rows per statement (an executemany on SQLite, a COPY on PostgreSQL): many enough to
# amortise each round trip, few enough to keep the rows waiting to a few megabytes.
_BATCH = 5_000
_CHUNK = 20_000
# Seconds a thread may hold the interpreter while another waits for it (see below).
_SWITCH_INTERVAL = 0.0005
# A column type as PostgreSQL names it, without its size: VARCHAR(16) is a varchar.
_TYPE_SIZE = re.compile(r"\(.*\)")
# Adds one row, given its values in the order of the columns the writer was opened with.
WriteRow = Callable[[list[object]], None]


@contextmanager
def row_writer(
    session: Session,
    table: Table,
    columns: Sequence[str],
    extra: Sequence[object] = (),
    background: bool = False,
) -> Iterator[WriteRow]:
    """A function adding one row to ``table``: its values, then ``extra``, fill ``columns``.

    Every row is in the table when the block ends; pending ORM changes are flushed first.
    ``background`` sends the rows from a second thread on PostgreSQL: worth it for a table
    with foreign keys to check, not otherwise, as the threads then slow each other down.
    """
    session.flush()
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        copy = _copy_in_background if background else _copy_here
        with copy(connection, table, columns, extra) as write:
            yield write
        return
    statement = insert(table)
    batch: list[dict[str, object]] = []

    def add_row(values: list[object]) -> None:
        """Queue one row, inserting the queue when it is full."""
        values.extend(extra)
        batch.append(dict(zip(columns, values, strict=True)))
        if len(batch) >= _BATCH:
            connection.execute(statement, batch)
            batch.clear()

    yield add_row
    if batch:
        connection.execute(statement, batch)


def _psycopg(connection: Connection) -> psycopg.Connection[Any]:
    """The psycopg connection under the session's connection, which COPY needs."""
    return cast("psycopg.Connection[Any]", connection.connection.driver_connection)


def _copy_statement(
    connection: Connection, table: Table, columns: Sequence[str]
) -> tuple[sql.Composed, list[str]]:
    """``COPY table (columns) FROM STDIN`` in the binary format, and the columns' types.

    The binary format spares both sides formatting and parsing text; it needs the types.
    """
    name = (table.schema, table.name) if table.schema else (table.name,)
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(*name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    types = [
        _TYPE_SIZE.sub("", table.c[column].type.compile(connection.dialect)).lower()
        for column in columns
    ]
    return statement, types


@contextmanager
def _copy_here(
    connection: Connection, table: Table, columns: Sequence[str], extra: Sequence[object]
) -> Iterator[WriteRow]:
    """Rows sent by one ``COPY`` as they come, on the session's own psycopg connection."""
    statement, types = _copy_statement(connection, table, columns)
    with _psycopg(connection).cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(types)
        write_row = copy.write_row

        def copy_row(values: list[object]) -> None:
            """Send one row down the COPY stream."""
            values.extend(extra)
            write_row(values)

        yield copy_row


@contextmanager
def _copy_in_background(
    connection: Connection, table: Table, columns: Sequence[str], extra: Sequence[object]
) -> Iterator[WriteRow]:
    """Rows sent in chunks, each by its own ``COPY``, from a thread of the session's connection.

    The database checks a chunk's foreign keys and fills its indexes while the next chunk
    is read: the checks run at the end of each statement, so one ``COPY`` for the whole
    file would leave them all to after the reading. At most one chunk is being sent while
    the next is filled, and the reading thread does not use the connection meanwhile.
    """
    statement, types = _copy_statement(connection, table, columns)
    driver = _psycopg(connection)
    chunk: list[tuple[object, ...]] = []
    sending: Future[None] | None = None
    # The sending thread waits on the network often and must then wait for the reading
    # thread to yield the interpreter: by default up to 5 ms each time, which starved the
    # database of rows. A shorter interval keeps both busy; it is restored at the end.
    with (
        _switch_interval(_SWITCH_INTERVAL),
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-copy") as sender,
    ):

        def send() -> None:
            """Wait for the chunk being sent, then send the one filled."""
            nonlocal chunk, sending
            if sending is not None:
                sending.result()
            sending = sender.submit(_copy_chunk, driver, statement, types, chunk)
            chunk = []

        def add_row(values: list[object]) -> None:
            """Queue one row, sending the queue when it is full."""
            # A tuple of plain values drops out of the garbage collector's sight once seen.
            chunk.append((*values, *extra))
            if len(chunk) >= _CHUNK:
                send()

        try:
            yield add_row
        except BaseException:
            # The connection is the caller's again only once the statement in flight is done.
            if sending is not None:
                wait([sending])
            raise
        if chunk:
            send()
        if sending is not None:
            sending.result()


@contextmanager
def _switch_interval(seconds: float) -> Iterator[None]:
    """The interpreter's thread switch interval set to ``seconds``, then set back."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def _copy_chunk(
    driver: psycopg.Connection[Any],
    statement: sql.Composed,
    types: list[str],
    rows: list[tuple[object, ...]],
) -> None:
    """Send ``rows`` with one ``COPY ... FROM STDIN`` on the psycopg connection ``driver``."""
    # Rows in key order (the first column) reach the key's index pages one after another:
    # on the 807,000-row file this saved an eighth of the database's time.
    rows.sort(key=itemgetter(0))
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)
