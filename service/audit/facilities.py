"""The facilities an auditor chooses among, by name (the console's forms, SPEC §10)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Facility


def facilities_by_name(session: Session) -> Sequence[Facility]:
    """Every facility on file, in the order of their names."""
    return session.scalars(select(Facility).order_by(Facility.name, Facility.code)).all()
