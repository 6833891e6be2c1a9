"""The access log: every request to the audit and ledger APIs and to the web pages (SPEC §10)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId

# Longer paths and query strings are cut to this size (after their NIKs are masked).
MAX_TEXT = 2000


class AccessRecord(Base):
    """One request to the audit or ledger API, refused ones included; never a plain NIK."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # NULL when the caller's key was missing, unknown or revoked.
    client_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("clients.id"), nullable=True)
    method: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(MAX_TEXT))
    # The query string with every NIK and every other long run of digits masked.
    query: Mapped[str] = mapped_column(String(MAX_TEXT))
    status: Mapped[int] = mapped_column(Integer)
    # The caller's network address, which limits the receipt page's tries (SPEC §10).
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (Index("ix_access_log_address_at", "address", "at"),)
