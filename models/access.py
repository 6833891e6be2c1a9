"""The audit API's own access log: every request to ``/v1/audit/`` and ``/v1/ledger/``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
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
