"""Migration 0007: the registry rows already imported get their NIK hash, under NIK_HASH_KEY."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

from service import migrate
from service.config import ConfigError
from service.db import make_engine, sqlalchemy_url
from service.nik import nik_hash
from service.registry_key import key_fingerprint

KEY = "migration-nik-hash-key-0123456789abcdef0123"
REGISTRY_TABLES = ("population_rows", "jamkesda_rows", "jkn_rows")
POPULATION = ("6402014101900001", "6402014101900002")
JAMKESDA = ("6402014101900001", "6402014101900003")
JKN = ("6402014101900004",)


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Engine]:
    """An empty database of its own: SQLite, or on the TEST_DATABASE_URL server."""
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
        yield engine
        engine.dispose()
        return
    name = f"jamkesda_rehash_{secrets.token_hex(4)}"
    admin = create_engine(sqlalchemy_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(server).set(database=name).render_as_string(False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fresh: Engine) -> None:
    """The environment ``jamkesda db upgrade`` reads: a server database, NIK_HASH_KEY set."""
    monkeypatch.setenv("DATABASE_URL", fresh.url.render_as_string(hide_password=False))
    monkeypatch.setenv("JAMKESDA_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("NIK_HASH_KEY", KEY)


def at_0006_with_rows(engine: Engine) -> None:
    """The schema before 0007, holding rows of a population, a Jamkesda and a JKN import."""
    migrate.upgrade(engine, "0006")
    imported = {"as_of": date(2026, 11, 1), "at": "2026-11-01 08:00:00+08:00"}
    with engine.begin() as connection:
        for number, source in enumerate(("population", "jamkesda", "jkn"), start=1):
            connection.execute(
                text(
                    "INSERT INTO snapshots (id, source, as_of, imported_at, filename, sha256, "
                    "rows, added, changed, removed, unchanged, came_into_force) VALUES "
                    "(:id, :source, :as_of, :at, 'f.csv', 'x', 0, 0, 0, 0, 0, true)"
                ),
                {"id": number, "source": source, **imported},
            )
        for nik in POPULATION:
            connection.execute(
                text(
                    "INSERT INTO population_rows (nik, no_kk, name, birth_date, sex, "
                    "village_code, domiciled_since, status, valid_from) VALUES (:nik, "
                    "'6402010101090001', 'Siti', :born, 'P', '6402012001', :born, 'HIDUP', 1)"
                ),
                {"nik": nik, "born": date(1990, 1, 1)},
            )
        for nik in JAMKESDA:
            connection.execute(
                text(
                    "INSERT INTO jamkesda_rows (nik, member_no, status, start_date, valid_from) "
                    "VALUES (:nik, 'JK1', 'AKTIF', :start, 2)"
                ),
                {"nik": nik, "start": date(2025, 1, 1)},
            )
        for nik in JKN:
            connection.execute(
                text(
                    "INSERT INTO jkn_rows (nik, card_no, status, segment, valid_from) "
                    "VALUES (:nik, '0001', 'AKTIF', 'PBI APBN', 3)"
                ),
                {"nik": nik},
            )


def hashes(engine: Engine, table: str) -> dict[str, str]:
    """Each row's NIK and hash in ``table``."""
    with engine.connect() as connection:
        rows = connection.execute(text(f"SELECT nik, nik_hash FROM {table}"))
        return {nik: hashed for nik, hashed in rows}


def index_definition(engine: Engine, name: str) -> str:
    """PostgreSQL's ``CREATE INDEX`` statement of the index ``name``."""
    with engine.connect() as connection:
        query = text("SELECT indexdef FROM pg_indexes WHERE indexname = :name")
        return str(connection.execute(query, {"name": name}).scalar_one())


@pytest.mark.usefixtures("environment")
def test_the_rows_imported_before_get_their_hash_and_the_key_is_recorded(fresh: Engine) -> None:
    at_0006_with_rows(fresh)
    migrate.upgrade(fresh, "0007")
    key = KEY.encode()
    for table, niks in zip(REGISTRY_TABLES, (POPULATION, JAMKESDA, JKN), strict=True):
        assert hashes(fresh, table) == {nik: nik_hash(key, nik) for nik in niks}
        [column] = [c for c in inspect(fresh).get_columns(table) if c["name"] == "nik_hash"]
        assert column["nullable"] is False
        indexes = {index["name"] for index in inspect(fresh).get_indexes(table)}
        assert f"ix_{table}_nik_hash" in indexes
        if fresh.dialect.name == "postgresql":
            # Alembic's comparison of models and migrations does not see an index's method.
            assert "USING hash (nik_hash)" in index_definition(fresh, f"ix_{table}_nik_hash")
    with fresh.connect() as connection:
        recorded = connection.execute(text("SELECT id, fingerprint FROM registry_hash_key")).all()
    assert [tuple(row) for row in recorded] == [(1, key_fingerprint(key))]


def test_an_upgrade_that_must_hash_rows_without_a_key_fails_naming_it(
    fresh: Engine, environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    at_0006_with_rows(fresh)
    monkeypatch.delenv("NIK_HASH_KEY")
    with pytest.raises(ConfigError, match="NIK_HASH_KEY"):
        migrate.upgrade(fresh, "0007")
    assert migrate.current_revision(fresh) == "0006"


def test_an_empty_registry_is_migrated_without_a_key_and_nothing_recorded(
    fresh: Engine, environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NIK_HASH_KEY")
    migrate.upgrade(fresh, "0007")
    with fresh.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM registry_hash_key")).scalar() == 0


@pytest.mark.usefixtures("environment")
def test_the_downgrade_removes_the_hashes_and_the_fingerprint(fresh: Engine) -> None:
    at_0006_with_rows(fresh)
    migrate.upgrade(fresh, "0007")
    config = migrate.alembic_config(fresh)
    with fresh.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
    assert "registry_hash_key" not in inspect(fresh).get_table_names()
    for table in REGISTRY_TABLES:
        assert "nik_hash" not in {column["name"] for column in inspect(fresh).get_columns(table)}
    with fresh.connect() as connection:
        kept = connection.execute(text("SELECT nik FROM population_rows")).scalars()
        assert sorted(kept) == sorted(POPULATION)
