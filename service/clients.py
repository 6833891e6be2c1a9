"""API clients: create, list, revoke, and resolve a bearer key to its client."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Client, Facility
from service import clock
from service.ratelimit.rates import InvalidRate, Rate, parse_rate

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
    session: Session, name: str, role: str, facility_code: str | None, rate: str | None = None
) -> tuple[Client, str]:
    """Add a client and return it with its new key, which is never stored or shown again.

    ``rate`` (``50/s``, ``600/m``) is the client's own rate limit; None keeps RATE_LIMIT's.
    """
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
    rate_limit = _rate_text(rate) if rate is not None else None
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    client = Client(
        name=name.strip(),
        role=role.value,
        facility_code=facility_code if role in FACILITY_ROLES else None,
        key_hash=key_hash(key),
        created_at=clock.now(),
        rate_limit=rate_limit,
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


def set_rate(session: Session, client_id: int, rate: str | None) -> Client:
    """Give a client its own rate limit, or (None) put it back on the server's RATE_LIMIT."""
    client = session.get(Client, client_id)
    if client is None:
        raise ClientError(f"no client with id {client_id}")
    client.rate_limit = _rate_text(rate) if rate is not None else None
    return client


def _rate_text(rate: str) -> str:
    """A rate as stored, in its canonical form; raises ``ClientError`` if it is not one."""
    try:
        return str(parse_rate(rate))
    except InvalidRate as exc:
        raise ClientError(str(exc)) from exc


@dataclass(frozen=True)
class Caller:
    """The active client behind a request's key: who, in which role, at which facility."""

    id: int
    name: str
    role: str
    facility_code: str | None
    # The client's own rate limit; None: the server's RATE_LIMIT.
    rate_limit: Rate | None = None

    @classmethod
    def of(cls, client: Client) -> Caller:
        """The caller a stored client stands for."""
        rate = parse_rate(client.rate_limit) if client.rate_limit else None
        return cls(client.id, client.name, client.role, client.facility_code, rate)


class KeyCache:
    """Keys resolved in the last ``seconds``, kept by their hash in one worker process.

    Most requests then skip the key look-up. The price: a revoked key keeps working for
    at most ``seconds`` in a worker that has just seen it. Unknown and revoked keys are
    never kept, so a new key works at once and guessing fills nothing.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._callers: dict[str, tuple[float, Caller]] = {}

    def resolve(self, key: str, look_up: Callable[[str], Caller | None]) -> Caller | None:
        """The caller of ``key``: from the cache while fresh, else from ``look_up(key)``."""
        digest = key_hash(key)
        now = self.clock()
        kept = self._callers.get(digest)
        if kept is not None and now < kept[0]:
            return kept[1]
        caller = look_up(key)
        if caller is None:
            self._callers.pop(digest, None)
        else:
            self._callers[digest] = (now + self.seconds, caller)
        return caller


def resolve_key(session: Session, key: str) -> Client | None:
    """The active client holding ``key``, or None for an unknown or revoked key."""
    digest = key_hash(key)
    client = session.scalars(select(Client).where(Client.key_hash == digest)).first()
    # The lookup is by hash; comparing the hash again in constant time keeps the
    # answer's timing independent of how much of a guessed key was right.
    if client is None or not hmac.compare_digest(client.key_hash, digest):
        return None
    return client if client.revoked_at is None else None
