"""Test data written straight into the tables, so that each test states its facts exactly."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from models import Facility, JamkesdaRow, JknRow, PopulationRow, Snapshot
from service import clock
from service.clients import create_client
from service.nik import nik_hash

TODAY = clock.today(ZoneInfo("Asia/Makassar"))
# The NIK_HASH_KEY of the app under test; registry rows are hashed under it.
TEST_NIK_HASH_KEY = "test-nik-hash-key-0123456789abcdef0123456789"
KUKAR_VILLAGE = "6402012001"


def registry_hash(nik: str) -> str:
    """The ``nik_hash`` of ``nik`` under the test key, as an import would store it."""
    return nik_hash(TEST_NIK_HASH_KEY.encode(), nik)


def add_snapshot(
    session: Session, source: str, as_of: date = TODAY, came_into_force: bool = True
) -> Snapshot:
    """An import record with no counts of interest."""
    snapshot = Snapshot(
        source=source,
        as_of=as_of,
        imported_at=clock.now(),
        filename=f"{source}.csv",
        sha256=f"{source}-{as_of}-{clock.now().timestamp()}",
        rows=0,
        added=0,
        changed=0,
        removed=0,
        unchanged=0,
        came_into_force=came_into_force,
    )
    session.add(snapshot)
    session.flush()
    return snapshot


def add_person(session: Session, snapshot: Snapshot, nik: str, **fields: Any) -> PopulationRow:
    """A living Kukar resident since long ago, unless ``fields`` say otherwise."""
    values: dict[str, Any] = {
        "no_kk": "6402010101100001",
        "name": "Siti Aminah",
        "birth_date": date(1990, 1, 1),
        "sex": "P",
        "village_code": KUKAR_VILLAGE,
        "domiciled_since": date(2000, 1, 1),
        "status": "HIDUP",
        **fields,
    }
    row = PopulationRow(nik=nik, nik_hash=registry_hash(nik), valid_from=snapshot.id, **values)
    session.add(row)
    return row


def add_membership(session: Session, snapshot: Snapshot, nik: str, **fields: Any) -> JamkesdaRow:
    """An active, open-ended Jamkesda membership, unless ``fields`` say otherwise."""
    values: dict[str, Any] = {
        "member_no": f"JK{nik[-8:]}",
        "status": "AKTIF",
        "start_date": TODAY - timedelta(days=365),
        "end_date": None,
        "kelas": None,
        **fields,
    }
    row = JamkesdaRow(nik=nik, nik_hash=registry_hash(nik), valid_from=snapshot.id, **values)
    session.add(row)
    return row


def add_jkn(session: Session, snapshot: Snapshot, nik: str, status: str = "AKTIF") -> JknRow:
    """A JKN participant."""
    row = JknRow(
        nik=nik,
        nik_hash=registry_hash(nik),
        card_no=f"000{nik[-10:]}",
        status=status,
        segment="PBI APBN",
        valid_from=snapshot.id,
        valid_to=None,
    )
    session.add(row)
    return row


def add_facility(session: Session, code: str, name: str, kind: str = "PUSKESMAS") -> Facility:
    """A facility, recorded through a facilities snapshot as an import would."""
    snapshot = add_snapshot(session, "facilities")
    facility = Facility(
        code=code,
        name=name,
        kind=kind,
        village_code=KUKAR_VILLAGE,
        jamkesda_partner=True,
        snapshot_id=snapshot.id,
    )
    session.add(facility)
    session.flush()
    return facility


def add_key(session: Session, role: str, facility_code: str | None = None) -> str:
    """A new client's key."""
    _client, key = create_client(session, f"test {role}", role, facility_code)
    return key


@contextmanager
def refusing_inserts(engine: Engine, session: Session, table: str) -> Iterator[None]:
    """Make the database refuse every INSERT into ``table``, as a full disk would."""
    name = f"refuse_{table}"
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(
                text(
                    f"CREATE TRIGGER {name} BEFORE INSERT ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
                )
            )
        else:
            connection.execute(
                text(
                    f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$"
                )
            )
            connection.execute(
                text(
                    f"CREATE TRIGGER {name} BEFORE INSERT ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION {name}()"
                )
            )
    try:
        yield
    finally:
        # The test's own session may still hold a lock on the table the trigger is on.
        session.rollback()
        with engine.begin() as connection:
            if engine.dialect.name == "sqlite":
                connection.execute(text(f"DROP TRIGGER {name}"))
            else:
                connection.execute(text(f"DROP TRIGGER {name} ON {table}"))
                connection.execute(text(f"DROP FUNCTION {name}()"))
