"""Data imports (snapshots) and the row versions they bring, kept with their history.

Each population, Jamkesda and JKN import is a full snapshot. A row version is valid
from the snapshot that introduced it (``valid_from``) until the snapshot that changed
or removed it (``valid_to``, NULL while current). The facts in force at snapshot S are
the versions with ``valid_from <= S`` and ``valid_to`` NULL or greater than S.

A snapshot dated before the one in force is kept as history but never comes into
force: its rows are stored with ``valid_from = valid_to`` (an empty interval), so they
can be read back by snapshot but are never the facts of any moment.

Every population, Jamkesda and JKN row version also keeps ``nik_hash``, the keyed hash of
its NIK, indexed: a replay finds a record's person by it. ``registry_hash_key`` says which
key those hashes were made under (``service.registry_key``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId


class Snapshot(Base):
    """One data import: population, jamkesda, jkn or facilities."""

    __tablename__ = "snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    as_of: Mapped[date] = mapped_column(Date)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    added: Mapped[int] = mapped_column(Integer)
    changed: Mapped[int] = mapped_column(Integer)
    removed: Mapped[int] = mapped_column(Integer)
    unchanged: Mapped[int] = mapped_column(Integer)
    # False for an import dated before the snapshot in force at the time.
    came_into_force: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (Index("ix_snapshots_source_sha256", "source", "sha256"),)


def _valid_from() -> Mapped[int]:
    return mapped_column(Integer, ForeignKey("snapshots.id"))


def _valid_to() -> Mapped[int | None]:
    return mapped_column(Integer, ForeignKey("snapshots.id"), nullable=True)


def _nik_hash() -> Mapped[str]:
    # ``service.nik.nik_hash`` of ``nik`` under NIK_HASH_KEY: what a replay looks up. Its
    # index is a hash index on PostgreSQL (equality is the only look-up): a third of the
    # B-tree's size, quicker to build at import and to rewrite by ``jamkesda db rehash``.
    return mapped_column(String(64))


class PopulationRow(Base):
    """A version of one person's row in the Disdukcapil extract."""

    __tablename__ = "population_rows"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    nik: Mapped[str] = mapped_column(String(16))
    no_kk: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))
    village_code: Mapped[str] = mapped_column(String(10))
    domiciled_since: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(8))
    valid_from: Mapped[int] = _valid_from()
    valid_to: Mapped[int | None] = _valid_to()
    nik_hash: Mapped[str] = _nik_hash()

    __table_args__ = (
        Index("ix_population_rows_nik_valid_from", "nik", "valid_from"),
        Index("ix_population_rows_nik_hash", "nik_hash", postgresql_using="hash"),
    )


class JamkesdaRow(Base):
    """A version of one person's Jamkesda membership."""

    __tablename__ = "jamkesda_rows"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    nik: Mapped[str] = mapped_column(String(16))
    member_no: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(8))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    kelas: Mapped[str | None] = mapped_column(String(8), nullable=True)
    valid_from: Mapped[int] = _valid_from()
    valid_to: Mapped[int | None] = _valid_to()
    nik_hash: Mapped[str] = _nik_hash()

    __table_args__ = (
        Index("ix_jamkesda_rows_nik_valid_from", "nik", "valid_from"),
        Index("ix_jamkesda_rows_nik_hash", "nik_hash", postgresql_using="hash"),
    )


class JknRow(Base):
    """A version of one person's JKN (BPJS Kesehatan) participation."""

    __tablename__ = "jkn_rows"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    nik: Mapped[str] = mapped_column(String(16))
    card_no: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    segment: Mapped[str] = mapped_column(String(64))
    valid_from: Mapped[int] = _valid_from()
    valid_to: Mapped[int | None] = _valid_to()
    nik_hash: Mapped[str] = _nik_hash()

    __table_args__ = (
        Index("ix_jkn_rows_nik_valid_from", "nik", "valid_from"),
        Index("ix_jkn_rows_nik_hash", "nik_hash", postgresql_using="hash"),
    )


class RegistryHashKey(Base):
    """Which key the registry rows' ``nik_hash`` were made with: at most one row.

    ``fingerprint`` is ``service.registry_key.key_fingerprint`` of that key (an HMAC of
    a fixed label under it, never the key). No row while the registry is empty.
    """

    __tablename__ = "registry_hash_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # When a rehash last replaced the key by another: check records made before it hold
    # hashes under an earlier key, which no registry row carries any more. NULL while the
    # registry has only ever been hashed under one key.
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)


class Facility(Base):
    """A puskesmas, hospital or clinic; its code is what clients are bound to."""

    __tablename__ = "facilities"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    village_code: Mapped[str] = mapped_column(String(10))
    jamkesda_partner: Mapped[bool] = mapped_column(Boolean)
    snapshot_id: Mapped[int] = mapped_column(Integer, ForeignKey("snapshots.id"))
