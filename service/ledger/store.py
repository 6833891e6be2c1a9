"""Data access for the ledger: the tree's size and stored hashes, leaves, checkpoints.

Only reads. The sequencer (``service.ledger.sequencer``) is the one writer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Row, RowMapping, Select, func, select
from sqlalchemy.orm import Session

from models import CheckRecord, LedgerCheckpoint, LedgerEntry, LedgerHash
from service.ledger.leaf import FIELDS, UnencodableRecord, encode_leaf
from service.ledger.merkle import HashReader

# The most leaves one call of ``entries`` returns (SPEC §5: a page holds at most 1000).
MAX_ENTRIES = 1000
# The record columns a leaf is encoded from.
LEAF_COLUMNS = tuple(CheckRecord.__table__.c[field] for field in FIELDS)


class MissingHashes(LookupError):
    """Stored hashes that the tree needs are absent: the ledger tables are damaged."""


def tree_size(session: Session) -> int:
    """How many leaves the log has: one more than its highest leaf index."""
    highest = session.scalar(select(func.max(LedgerEntry.leaf_index)))
    return 0 if highest is None else int(highest) + 1


def hash_reader(session: Session) -> HashReader:
    """A ``HashReader`` over ``ledger_hashes``: one ``IN`` query per call."""

    def read(positions: Sequence[int]) -> list[bytes]:
        """The stored hashes at ``positions``, in the same order."""
        rows = session.execute(
            select(LedgerHash.position, LedgerHash.hash).where(
                LedgerHash.position.in_(set(positions))
            )
        )
        found = {position: bytes(hash_) for position, hash_ in rows}
        missing = [position for position in positions if position not in found]
        if missing:
            raise MissingHashes(f"no stored hash at positions {missing[:10]}")
        return [found[position] for position in positions]

    return read


def leaf_of_check(session: Session, check_id: str) -> Row[int, int | None] | None:
    """The record with this canonical reference and its leaf index (None while queued).

    None when no record has this reference. One statement: a proof is asked for by
    reference, and each round trip counts at ten million records.
    """
    return session.execute(
        select(CheckRecord.id, LedgerEntry.leaf_index)
        .outerjoin(LedgerEntry, LedgerEntry.record_id == CheckRecord.id)
        .where(CheckRecord.check_id == check_id)
    ).first()


def leaf_rows(start: int, end: int) -> Select[Any]:
    """The leaves ``start`` to ``end - 1`` with their records' leaf fields, in leaf order.

    An outer join, so that a leaf whose record has gone still comes back (with nulls),
    for the verifier to name.
    """
    return (
        select(LedgerEntry.leaf_index, LedgerEntry.record_id, LedgerEntry.leaf_hash, *LEAF_COLUMNS)
        .outerjoin(CheckRecord, CheckRecord.id == LedgerEntry.record_id)
        .where(LedgerEntry.leaf_index >= start, LedgerEntry.leaf_index < end)
        .order_by(LedgerEntry.leaf_index)
    )


class EntryUnavailable(LookupError):
    """A leaf the log cannot serve: its record was deleted, or changed past encoding.

    ``reason`` goes into the answer's Indonesian ``detail``, so it is Indonesian too.
    """

    def __init__(self, leaf_index: int, reason: str) -> None:
        """The leaf at fault and what is wrong with it."""
        super().__init__(f"entri {leaf_index}: {reason}")
        self.leaf_index = leaf_index
        self.reason = reason


MISSING_ENTRY = "ledger tidak memiliki entri dengan indeks ini"
DELETED_RECORD = "catatan pemeriksaannya telah dihapus"


def entries(session: Session, start: int, end: int) -> list[bytes]:
    """The leaf bytes of leaves ``start`` up to ``end`` (exclusive), at most MAX_ENTRIES.

    Leaves are re-encoded from the records as they are stored now: a record changed
    since it was sequenced gives leaf bytes that no longer hash to the signed root. A
    leaf that cannot be served at all ends the page just before it, so that every entry
    served is at its own index; asked for first, it raises ``EntryUnavailable``.
    """
    end = min(end, start + MAX_ENTRIES)
    leaves: list[bytes] = []
    for row in session.execute(leaf_rows(start, end)).mappings():
        try:
            leaves.append(_leaf_bytes(row, start + len(leaves)))
        except EntryUnavailable:
            if leaves:
                break
            raise
    if not leaves:
        raise EntryUnavailable(start, MISSING_ENTRY)
    return leaves


def _leaf_bytes(row: RowMapping, index: int) -> bytes:
    """The leaf bytes of a ``leaf_rows`` row expected at ``index``, or ``EntryUnavailable``."""
    if row["leaf_index"] != index:
        raise EntryUnavailable(index, MISSING_ENTRY)
    if row["id"] is None:
        raise EntryUnavailable(index, DELETED_RECORD)
    try:
        return encode_leaf(row)
    except UnencodableRecord as error:
        # Only the field is named: the encoding's own message is English and repeats the
        # stored value.
        where = f" (kolom {error.field})" if error.field else ""
        reason = f"catatan pemeriksaannya tidak lagi dapat dikodekan{where}"
        raise EntryUnavailable(index, reason) from error


def checkpoint_size(session: Session) -> int:
    """The tree size of the latest stored checkpoint (0 before the first)."""
    return session.scalar(select(func.max(LedgerCheckpoint.tree_size))) or 0


def latest_checkpoint(session: Session) -> LedgerCheckpoint | None:
    """The stored checkpoint of the largest tree, or None before the first one."""
    return session.scalars(
        select(LedgerCheckpoint).order_by(LedgerCheckpoint.tree_size.desc()).limit(1)
    ).first()


def all_checkpoints(session: Session, batch: int = 1000) -> Iterator[LedgerCheckpoint]:
    """Every stored checkpoint, smallest tree first, read ``batch`` at a time."""
    after = -1
    while True:
        page = list(
            session.scalars(
                select(LedgerCheckpoint)
                .where(LedgerCheckpoint.tree_size > after)
                .order_by(LedgerCheckpoint.tree_size)
                .limit(batch)
            )
        )
        yield from page
        if len(page) < batch:
            return
        after = page[-1].tree_size
