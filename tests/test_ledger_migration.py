"""Migration 0005: the ledger's tables, and the trigger that queues every record."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, insert, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from models import CheckRecord, LedgerQueue
from service import migrate
from service.db import make_engine, sqlalchemy_url
from tests.audit_records import client_of
from tests.ledger_records import add_old_schema_client, queued, record_values

LEDGER_TABLES = {"ledger_queue", "ledger_entries", "ledger_hashes", "ledger_checkpoints"}


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Engine]:
    """An empty database of its own: SQLite, or on the TEST_DATABASE_URL server."""
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
        yield engine
        engine.dispose()
        return
    name = f"jamkesda_ledger_{secrets.token_hex(4)}"
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


def test_records_made_before_the_ledger_are_queued_by_the_upgrade(fresh: Engine) -> None:
    migrate.upgrade(fresh, "0004")
    with Session(fresh, expire_on_commit=False) as session:
        client = add_old_schema_client(session)
        session.execute(insert(CheckRecord), [record_values(client, n) for n in range(3)])
        session.commit()
        ids = list(session.scalars(select(CheckRecord.id).order_by(CheckRecord.id)))
    migrate.upgrade(fresh)
    with Session(fresh, expire_on_commit=False) as session:
        assert queued(session) == ids
        session.execute(insert(CheckRecord), [record_values(client, 3)])
        session.commit()
        assert len(queued(session)) == 4
    assert set(inspect(fresh).get_table_names()) >= LEDGER_TABLES


def test_the_downgrade_removes_the_tables_and_the_trigger(fresh: Engine) -> None:
    migrate.upgrade(fresh)
    config = migrate.alembic_config(fresh)
    with fresh.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    assert not LEDGER_TABLES & set(inspect(fresh).get_table_names())
    with Session(fresh, expire_on_commit=False) as session:
        client = add_old_schema_client(session)
        # Without the trigger's table, a trigger left behind would make this insert fail.
        session.execute(insert(CheckRecord), [record_values(client, 1)])
        session.commit()
    migrate.upgrade(fresh)


def test_a_record_rolled_back_leaves_no_queue_row(
    engine: Engine, session: Session, keys: dict[str, str]
) -> None:
    desk = client_of(session, keys["desk"])
    with engine.connect() as connection:
        connection.execute(insert(CheckRecord), [record_values(desk, 1)])
        assert connection.scalar(select(LedgerQueue.record_id)) is not None
        connection.rollback()
    assert queued(session) == []
