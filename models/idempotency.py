"""Remembered answers of requests that carried an ``Idempotency-Key`` (SPEC §9.1)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId


class RememberedAnswer(Base):
    """The first answer to a client's key, kept for 24 hours so that a retry gets it again.

    A row is written in the same transaction as the records its answer reports, so a row
    exists exactly when its records do. The body holds no plain NIK.
    """

    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(Integer, ForeignKey("clients.id"))
    key: Mapped[str] = mapped_column(String(64))
    # Which door answered (``checks``, ``batch``, ``fhir``): one key serves one operation.
    operation: Mapped[str] = mapped_column(String(16))
    # SHA-256 of the request body's bytes, hex.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(64))
    location: Mapped[str | None] = mapped_column(String(64), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("client_id", "key"),
        # The purge deletes by age.
        Index("ix_idempotency_keys_created_at", "created_at"),
    )
