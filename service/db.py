"""Engines and the one database session of a request."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from service.prepared import run_plain

logger = logging.getLogger(__name__)

# A pooled connection unused for this long is tested before it is handed out, so that a
# database restart during a quiet spell costs no request. Under load connections are never
# idle that long and the busy path saves the test's round trip; a restart under load fails
# the requests then in flight with 503 (never a denial), and the pool reconnects.
PING_AFTER_IDLE_SECONDS = 10.0
# A request never waits longer than this for a lock another transaction holds: in practice
# a concurrent request with the same Idempotency-Key, answered 409 after this wait (and,
# in a migration that locks a table, 503 instead of a queue of stuck workers).
LOCK_TIMEOUT_MS = 2000
# The files SQLite keeps beside a database: the rollback journal, the WAL and its index.
_SQLITE_COMPANIONS = ("-journal", "-wal", "-shm")


def sqlalchemy_url(url: str) -> str:
    """Pick our driver for the usual ``postgresql://`` form (psycopg 3)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def owner_only_database(path: Path) -> None:
    """Create the SQLite file ``path`` owner-only (0600) before SQLite does, or tighten it.

    It holds names, birth dates and key hashes. SQLite would create it with the umask's
    mode (0644: readable by every user of the machine); an empty file is a valid empty
    database, and SQLite gives its journal, WAL and shared-memory files the mode of the
    database file. A file of ours found more open (made before this rule) is tightened,
    with those companions; another user's file is left as it is.
    """
    # It exists already, or cannot be made here: SQLite reports the latter when it connects.
    with suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for file in (path, *(path.with_name(path.name + end) for end in _SQLITE_COMPANIONS)):
        # Absent, or on a file system that cannot change it: nothing to tighten.
        with suppress(OSError):
            found = file.stat()
            if found.st_uid == os.getuid() and found.st_mode & 0o077:
                file.chmod(0o600)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the gunicorn workers read while one writes; foreign keys are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _note_idle(_dbapi_connection: Any, entry: ConnectionPoolEntry) -> None:
    entry.info["idle_since"] = time.monotonic()


def _ping_when_idle(engine: Engine) -> None:
    """Test a connection on checkout when it has been idle for PING_AFTER_IDLE_SECONDS."""
    dialect = engine.dialect

    def ping(dbapi_connection: Any, entry: ConnectionPoolEntry, _: PoolProxiedConnection) -> None:
        idle_since = entry.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            # The pool drops this connection and hands out a fresh one instead.
            raise DisconnectionError("stale pooled connection") from error

    event.listen(engine, "checkin", _note_idle)
    event.listen(engine, "checkout", ping)


def make_engine(url: str, lock_timeout_ms: int | None = None) -> Engine:
    """An engine for ``DATABASE_URL``; connections idle for a while are tested before use.

    ``lock_timeout_ms`` bounds, on PostgreSQL, how long any statement waits for a lock
    another transaction holds (the server's: see ``LOCK_TIMEOUT_MS``).
    """
    url = sqlalchemy_url(url)
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            owner_only_database(Path(database))
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args: dict[str, Any] = {"connect_timeout": 5}
    if lock_timeout_ms is not None:
        connect_args["options"] = f"-c lock_timeout={int(lock_timeout_ms)}"
    engine = create_engine(url, connect_args=connect_args)
    _ping_when_idle(engine)
    return engine


def init_app(app: Flask, engine: Engine) -> None:
    """Give the app its session factories and close each request's sessions at its end."""
    app.extensions["jamkesda.sessions"] = sessionmaker(engine, expire_on_commit=False)
    app.extensions["jamkesda.autocommit_engine"] = engine.execution_options(
        isolation_level="AUTOCOMMIT"
    )
    app.teardown_appcontext(_close_sessions)


def session() -> Session:
    """The request's session: one unit of work, committed by the view at its boundary."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["jamkesda.sessions"]()
    return g.db_session  # type: ignore[no-any-return]


def autocommit_connection() -> Connection:
    """The request's connection for a unit of work that is one writing statement.

    Each statement is its own transaction, committed (durably, as any commit) before it
    returns. A check reads its facts in one statement and appends its record in another,
    so it needs no BEGIN and COMMIT: two round trips fewer on the busiest path. It is a
    bare connection, not an ORM session: the check path builds no ORM objects, and a
    session's bookkeeping was a tenth of a check's CPU.
    """
    if "db_autocommit_connection" not in g:
        g.db_autocommit_connection = current_app.extensions["jamkesda.autocommit_engine"].connect()
    return g.db_autocommit_connection  # type: ignore[no-any-return]


@contextmanager
def transaction(connection: Connection) -> Iterator[Connection]:
    """One transaction on the request's autocommit connection, begun and ended by hand.

    Most writes are one statement and need no transaction (``autocommit_connection``).
    A unit of work of several writes (a batch, a check and its remembered answer) begins
    one on the same connection rather than taking a second from the pool: a round trip to
    begin and one to commit, and a rollback when the block raises. On SQLite it begins
    IMMEDIATE: the write lock is taken before the first read, so that a read followed by a
    write never meets a newer commit (which SQLite refuses at once, without waiting).
    """
    begin = "BEGIN IMMEDIATE" if connection.dialect.name == "sqlite" else "BEGIN"
    # On the driver's cursor: through SQLAlchemy each of these cost as much as a check's
    # whole statement (see ``service.prepared``).
    run_plain(connection, begin)
    try:
        yield connection
    except BaseException:
        # A connection that broke is invalidated already: there is nothing to roll back.
        with suppress(SQLAlchemyError):
            run_plain(connection, "ROLLBACK")
        raise
    run_plain(connection, "COMMIT")


def _close_sessions(_exc: BaseException | None) -> None:
    for name in ("db_session", "db_autocommit_connection"):
        opened = g.pop(name, None)
        if opened is not None:
            # Closing rolls back; on a connection a fault broke after the answer was made
            # (its record committed) that fails, and the failure must not replace the
            # answer with a 500. SQLAlchemy has invalidated the broken connection itself.
            try:
                opened.close()
            except SQLAlchemyError as error:
                logger.warning("closing a broken database connection: %s", type(error).__name__)
