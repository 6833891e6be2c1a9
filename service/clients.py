"""API clients: create, list, revoke, and resolve a bearer key to its client."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Client, Facility
from service import clock

KEY_PREFIX = "jk_"


class Role(StrEnum):
    """What a client may do (SPEC §3)."""

    DESK = "desk"
    INTEGRATION = "integration"
    AUDITOR = "auditor"
    ADMIN = "admin"


FACILITY_ROLES = (Role.DESK, Role.INTEGRATION)


class ClientError(ValueError):
    """A client cannot be created or changed as asked; the message says why."""


def key_hash(key: str) -> str:
    """The stored form of a key: its SHA-256, hex."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_client(
    session: Session, name: str, role: str, facility_code: str | None
) -> tuple[Client, str]:
    """Add a client and return it with its new key, which is never stored or shown again."""
    try:
        role = Role(role)
    except ValueError as exc:
        raise ClientError(f"unknown role {role!r}: use one of {', '.join(Role)}") from exc
    if not name.strip():
        raise ClientError("the client needs a name")
    if role in FACILITY_ROLES:
        if not facility_code:
            raise ClientError(f"a {role} client must be bound to a facility: give --facility CODE")
        if session.get(Facility, facility_code) is None:
            raise ClientError(f"unknown facility {facility_code!r}: import the facility list first")
    elif facility_code:
        raise ClientError(f"an {role} client is not bound to a facility: drop --facility")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    client = Client(
        name=name.strip(),
        role=role.value,
        facility_code=facility_code if role in FACILITY_ROLES else None,
        key_hash=key_hash(key),
        created_at=clock.now(),
    )
    session.add(client)
    session.flush()
    return client, key


def list_clients(session: Session) -> Sequence[Client]:
    """Every client, oldest first, revoked ones included."""
    return session.scalars(select(Client).order_by(Client.id)).all()


def revoke_client(session: Session, client_id: int) -> Client:
    """Revoke a client's key from now on; revoking twice keeps the first time."""
    client = session.get(Client, client_id)
    if client is None:
        raise ClientError(f"no client with id {client_id}")
    if client.revoked_at is None:
        client.revoked_at = clock.now()
    return client


def resolve_key(session: Session, key: str) -> Client | None:
    """The active client holding ``key``, or None for an unknown or revoked key."""
    digest = key_hash(key)
    client = session.scalars(select(Client).where(Client.key_hash == digest)).first()
    # The lookup is by hash; comparing the hash again in constant time keeps the
    # answer's timing independent of how much of a guessed key was right.
    if client is None or not hmac.compare_digest(client.key_hash, digest):
        return None
    return client if client.revoked_at is None else None
