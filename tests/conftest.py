"""Fixtures: one fresh database per test run (SQLite, or PostgreSQL from TEST_DATABASE_URL)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from models import Base
from service import create_app, migrate
from service.config import Settings
from service.db import make_engine, sqlalchemy_url
from service.ledger.note import generate_signer_key, parse_signer_key, verifier_key
from service.policy import load_policy
from service.ratelimit.rates import Rate
from tests.factories import TEST_NIK_HASH_KEY as TEST_NIK_HASH_KEY
from tests.factories import (
    TODAY,
    add_facility,
    add_jkn,
    add_key,
    add_membership,
    add_person,
    add_snapshot,
)

# The browser and served-app fixtures of the page tests.
pytest_plugins = ["tests.browser"]

# The people of the ``registry`` fixture.
RESIDENT = "6402014101900001"
MOVED_IN_FROM_SAMARINDA = "6472055505850003"

TEST_CONSOLE_SECRET_KEY = "test-console-secret-0123456789abcdef01234567"
TEST_RATE_LIMIT = Rate(1_000_000, "s")
# One ledger key per test run, under its own origin.
TEST_LEDGER_SIGNING_KEY = generate_signer_key("test.jamkesda/ledger")
TEST_LEDGER_SIGNER = parse_signer_key(TEST_LEDGER_SIGNING_KEY)
# What the web app gets: only the public key (SPEC §13).
TEST_LEDGER_VERIFIER_KEY = verifier_key(TEST_LEDGER_SIGNER)


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
        "LEDGER_SIGNING_KEY": TEST_LEDGER_SIGNING_KEY,
        "LEDGER_VERIFIER_KEY": TEST_LEDGER_VERIFIER_KEY,
        "CONSOLE_SECRET_KEY": TEST_CONSOLE_SECRET_KEY,
        "JAMKESDA_INSTANCE": str(tmp_path / "instance"),
        # Tests send bursts far beyond a desk's; the rate limits' own tests set theirs.
        "RATE_LIMIT": str(TEST_RATE_LIMIT),
        "RATE_LIMIT_ANONYMOUS": str(TEST_RATE_LIMIT),
    }


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings of the app under test: the test database and the bundled policy."""
    return Settings(
        database_url,
        TEST_NIK_HASH_KEY.encode(),
        load_policy(),
        TEST_LEDGER_VERIFIER_KEY,
        console_secret_key=TEST_CONSOLE_SECRET_KEY,
        rate_limit=TEST_RATE_LIMIT,
        rate_limit_anonymous=TEST_RATE_LIMIT,
    )


@pytest.fixture
def app(settings: Settings, engine: Engine) -> Flask:
    """The application, on the test database."""
    return create_app(settings, engine)


@pytest.fixture
def http(app: Flask) -> FlaskClient:
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session for setting up and inspecting data; commit what the app must see."""
    with Session(engine, expire_on_commit=False) as db_session:
        yield db_session


@pytest.fixture
def keys(session: Session) -> dict[str, str]:
    """One key per role: desk at a puskesmas, integration at a hospital, "other_desk" elsewhere."""
    add_facility(session, "1040001", "Puskesmas Loa Janan")
    add_facility(session, "1040002", "RSUD A.M. Parikesit", "RUMAH_SAKIT")
    add_facility(session, "1040003", "Puskesmas Tenggarong")
    result = {
        "desk": add_key(session, "desk", "1040001"),
        "integration": add_key(session, "integration", "1040002"),
        "other_desk": add_key(session, "desk", "1040003"),
        "auditor": add_key(session, "auditor"),
        "admin": add_key(session, "admin"),
    }
    session.commit()
    return result


@pytest.fixture
def registry(session: Session) -> dict[str, Any]:
    """Population, Jamkesda and JKN snapshots with one person of each kind."""
    population = add_snapshot(session, "population", TODAY - timedelta(days=3))
    jamkesda = add_snapshot(session, "jamkesda", TODAY - timedelta(days=1))
    jkn = add_snapshot(session, "jkn", TODAY - timedelta(days=2))
    add_person(session, population, RESIDENT, name="Siti Aminah", birth_date=date(1990, 1, 1))
    add_membership(session, jamkesda, RESIDENT, kelas="II", end_date=TODAY + timedelta(days=30))
    add_person(session, population, MOVED_IN_FROM_SAMARINDA, status="HIDUP")
    add_membership(session, jamkesda, MOVED_IN_FROM_SAMARINDA)
    add_person(session, population, "6402010101800002", status="MATI")
    add_person(session, population, "6402010101800003", status="PINDAH")
    add_membership(session, jamkesda, "6402010101800003")
    add_person(session, population, "6402010101800004", village_code="6472010001")
    add_person(session, population, "6402010101800005")
    add_jkn(session, jkn, "6402010101800005")
    session.commit()
    return {"population": population, "jamkesda": jamkesda, "jkn": jkn}


def bearer(key: str) -> dict[str, str]:
    """The Authorization header for a key."""
    return {"Authorization": f"Bearer {key}"}
