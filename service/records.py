"""Data access for check records: append one, find one. Records are never updated or deleted."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import CheckRecord


def append_record(session: Session, record: CheckRecord) -> CheckRecord:
    """Add a record to the request's unit of work; it is committed with the answer."""
    session.add(record)
    session.flush()
    return record


def find_record(session: Session, check_id: str) -> CheckRecord | None:
    """The record with this canonical reference, or None."""
    return session.scalars(select(CheckRecord).where(CheckRecord.check_id == check_id)).first()
