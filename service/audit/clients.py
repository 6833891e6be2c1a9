"""The API clients as auditors see them (SPEC §10): who holds a key, never the key itself."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Client, Facility


def list_api_clients(session: Session) -> list[tuple[Client, Facility | None]]:
    """Every client with its facility (None: not bound to one), oldest first, revoked too."""
    statement = (
        select(Client, Facility)
        .outerjoin(Facility, Facility.code == Client.facility_code)
        .order_by(Client.created_at, Client.id)
    )
    return [(client, facility) for client, facility in session.execute(statement)]
