"""Every data import ever made, for auditors: which data a decision could have rested on."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Snapshot


def list_snapshots(session: Session) -> Sequence[Snapshot]:
    """Every import of every source, facilities too, newest first."""
    return session.scalars(select(Snapshot).order_by(Snapshot.id.desc())).all()
