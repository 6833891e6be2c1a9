"""Reading check records for auditors: a filtered page, newest first, or one record.

This module only reads: nothing in the audit package updates or deletes a record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, select, tuple_
from sqlalchemy.orm import Session, aliased

from models import CheckRecord, Client, Facility, Snapshot
from service.audit.cursor import encode_cursor
from service.audit.filters import CheckFilter
from service.facts import SnapshotSet, snapshots_by_id
from service.records import find_record

# The order of the listing and the export: by decision time, the id breaking ties. With
# the indexes led by decided_at and by (facility_code, decided_at), a page of any period,
# however old, or at any depth of the cursor reads little more than its own rows. (Ids
# follow decision times only roughly, so an id order could not use a period's index.)
NEWEST_FIRST = (CheckRecord.decided_at.desc(), CheckRecord.id.desc())


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
    session: Session, check_filter: CheckFilter, limit: int, after_id: int | None = None
) -> RecordPage:
    """Up to ``limit`` records of the filter, newest first, after the record ``after_id``.

    The cursor names the last record of the previous page; the next page starts below it
    in the listing's order, so records that arrive meanwhile (decided later) never shift
    the items of the following pages.
    """
    statement = listing_statement(check_filter, limit, after_id, session.get_bind().dialect.name)
    rows = session.execute(statement).all()
    page = rows[:limit]
    snapshots = _snapshots(session, (row[0] for row in page))
    entries = [
        AuditEntry(record, facility, client, _snapshot_set(record, snapshots))
        for record, facility, client in page
    ]
    next_cursor = encode_cursor(page[-1][0].id) if len(rows) > limit else None
    return RecordPage(entries, next_cursor)


def listing_statement(
    check_filter: CheckFilter, limit: int, after_id: int | None, dialect: str
) -> Select[CheckRecord, Facility | None, Client | None]:
    """The SELECT of a page: ``limit + 1`` rows, whose last says whether another page follows."""
    statement = check_filter.apply(
        select(CheckRecord, Facility, Client)
        .outerjoin(Facility, Facility.code == CheckRecord.facility_code)
        .outerjoin(Client, Client.id == CheckRecord.client_id),
        dialect,
    )
    if after_id is not None:
        statement = statement.where(listed_after(after_id))
    return statement.order_by(*NEWEST_FIRST).limit(limit + 1)


def listed_after(record_id: int) -> ColumnElement[bool]:
    """True for the records that come after record ``record_id`` in the listing's order.

    The record's decision time is looked up in the statement itself (one primary-key
    probe), so a cursor stays just an id. Records are never deleted, so a cursor this
    service made always finds its record; any other id gives an empty page.
    """
    cursor_record = aliased(CheckRecord, name="cursor_record")
    decided_at = (
        select(cursor_record.decided_at).where(cursor_record.id == record_id).scalar_subquery()
    )
    return tuple_(CheckRecord.decided_at, CheckRecord.id) < tuple_(decided_at, record_id)


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
