"""The check records: one row for every check ever made, never updated or deleted."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Float, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId


class CheckRecord(Base):
    """A decision and everything needed to explain and re-derive it; no plain NIK."""

    __tablename__ = "check_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    check_id: Mapped[str] = mapped_column(String(14), unique=True)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    nik_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    nik_masked: Mapped[str | None] = mapped_column(String(32), nullable=True)
    facility_code: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("facilities.code"), nullable=True
    )
    client_id: Mapped[int] = mapped_column(Integer, ForeignKey("clients.id"))
    operator_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    channel: Mapped[str] = mapped_column(String(16))
    service_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    service_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    external_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    name_match: Mapped[str] = mapped_column(String(16))
    birth_date_match: Mapped[str] = mapped_column(String(16))
    decision: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[str]] = mapped_column(JSON)
    coverage: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    # For INVALID_REQUEST records: which fields were wrong (field -> messages).
    errors: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    policy_version: Mapped[str] = mapped_column(String(64))
    population_snapshot_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("snapshots.id"), nullable=True
    )
    jamkesda_snapshot_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("snapshots.id"), nullable=True
    )
    jkn_snapshot_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("snapshots.id"), nullable=True
    )
    latency_ms: Mapped[float] = mapped_column(Float)
    # The batch the check came in (``batches.batch_id``), NULL outside batches. No foreign
    # key: on SQLite adding one would rebuild this table (and drop its ledger trigger), and
    # the batch row is written in the same transaction as its records.
    batch_id: Mapped[str | None] = mapped_column(String(16), nullable=True)

    __table_args__ = (
        Index("ix_check_records_nik_hash_id", "nik_hash", "id"),
        # The audit listing of one facility, newest first (decided_at, then id): a page of
        # any month, or at any depth of the cursor, is one range of this index.
        Index("ix_check_records_facility_code_decided_at_id", "facility_code", "decided_at", "id"),
        # Audit searches by period: the listing's from/to, the export, and the statistics,
        # which count a period by facility, decision and day from this index alone.
        Index(
            "ix_check_records_decided_at_facility_code_decision",
            "decided_at",
            "facility_code",
            "decision",
        ),
        # The audit listing of one batch; most records have none, so only those are indexed.
        Index(
            "ix_check_records_batch_id",
            "batch_id",
            postgresql_where=text("batch_id IS NOT NULL"),
            sqlite_where=text("batch_id IS NOT NULL"),
        ),
    )
