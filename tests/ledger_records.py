"""Check records and sequencing for the ledger tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Engine, Table, insert, select
from sqlalchemy.orm import Session

from models import CheckRecord, Client, LedgerEntry, LedgerHash, LedgerQueue
from service import clock
from service.check_ids import new_check_id
from service.ledger.runner import Drained, drain
from tests.conftest import TEST_LEDGER_SIGNER


def add_old_schema_client(session: Session) -> Client:
    """A desk client inserted with only the columns that every migration's schema has.

    The model also has columns that later migrations added (``rate_limit``, 0009), which a
    test working on an older schema cannot insert; the object returned is not in the
    session, only the values ``record_values`` needs.
    """
    values = {"name": "desk", "role": "desk", "key_hash": "0" * 64, "created_at": clock.now()}
    table = cast(Table, Client.__table__)
    result = session.execute(insert(table).values(**values))
    inserted = cast(CursorResult[Any], result).inserted_primary_key
    assert inserted is not None
    return Client(id=inserted[0], facility_code=None, **values)


def record_values(client: Client, number: int, **fields: Any) -> dict[str, Any]:
    """The columns of a record as the check path writes one; ``number`` tells them apart."""
    return {
        "check_id": new_check_id(),
        "decided_at": clock.now(),
        "nik_hash": f"{number:064x}",
        "nik_masked": "6402**********01",
        "facility_code": client.facility_code,
        "client_id": client.id,
        "operator_id": f"petugas-{number}",
        "channel": "api",
        "service_date": clock.now().date(),
        "service_type": "outpatient",
        "external_ref": None,
        "name_match": "NOT_PROVIDED",
        "birth_date_match": "NOT_PROVIDED",
        "decision": "ELIGIBLE",
        "reasons": [],
        "coverage": {"scheme": "JAMKESDA", "class": "III", "valid_until": None},
        "errors": None,
        "policy_version": "kukar-2025.1",
        "population_snapshot_id": None,
        "jamkesda_snapshot_id": None,
        "jkn_snapshot_id": None,
        "latency_ms": 1.25,
        **fields,
    }


def add_records(session: Session, client: Client, count: int, first: int = 0) -> list[int]:
    """Insert ``count`` records in one statement and commit; their ids, in order."""
    rows = [record_values(client, first + n) for n in range(count)]
    session.execute(insert(CheckRecord), rows)
    session.commit()
    checks = [row["check_id"] for row in rows]
    found = {
        check_id: id_
        for check_id, id_ in session.execute(select(CheckRecord.check_id, CheckRecord.id))
    }
    return [found[check_id] for check_id in checks]


def check_id_of(session: Session, record_id: int) -> str:
    """The reference of a record."""
    return session.scalars(select(CheckRecord.check_id).where(CheckRecord.id == record_id)).one()


def sequence_all(engine: Engine, checkpoint: bool = True) -> Drained:
    """Drain the queue; sign a checkpoint now, or (``checkpoint=False``) only if none is recent."""
    if checkpoint:
        return drain(engine, TEST_LEDGER_SIGNER, interval=0, force=True)
    return drain(engine, TEST_LEDGER_SIGNER, interval=3600)


def log_order(session: Session) -> list[int]:
    """The record ids of the log's leaves, in leaf order."""
    session.expire_all()
    return list(session.scalars(select(LedgerEntry.record_id).order_by(LedgerEntry.leaf_index)))


def queued(session: Session) -> list[int]:
    """The record ids waiting in the queue."""
    return list(session.scalars(select(LedgerQueue.record_id).order_by(LedgerQueue.record_id)))


def stored_hash_table(session: Session) -> dict[int, bytes]:
    """Every stored hash by position."""
    rows = session.execute(select(LedgerHash.position, LedgerHash.hash))
    return {position: bytes(hash_) for position, hash_ in rows}


@contextmanager
def without_foreign_keys(engine: Engine) -> Iterator[Connection]:
    """A transaction that may break foreign keys, as someone with the database's files could.

    The connection is thrown away afterwards, so that no other test gets it from the pool.
    """
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        else:
            connection.exec_driver_sql("SET session_replication_role = replica")
        connection.commit()
        try:
            with connection.begin():
                yield connection
        finally:
            connection.invalidate()
