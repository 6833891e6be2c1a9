"""Data access for facts: which snapshots are in force, and what they say about one NIK."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Integer,
    ScalarSelect,
    Select,
    String,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from models import JamkesdaRow, JknRow, PopulationRow, Snapshot
from service.decision import Facts, Membership, Person
from service.prepared import Prepared

FACT_SOURCES = ("population", "jamkesda", "jkn")


class DataSnapshot(Protocol):
    """What a decision's record and answer need of a snapshot: a ``Snapshot`` has it."""

    @property
    def id(self) -> int:
        """The snapshot's id, as a record names it."""

    @property
    def as_of(self) -> date:
        """The date of the data, as an answer shows it."""


@dataclass(frozen=True)
class SnapshotRef:
    """A snapshot's id and as-of date: all that a check reads of it."""

    id: int
    as_of: date


@dataclass(frozen=True)
class SnapshotSet:
    """The snapshot of each fact source a decision uses (None: never imported)."""

    population: DataSnapshot | None
    jamkesda: DataSnapshot | None
    jkn: DataSnapshot | None

    @property
    def ids(self) -> dict[str, int | None]:
        """The snapshot ids, by source, as a record stores them."""
        return {
            source: snapshot.id if snapshot else None
            for source, snapshot in (
                ("population", self.population),
                ("jamkesda", self.jamkesda),
                ("jkn", self.jkn),
            )
        }


def snapshots_in_force(session: Session, at: datetime | None = None) -> SnapshotSet:
    """The snapshot in force for each source, now or at the instant ``at``.

    An import becomes in force only when dated on or after the one in force before
    it, so among those that came into force the newest id is the latest as-of date.
    """
    newest = (
        select(func.max(Snapshot.id))
        .where(Snapshot.came_into_force.is_(True), Snapshot.source.in_(FACT_SOURCES))
        .group_by(Snapshot.source)
    )
    if at is not None:
        newest = newest.where(Snapshot.imported_at <= at)
    found = session.scalars(select(Snapshot).where(Snapshot.id.in_(newest))).all()
    return _snapshot_set(found)


def snapshots_by_id(session: Session, ids: Iterable[int | None]) -> SnapshotSet:
    """The snapshots a record names, for showing its data dates or replaying it."""
    wanted = [snapshot_id for snapshot_id in ids if snapshot_id is not None]
    found = session.scalars(select(Snapshot).where(Snapshot.id.in_(wanted))).all() if wanted else []
    return _snapshot_set(found)


def _snapshot_set(snapshots: Iterable[Snapshot]) -> SnapshotSet:
    by_source = {snapshot.source: snapshot for snapshot in snapshots}
    return SnapshotSet(
        population=by_source.get("population"),
        jamkesda=by_source.get("jamkesda"),
        jkn=by_source.get("jkn"),
    )


def _valid_at(model: Any, snapshot_id: Any) -> ColumnElement[bool]:
    """The versions of a source's rows that made up snapshot ``snapshot_id``."""
    return and_(
        model.valid_from <= snapshot_id,
        or_(model.valid_to.is_(None), model.valid_to > snapshot_id),
    )


# What a decision reads of each source's row (the row's id only says whether there is one).
_ROW_COLUMNS: dict[str, tuple[FromClause, tuple[str, ...]]] = {
    "population": (
        PopulationRow.__table__,
        ("id", "name", "birth_date", "village_code", "domiciled_since", "status"),
    ),
    "jamkesda": (JamkesdaRow.__table__, ("id", "status", "start_date", "end_date", "kelas")),
    "jkn": (JknRow.__table__, ("id", "status")),
}


def _newest_in_force(source: str) -> ScalarSelect[int]:
    """The id of the snapshot of ``source`` in force now (NULL: never imported)."""
    return (
        select(Snapshot.id)
        .where(Snapshot.source == source, Snapshot.came_into_force.is_(True))
        .order_by(Snapshot.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _facts_statement(
    snapshot_ids: dict[str, ColumnElement[Any]], wanted: FromClause | None = None
) -> Select[Any]:
    """One statement for the facts on ``:nik``: each source's snapshot and row, in one row.

    A check makes one round trip to the database for all its facts; the snapshot ids
    come from the same statement, so a record names exactly the snapshots it read. Given
    ``wanted`` (a from-clause with a ``nik`` column), the statement answers one row for
    each of its NIKs instead, each with the NIK first: a batch's facts in one round trip.
    """
    used = select(*(snapshot_ids[source].label(source) for source in FACT_SOURCES)).subquery()
    nik: ColumnElement[Any] = bindparam("nik", type_=String) if wanted is None else wanted.c.nik
    columns: list[Any] = [] if wanted is None else [nik]
    joined: Any = used if wanted is None else wanted.join(used, true())
    for source in FACT_SOURCES:
        snapshot_id = used.c[source]
        snapshot = Snapshot.__table__.alias(f"{source}_snapshot")
        table, names = _ROW_COLUMNS[source]
        row = table.alias(f"{source}_row")
        columns += [
            snapshot.c.id.label(f"{source}_snapshot"),
            snapshot.c.as_of.label(f"{source}_as_of"),
        ]
        columns += [row.c[name].label(f"{source}_{name}") for name in names]
        joined = joined.outerjoin(snapshot, snapshot.c.id == snapshot_id).outerjoin(
            row, and_(row.c.nik == nik, _valid_at(row.c, snapshot_id))
        )
    statement = select(*columns).select_from(joined)
    return statement.limit(1) if wanted is None else statement


# Compiled once per dialect and run on the driver's cursor (``service.prepared``); psycopg
# prepares them on the server after a few uses.
# The snapshot of each source in force now, read by the statement itself.
_IN_FORCE: dict[str, ColumnElement[Any]] = {
    source: _newest_in_force(source) for source in FACT_SOURCES
}
_FACTS_IN_FORCE = Prepared(_facts_statement(_IN_FORCE), "nik")
# A batch's NIKs, one a row: PostgreSQL unnests an array, SQLite reads a JSON array.
_WANTED = {
    "postgresql": select(
        func.unnest(bindparam("niks", type_=postgresql.ARRAY(String))).label("nik")
    ).subquery("wanted"),
    "sqlite": select(literal_column("value", String).label("nik"))
    .select_from(func.json_each(bindparam("niks", type_=String)))
    .subquery("wanted"),
}
_FACTS_IN_FORCE_MANY = {
    dialect: Prepared(_facts_statement(_IN_FORCE, wanted), "niks")
    for dialect, wanted in _WANTED.items()
}
_SNAPSHOT_IDS = tuple(f"{source}_id" for source in FACT_SOURCES)
_FACTS_OF_SNAPSHOTS = Prepared(
    _facts_statement({source: bindparam(f"{source}_id", type_=Integer) for source in FACT_SOURCES}),
    "nik",
    *_SNAPSHOT_IDS,
)


def _connection(database: Session | Connection) -> Connection:
    """The connection to run a statement on: a session's own, or the one given."""
    return database if isinstance(database, Connection) else database.connection()


def facts_in_force(database: Session | Connection, nik: str) -> tuple[Facts, SnapshotSet]:
    """What the snapshots in force now say about ``nik``, and those snapshots (one query)."""
    row = _FACTS_IN_FORCE.first(_connection(database), {"nik": nik})
    assert row is not None, "the facts statement always returns one row"
    snapshots = _snapshots_read(row)
    return _facts(row, snapshots), snapshots


def facts_in_force_many(
    connection: Connection, niks: Iterable[str]
) -> tuple[dict[str, Facts], SnapshotSet]:
    """What the snapshots in force now say about each NIK, and those snapshots (one query)."""
    distinct = list(dict.fromkeys(niks))
    dialect = connection.dialect.name
    # PostgreSQL takes the NIKs as an array; SQLite as a JSON array (json_each).
    values = {"niks": distinct if dialect == "postgresql" else json.dumps(distinct)}
    by_nik: dict[str, Any] = {}
    for row in _FACTS_IN_FORCE_MANY[dialect].all(connection, values):
        # A NIK with two versions valid in one snapshot (never written so) counts once.
        by_nik.setdefault(row["nik"], row)
    # Every row names the same snapshots: the statement reads them once for all NIKs.
    snapshots = _snapshots_read(next(iter(by_nik.values())))
    return {nik: _facts(row, snapshots) for nik, row in by_nik.items()}, snapshots


def load_facts(database: Session | Connection, nik: str, snapshots: SnapshotSet) -> Facts:
    """What the given snapshots say about ``nik``."""
    ids = {f"{source}_id": snapshot_id for source, snapshot_id in snapshots.ids.items()}
    row = _FACTS_OF_SNAPSHOTS.first(_connection(database), {"nik": nik, **ids})
    assert row is not None, "the facts statement always returns one row"
    return _facts(row, snapshots)


def _snapshots_read(row: Mapping[str, Any]) -> SnapshotSet:
    """The snapshots a facts statement read, as its row names them."""
    return SnapshotSet(
        population=_snapshot_ref(row, "population"),
        jamkesda=_snapshot_ref(row, "jamkesda"),
        jkn=_snapshot_ref(row, "jkn"),
    )


def _snapshot_ref(row: Mapping[str, Any], source: str) -> SnapshotRef | None:
    snapshot_id = row[f"{source}_snapshot"]
    return None if snapshot_id is None else SnapshotRef(snapshot_id, row[f"{source}_as_of"])


def _facts(row: Mapping[str, Any], snapshots: SnapshotSet) -> Facts:
    person = (
        Person(
            name=row["population_name"],
            birth_date=row["population_birth_date"],
            village_code=row["population_village_code"],
            domiciled_since=row["population_domiciled_since"],
            status=row["population_status"],
        )
        if row["population_id"] is not None
        else None
    )
    membership = (
        Membership(
            status=row["jamkesda_status"],
            start=row["jamkesda_start_date"],
            end=row["jamkesda_end_date"],
            kelas=row["jamkesda_kelas"],
        )
        if row["jamkesda_id"] is not None
        else None
    )
    return Facts(
        population_known=snapshots.population is not None,
        person=person,
        jamkesda_known=snapshots.jamkesda is not None,
        membership=membership,
        jkn_known=snapshots.jkn is not None,
        jkn_active=row["jkn_id"] is not None and row["jkn_status"] == "AKTIF",
    )
