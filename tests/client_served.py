"""A real ``jamkesda serve`` with a small registry and one key per role, for the client's tests.

One server serves a whole test module (starting gunicorn takes seconds), so tests in it
share the database: each test that counts records marks its own with an operator id of its
own (``operator_id()``) and filters by it.
"""

from __future__ import annotations

import os
import random
import string
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models import Base
from tests.conftest import TEST_CONSOLE_SECRET_KEY, TEST_LEDGER_SIGNING_KEY, TEST_NIK_HASH_KEY
from tests.factories import (
    TODAY,
    add_facility,
    add_key,
    add_membership,
    add_person,
    add_snapshot,
)
from tests.test_server import serving_process

RESIDENT = "6402014101900001"  # ELIGIBLE, Jamkesda class II until a month from now
MOVED_OUT = "6402010101800003"  # NOT_ELIGIBLE [NOT_RESIDENT]
NOT_A_NIK = "6402 0141 019"  # INVALID_NIK: too short
RESIDENT_BIRTH_DATE = date(1990, 1, 1)
VALID_UNTIL = TODAY + timedelta(days=30)


@dataclass(frozen=True)
class Served:
    """The running service's base URL and a key per role."""

    url: str
    keys: dict[str, str]


def operator_id() -> str:
    """An operator id no other test uses, to find this test's records by.

    Letters only: the access log masks every run of 8 or more digits in a query, and a
    test that finds its audit requests by operator must see the id as it was sent.
    """
    return "op-" + "".join(random.choices(string.ascii_lowercase, k=12))


def server_env(database_url: str, instance: Path) -> dict[str, str]:
    """The environment of ``jamkesda serve`` on the test database (as conftest's ``env``)."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "NIK_HASH_KEY": TEST_NIK_HASH_KEY,
        "LEDGER_SIGNING_KEY": TEST_LEDGER_SIGNING_KEY,
        "CONSOLE_SECRET_KEY": TEST_CONSOLE_SECRET_KEY,
        "JAMKESDA_INSTANCE": str(instance),
    }


def _empty(engine: Engine) -> None:
    """Delete every row, as conftest's ``engine`` fixture does after each test."""
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


def _registry(engine: Engine) -> dict[str, str]:
    """Facilities, one key per role, and the people of this module; the keys by role."""
    with Session(engine, expire_on_commit=False) as session:
        add_facility(session, "1040001", "Puskesmas Loa Janan")
        add_facility(session, "1040002", "RSUD A.M. Parikesit", "RUMAH_SAKIT")
        keys = {
            "desk": add_key(session, "desk", "1040001"),
            "integration": add_key(session, "integration", "1040002"),
            "auditor": add_key(session, "auditor"),
        }
        population = add_snapshot(session, "population", TODAY - timedelta(days=3))
        jamkesda = add_snapshot(session, "jamkesda", TODAY - timedelta(days=1))
        add_person(session, population, RESIDENT, birth_date=RESIDENT_BIRTH_DATE)
        add_membership(session, jamkesda, RESIDENT, kelas="II", end_date=VALID_UNTIL)
        add_person(session, population, MOVED_OUT, status="PINDAH")
        add_membership(session, jamkesda, MOVED_OUT)
        session.commit()
    return keys


@contextmanager
def served_registry(engine: Engine, database_url: str, folder: Path) -> Iterator[Served]:
    """Fill an empty test database, serve it, and empty it again afterwards."""
    _empty(engine)
    try:
        keys = _registry(engine)
        env = server_env(database_url, folder / "instance")
        with serving_process(env, folder / "server.log") as (base, _process):
            yield Served(base, keys)
    finally:
        _empty(engine)
