"""API clients and the hashes of their keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class Client(Base):
    """A caller of the API with one role; desks and integrations are bound to a facility."""

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    facility_code: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("facilities.code"), nullable=True
    )
    # SHA-256 of the key: a key has 256 random bits, so a slow hash adds nothing.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # This client's own rate limit (``50/s``, ``600/m``); None: the server's RATE_LIMIT.
    rate_limit: Mapped[str | None] = mapped_column(String(16), nullable=True)
