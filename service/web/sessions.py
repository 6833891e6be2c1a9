"""Sign-in sessions of the web pages, kept on the server (SPEC §10).

The browser's cookie holds a random token and nothing else of value: not the API key,
which is read once at sign-in and then forgotten. Each page request looks the token up
here, with its client, every time (not through the API's key cache), so that a revoked
key or a sign-out closes the session at the very next request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from models import Client, SavedSearch, WebSession
from service import clock

# A session unused this long is over: SPEC §10's idle expiry.
IDLE_EXPIRY = timedelta(hours=8)
# ``seen_at`` is written at most this often, not on every page view.
SEEN_RESOLUTION = timedelta(minutes=1)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SignedIn:
    """An open session and the client it belongs to."""

    session_id: int
    client: Client


def start_session(session: Session, client: Client) -> str:
    """Open a session for ``client`` and return its token, for the cookie only."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    _forget_closed_searches(session, now)
    session.add(
        WebSession(token_hash=_token_hash(token), client_id=client.id, created_at=now, seen_at=now)
    )
    session.flush()
    return token


def open_session(session: Session, token: str) -> SignedIn | None:
    """The session of ``token`` while it is open and its key not revoked, else None.

    Each use moves the idle expiry on (to the minute).
    """
    now = clock.now()
    found = session.execute(
        select(WebSession, Client)
        .join(Client, Client.id == WebSession.client_id)
        .where(WebSession.token_hash == _token_hash(token))
    ).first()
    if found is None:
        return None
    web_session, client = found
    seen = clock.aware(web_session.seen_at)
    if (
        web_session.ended_at is not None
        or client.revoked_at is not None
        or now - seen > IDLE_EXPIRY
    ):
        return None
    if now - seen >= SEEN_RESOLUTION:
        web_session.seen_at = now
    return SignedIn(web_session.id, client)


def end_session(session: Session, token: str) -> None:
    """Close the session of ``token`` on the server: its cookie opens nothing from now on."""
    now = clock.now()
    session.execute(
        update(WebSession)
        .where(WebSession.token_hash == _token_hash(token), WebSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    _forget_closed_searches(session, now)


def _forget_closed_searches(session: Session, now: datetime) -> None:
    """Delete the saved searches of sessions that are over: nothing can open them again.

    A saved search holds a NIK's keyed hash, so it is kept no longer than it is usable.
    The sessions themselves stay, as the record of who signed in when.
    """
    closed = select(WebSession.id).where(
        or_(WebSession.ended_at.is_not(None), WebSession.seen_at < now - IDLE_EXPIRY)
    )
    session.execute(delete(SavedSearch).where(SavedSearch.session_id.in_(closed)))
