"""Sessions and pooled connections: the autocommit connection commits each statement
itself, and a connection left idle is tested before it is used."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, func, insert, select, text

from models import Snapshot
from service import clock, db
from service.db import make_engine, sqlalchemy_url

POSTGRESQL_ONLY = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="the idle test is PostgreSQL's"
)


def _snapshot_values() -> dict[str, object]:
    return {
        "source": "population",
        "as_of": clock.now().date(),
        "imported_at": clock.now(),
        "filename": "population.csv",
        "sha256": "0" * 64,
        "rows": 0,
        "added": 0,
        "changed": 0,
        "removed": 0,
        "unchanged": 0,
        "came_into_force": True,
    }


def _count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(Snapshot)).scalar_one())


def test_the_autocommit_connection_commits_each_statement_itself(
    app: Flask, engine: Engine
) -> None:
    with app.app_context():
        db.autocommit_connection().execute(insert(Snapshot).values(_snapshot_values()))
        # Seen from another connection before the connection is closed: already committed.
        assert _count(engine) == 1


def test_the_request_session_commits_only_when_told(app: Flask, engine: Engine) -> None:
    with app.app_context():
        db.session().execute(insert(Snapshot).values(_snapshot_values()))
        assert _count(engine) == 0
    assert _count(engine) == 0


@pytest.fixture
def pg_engine(database_url: str, engine: Engine) -> Iterator[Engine]:
    """A fresh production engine on the test database (PostgreSQL)."""
    production = make_engine(database_url)
    yield production
    production.dispose()


def _backend(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(database_url: str, pid: int) -> None:
    admin = create_engine(sqlalchemy_url(database_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


@POSTGRESQL_ONLY
def test_an_idle_connection_that_died_is_replaced_before_use(
    pg_engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend(pg_engine)
    _terminate(database_url, first)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    assert _backend(pg_engine) != first


@POSTGRESQL_ONLY
def test_a_connection_used_a_moment_ago_is_not_tested(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings: list[object] = []
    monkeypatch.setattr(pg_engine.dialect, "do_ping", pings.append)
    first = _backend(pg_engine)
    assert _backend(pg_engine) == first
    assert pings == []
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    _backend(pg_engine)
    assert len(pings) == 1
