"""Sessions of the web pages (SPEC §10) and the console's saved searches."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId


class WebSession(Base):
    """A signed-in browser: the client whose key was pasted, never the key itself.

    The cookie carries a random token; only its SHA-256 is stored, so a copy of this table
    opens no session. A session ends at sign-out (``ended_at``), after eight idle hours
    (``seen_at``), or when its client's key is revoked.
    """

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[int] = mapped_column(Integer, ForeignKey("clients.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SavedSearch(Base):
    """A console search kept on the server, so that its pages go by an opaque token.

    A NIK search is posted, never put in an address (SPEC §10): the search is kept here
    with the NIK as its keyed hash and mask only, and its result pages name the token.
    """

    __tablename__ = "web_searches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token: Mapped[str] = mapped_column(String(43), unique=True)
    session_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), ForeignKey("web_sessions.id")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The validated form as JSON: the filter's values, the NIK as hash and mask.
    form: Mapped[str] = mapped_column(Text)
