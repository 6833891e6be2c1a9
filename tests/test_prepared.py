"""The check path's statements run on the driver's cursor: same values, same errors."""

from __future__ import annotations

import os
from datetime import date

import pytest
from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from models import Snapshot
from service import clock
from service.prepared import Prepared
from tests.test_db_sessions import _backend, _snapshot_values, _terminate

AS_OF = date(2026, 3, 3)
POSTGRESQL_ONLY = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="ending a backend is PostgreSQL's"
)
_INSERT = Prepared(
    insert(Snapshot).returning(Snapshot.id, Snapshot.as_of, Snapshot.came_into_force),
    *_snapshot_values(),
    "id",
)
_SELECT = Prepared(select(Snapshot.id, Snapshot.as_of).where(Snapshot.id == 7))
_SELECT_PID = Prepared(select(func.pg_backend_pid().label("pid")))


def _values(snapshot_id: int) -> dict[str, object]:
    return {**_snapshot_values(), "id": snapshot_id, "as_of": AS_OF, "imported_at": clock.now()}


def test_a_row_comes_back_by_column_name_with_the_types_sqlalchemy_gives(engine: Engine) -> None:
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    with autocommit.connect() as connection:
        inserted = _INSERT.first(connection, _values(7))
        found = _SELECT.first(connection, {})
    # SQLite stores dates as text: the dialect's own converter turns them back into dates.
    assert inserted == {"id": 7, "as_of": AS_OF, "came_into_force": True}
    assert found == {"id": 7, "as_of": AS_OF}
    with engine.connect() as connection:
        assert connection.execute(select(Snapshot.as_of)).scalar_one() == AS_OF


def test_no_row_is_none(engine: Engine) -> None:
    with engine.connect() as connection:
        assert _SELECT.first(connection, {}) is None


def test_a_driver_error_is_raised_as_sqlalchemys(engine: Engine) -> None:
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    with autocommit.connect() as connection:
        _INSERT.first(connection, _values(7))
        # The error handlers answer SQLAlchemy's errors with 503: the driver's must be those.
        with pytest.raises(IntegrityError):
            _INSERT.first(connection, _values(7))


@POSTGRESQL_ONLY
def test_a_connection_that_died_in_use_leaves_the_pool(engine: Engine, database_url: str) -> None:
    first = _backend(engine)
    with engine.connect() as connection:
        _terminate(database_url, _backend_of(connection))
        with pytest.raises(DBAPIError) as raised:
            _SELECT.first(connection, {})
    assert raised.value.connection_invalidated
    # The next request gets a live connection, not the dead one back from the pool.
    assert _backend(engine) != first


def _backend_of(connection: Connection) -> int:
    pid = _SELECT_PID.first(connection, {})
    assert pid is not None
    return int(pid["pid"])
