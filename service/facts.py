"""Data access for facts: which snapshots are in force, and what they say about one NIK."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from models import JamkesdaRow, JknRow, PopulationRow, Snapshot
from service.decision import Facts, Membership, Person

FACT_SOURCES = ("population", "jamkesda", "jkn")


@dataclass(frozen=True)
class SnapshotSet:
    """The snapshot of each fact source a decision uses (None: never imported)."""

    population: Snapshot | None
    jamkesda: Snapshot | None
    jkn: Snapshot | None

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


def _valid_at(model: Any, snapshot_id: int) -> ColumnElement[bool]:
    """The versions of a source's rows that made up snapshot ``snapshot_id``."""
    return and_(
        model.valid_from <= snapshot_id,
        or_(model.valid_to.is_(None), model.valid_to > snapshot_id),
    )


def _row(session: Session, model: Any, nik: str, snapshot: Snapshot | None) -> Any:
    if snapshot is None:
        return None
    query = select(model).where(model.nik == nik, _valid_at(model, snapshot.id))
    return session.scalars(query).first()


def load_facts(session: Session, nik: str, snapshots: SnapshotSet) -> Facts:
    """What the given snapshots say about ``nik``."""
    person_row: PopulationRow | None = _row(session, PopulationRow, nik, snapshots.population)
    member_row: JamkesdaRow | None = _row(session, JamkesdaRow, nik, snapshots.jamkesda)
    jkn_row: JknRow | None = _row(session, JknRow, nik, snapshots.jkn)
    person = (
        Person(
            name=person_row.name,
            birth_date=person_row.birth_date,
            village_code=person_row.village_code,
            domiciled_since=person_row.domiciled_since,
            status=person_row.status,
        )
        if person_row
        else None
    )
    membership = (
        Membership(
            status=member_row.status,
            start=member_row.start_date,
            end=member_row.end_date,
            kelas=member_row.kelas,
        )
        if member_row
        else None
    )
    return Facts(
        population_known=snapshots.population is not None,
        person=person,
        jamkesda_known=snapshots.jamkesda is not None,
        membership=membership,
        jkn_known=snapshots.jkn is not None,
        jkn_active=jkn_row is not None and jkn_row.status == "AKTIF",
    )
