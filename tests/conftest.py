"""Fixtures: one fresh database per test run (SQLite, or PostgreSQL from TEST_DATABASE_URL)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from models import Base
from service import migrate
from service.db import make_engine, sqlalchemy_url

TEST_NIK_HASH_KEY = "test-nik-hash-key-0123456789abcdef0123456789"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of this run's own, created empty and dropped at the end."""
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    name = f"jamkesda_test_{secrets.token_hex(4)}"
    admin = create_engine(sqlalchemy_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def migrated_engine(database_url: str) -> Iterator[Engine]:
    """The test database, migrated once with Alembic like production."""
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(migrated_engine: Engine) -> Iterator[Engine]:
    """The migrated database, emptied after the test so that tests stay independent."""
    yield migrated_engine
    with migrated_engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment a command-line run or a server gets in tests."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "NIK_HASH_KEY": TEST_NIK_HASH_KEY,
        "JAMKESDA_INSTANCE": str(tmp_path / "instance"),
    }
