"""What an auditor asks of the log (SPEC §5 Ledger API): its checkpoint, proofs and leaves.

Every size and range is bounded by the latest stored checkpoint: an auditor can only check
a proof against a root that the log has signed, and the log answers nothing beyond it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import CheckRecord, LedgerQuarantine
from service.ledger import store
from service.ledger.merkle import consistency_proof, leaf_and_inclusion_proof


class OutsideCheckpoint(ValueError):
    """A size or range that the latest checkpoint does not cover (or that is empty).

    Its message is the answer's ``detail``: one Indonesian sentence for the auditor.
    """

    def __init__(self, message: str, checkpoint_size: int) -> None:
        """Say what is wrong (in Indonesian) and the size of the latest checkpoint."""
        super().__init__(message)
        self.checkpoint_size = checkpoint_size


class NotInTree(LookupError):
    """The record exists but is not among the leaves of the tree asked about."""

    def __init__(self, leaf_index: int | None) -> None:
        """The record's leaf index, or None while it is not sequenced."""
        super().__init__("not sequenced yet" if leaf_index is None else f"leaf {leaf_index}")
        self.leaf_index = leaf_index


@dataclass(frozen=True)
class Inclusion:
    """An inclusion proof: the leaf's index and hash, and the hashes up to the root."""

    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    proof: list[bytes]


def latest_note(session: Session) -> str | None:
    """The latest stored checkpoint's signed note; None before the sequencer signed one.

    Only the sequencer process holds the signing key (SPEC §13): it signs the empty log's
    checkpoint in its first round, when its server starts, and the API serves what it
    stored.
    """
    latest = store.latest_checkpoint(session)
    return latest.note if latest else None


@dataclass(frozen=True)
class Quarantined:
    """A record the sequencer kept out of the log, and the checkpoint it was measured against."""

    record_id: int
    check_id: str
    decided_at: datetime
    quarantined_at: datetime
    checkpoint_size: int
    checkpoint_time: datetime


def quarantined(session: Session, limit: int, after_id: int | None) -> list[Quarantined]:
    """Up to ``limit`` quarantined records, newest record first, after record ``after_id``."""
    statement = (
        select(
            LedgerQuarantine.record_id,
            CheckRecord.check_id,
            CheckRecord.decided_at,
            LedgerQuarantine.quarantined_at,
            LedgerQuarantine.checkpoint_size,
            LedgerQuarantine.checkpoint_time,
        )
        .join(CheckRecord, CheckRecord.id == LedgerQuarantine.record_id)
        .order_by(LedgerQuarantine.record_id.desc())
        .limit(limit)
    )
    if after_id is not None:
        statement = statement.where(LedgerQuarantine.record_id < after_id)
    return [Quarantined(*row) for row in session.execute(statement)]


def inclusion(session: Session, check_id: str, tree_size: int) -> Inclusion | None:
    """The proof that the record ``check_id`` is in the tree of ``tree_size`` leaves.

    None when no record has this reference; ``NotInTree`` when it has no leaf in that tree.
    """
    _within(session, tree_size, 1, "tree_size")
    found = store.leaf_of_check(session, check_id)
    if found is None:
        return None
    index = found.leaf_index
    if index is None or index >= tree_size:
        raise NotInTree(index)
    leaf_hash, proof = leaf_and_inclusion_proof(index, tree_size, store.hash_reader(session))
    return Inclusion(index, tree_size, leaf_hash, proof)


def consistency(session: Session, first: int, second: int) -> list[bytes]:
    """The proof that the tree of ``first`` leaves is a prefix of the tree of ``second``."""
    size = _within(session, second, 1, "second")
    if not 1 <= first <= second:
        raise OutsideCheckpoint(
            f"Parameter first harus antara 1 dan nilai second ({second}).", size
        )
    if first == second:
        return []
    return consistency_proof(first, second, store.hash_reader(session))


def entries(session: Session, start: int, end: int) -> list[bytes]:
    """The leaf bytes from ``start`` up to ``end`` (exclusive), at most ``store.MAX_ENTRIES``."""
    size = _within(session, end, 1, "end")
    if not 0 <= start < end:
        raise OutsideCheckpoint(
            f"Parameter start harus antara 0 dan nilai end dikurangi 1 ({end - 1}).", size
        )
    return store.entries(session, start, end)


def _within(session: Session, value: int, smallest: int, name: str) -> int:
    """The latest checkpoint's size, after checking that ``value`` lies within it."""
    size = store.checkpoint_size(session)
    if size < smallest:
        raise OutsideCheckpoint(
            f"Checkpoint terakhir masih kosong (0 entri): belum ada nilai {name} yang dapat "
            "diminta.",
            size,
        )
    if not smallest <= value <= size:
        raise OutsideCheckpoint(
            f"Di luar checkpoint terakhir: parameter {name} harus antara {smallest} dan "
            f"{size}, jumlah entri pada checkpoint terakhir.",
            size,
        )
    return size
