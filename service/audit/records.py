"""Reading check records for auditors: a filtered page, newest first, or one record.

This module only reads: nothing in the audit package updates or deletes a record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import CheckRecord, Client, Facility, Snapshot
from service.audit.cursor import encode_cursor
from service.audit.filters import CheckFilter
from service.facts import SnapshotSet, snapshots_by_id
from service.records import find_record


@dataclass(frozen=True)
class AuditEntry:
    """A record with the facility, client and snapshots it names."""

    record: CheckRecord
    facility: Facility | None
    client: Client | None
    snapshots: SnapshotSet


@dataclass(frozen=True)
class RecordPage:
    """One page of a listing and the cursor of the next (None on the last page)."""

    entries: list[AuditEntry]
    next_cursor: str | None


def list_records(
    session: Session, check_filter: CheckFilter, limit: int, below_id: int | None = None
) -> RecordPage:
    """Up to ``limit`` records of the filter with ids below ``below_id``, newest first.

    Paging by id keeps pages stable: records that arrive meanwhile have higher ids and
    never shift the items of the following pages.
    """
    dialect = session.get_bind().dialect.name
    statement = check_filter.apply(
        select(CheckRecord, Facility, Client)
        .outerjoin(Facility, Facility.code == CheckRecord.facility_code)
        .outerjoin(Client, Client.id == CheckRecord.client_id),
        dialect,
    )
    if below_id is not None:
        statement = statement.where(CheckRecord.id < below_id)
    # One row more than asked says whether another page follows.
    rows = session.execute(statement.order_by(CheckRecord.id.desc()).limit(limit + 1)).all()
    page = rows[:limit]
    snapshots = _snapshots(session, (row[0] for row in page))
    entries = [
        AuditEntry(record, facility, client, _snapshot_set(record, snapshots))
        for record, facility, client in page
    ]
    next_cursor = encode_cursor(page[-1][0].id) if len(rows) > limit else None
    return RecordPage(entries, next_cursor)


def find_entry(session: Session, check_id: str) -> AuditEntry | None:
    """The record with this canonical reference, of any facility, or None."""
    record = find_record(session, check_id)
    if record is None:
        return None
    facility = session.get(Facility, record.facility_code) if record.facility_code else None
    snapshots = snapshots_by_id(session, _snapshot_ids(record))
    return AuditEntry(record, facility, session.get(Client, record.client_id), snapshots)


def _snapshot_ids(record: CheckRecord) -> tuple[int | None, int | None, int | None]:
    return (record.population_snapshot_id, record.jamkesda_snapshot_id, record.jkn_snapshot_id)


def _snapshots(session: Session, records: Iterable[CheckRecord]) -> dict[int, Snapshot]:
    """Every snapshot the records name, by id, in one query."""
    wanted = {i for record in records for i in _snapshot_ids(record) if i is not None}
    if not wanted:
        return {}
    return {s.id: s for s in session.scalars(select(Snapshot).where(Snapshot.id.in_(wanted)))}


def _snapshot_set(record: CheckRecord, snapshots: dict[int, Snapshot]) -> SnapshotSet:
    population, jamkesda, jkn = (
        snapshots.get(i) if i is not None else None for i in _snapshot_ids(record)
    )
    return SnapshotSet(population=population, jamkesda=jamkesda, jkn=jkn)
