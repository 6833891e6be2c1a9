"""The ledger's tables: queued records, the log's leaves, its stored hashes, its checkpoints,
and the records the sequencer quarantined.

Rows are only ever appended, except that a queued record's row is deleted when it is
sequenced into the log or quarantined.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, LargeBinary, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId

HASH_BYTES = 32


class LedgerQueue(Base):
    """A check record committed but not yet in the log; a trigger on check_records adds it.

    The trigger of migration 0005 inserts the row in the same transaction as the record,
    so no record can be committed without being queued, whatever order records commit in.
    """

    __tablename__ = "ledger_queue"

    record_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)


class LedgerEntry(Base):
    """A leaf of the log: which record sits at which position, and its leaf hash."""

    __tablename__ = "ledger_entries"

    leaf_index: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    record_id: Mapped[int] = mapped_column(BigId, ForeignKey("check_records.id"), unique=True)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(HASH_BYTES))


class LedgerHash(Base):
    """One stored hash of the tree, at its tlog stored-hash index (``merkle.stored_hash_index``)."""

    __tablename__ = "ledger_hashes"

    position: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(HASH_BYTES))


class LedgerCheckpoint(Base):
    """A signed tree head: the full signed note, and its size and root for queries."""

    __tablename__ = "ledger_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # A tree size is signed at most once: the log only grows, and a checkpoint is signed
    # only when it has.
    tree_size: Mapped[int] = mapped_column(BigInteger, unique=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(HASH_BYTES))
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LedgerQuarantine(Base):
    """A queued record the sequencer refused to log: decided too long before a checkpoint.

    SPEC §13: a record whose ``decided_at`` is older than the latest signed checkpoint's
    time by more than ``LEDGER_MAX_SKEW_SECONDS`` was written after that checkpoint with a
    time before it (backdated, or a server clock set back). It leaves the queue for this
    table, never for the log, and auditors list it at ``GET /v1/ledger/quarantine``. The
    checkpoint it was measured against is kept with it.
    """

    __tablename__ = "ledger_quarantine"

    record_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("check_records.id"), primary_key=True, autoincrement=False
    )
    quarantined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    checkpoint_size: Mapped[int] = mapped_column(BigInteger)
    checkpoint_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
