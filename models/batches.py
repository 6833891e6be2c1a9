"""Batches: one row for every ``POST /v1/checks/batch``, written with its items' records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId


class Batch(Base):
    """Who sent a batch, when, and how many items it had; its records carry ``batch_id``."""

    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # ``B-`` and a reference in the form of a check's (``B-K7QM-3XD9-2F4E``).
    batch_id: Mapped[str] = mapped_column(String(16), unique=True)
    client_id: Mapped[int] = mapped_column(Integer, ForeignKey("clients.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    items: Mapped[int] = mapped_column(Integer)
