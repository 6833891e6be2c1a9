"""The sequencer: queued check records become leaves of the log, and the log gets checkpoints.

One sequencer at a time, however many processes and servers run one: on PostgreSQL a
transaction-scoped advisory lock (a sequencer that does not get it does nothing and tries
again later); on SQLite the database's single write lock, which each transaction here
takes with its first statement. The request path never waits for it: a check only commits
its record, and a trigger queues the record in the same transaction (migration 0005).

Time is bound in the log (SPEC §13): each checkpoint carries its signing time in a signed
``time`` line, and a queued record decided more than ``max_skew`` seconds before the
latest checkpoint's time is quarantined (``ledger_quarantine``) instead of appended. Such
a record was committed after a checkpoint that it claims to precede: backdated through
SQL, or written by a server whose clock was set back.

The caller owns the transaction: each function expects a fresh one and leaves the commit
to the caller, so that a failure rolls everything back, queue rows included.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Table, delete, false, func, select
from sqlalchemy.orm import Session

from models import (
    CheckRecord,
    LedgerCheckpoint,
    LedgerEntry,
    LedgerHash,
    LedgerQuarantine,
    LedgerQueue,
)
from service import clock
from service.config import DEFAULT_MAX_SKEW_SECONDS
from service.imports.writer import row_writer
from service.ledger import store
from service.ledger.leaf import encode_leaf
from service.ledger.merkle import (
    HashReader,
    leaf_hash,
    stored_hash_index,
    stored_hashes,
    tree_hash,
)
from service.ledger.note import (
    Checkpoint,
    InvalidNote,
    Signer,
    checkpoint_time,
    format_checkpoint,
    parse_checkpoint,
    sign_note,
    time_extension,
)

# The key of the PostgreSQL advisory lock that makes sequencers take turns: "jamkesda".
LOCK_KEY = int.from_bytes(b"jamkesda", "big")
_ENTRIES = cast(Table, LedgerEntry.__table__)
_HASHES = cast(Table, LedgerHash.__table__)
BATCH = 1000


def sequence(
    session: Session,
    limit: int = BATCH,
    max_skew: float = DEFAULT_MAX_SKEW_SECONDS,
    quarantined: list[int] | None = None,
) -> int:
    """Take up to ``limit`` queued records, in id order, into the log; how many were taken.

    Returns 0 at once when another sequencer holds the lock. Records queued after others
    were sequenced (committed late, or out of id order) are simply appended after them:
    the queue, not the ids, says what is still to do, so nothing is ever skipped. A record
    decided more than ``max_skew`` seconds before the latest checkpoint's time is
    quarantined instead (its id added to ``quarantined``): it counts as taken, but it is
    not appended.
    """
    if not _take_turn(session, queue_write=True):
        return 0
    # On SQLite this DELETE is the transaction's first statement, so it takes the write
    # lock before anything is read: two sequencers can never read the same tree size.
    next_ids = select(LedgerQueue.record_id).order_by(LedgerQueue.record_id).limit(limit)
    taken = session.scalars(
        delete(LedgerQueue)
        .where(LedgerQueue.record_id.in_(next_ids.scalar_subquery()))
        .returning(LedgerQueue.record_id)
    ).all()
    if not taken:
        return 0
    records = session.execute(
        select(*store.LEAF_COLUMNS).where(CheckRecord.id.in_(taken)).order_by(CheckRecord.id)
    ).mappings()
    size = store.tree_size(session)
    reader = _batch_reader(store.hash_reader(session), size)
    latest = store.latest_checkpoint(session)
    floor = None if latest is None else signed_time(latest) - timedelta(seconds=max_skew)
    entries: list[list[object]] = []
    hashes: list[list[object]] = []
    held: list[int] = []
    for record in records:
        if floor is not None and clock.aware(record["decided_at"]) < floor:
            held.append(record["id"])
            continue
        index = size + len(entries)
        hash_ = leaf_hash(encode_leaf(record))
        entries.append([index, record["id"], hash_])
        first = stored_hash_index(0, index)
        new = stored_hashes(index, hash_, reader)
        reader.keep(range(first, first + len(new)), new)
        hashes += [[position, value] for position, value in enumerate(new, start=first)]
    if len(entries) + len(held) != len(taken):
        # The trigger queues only inserted records, and records are never deleted.
        missing = len(taken) - len(entries) - len(held)
        raise RuntimeError(f"{missing} queued records do not exist")
    if held:
        assert latest is not None
        _quarantine(session, held, latest)
        if quarantined is not None:
            quarantined += held
    # COPY on PostgreSQL (batches on SQLite): row-by-row INSERTs were most of a batch's time.
    for table, columns, rows in (
        (_ENTRIES, ("leaf_index", "record_id", "leaf_hash"), entries),
        (_HASHES, ("position", "hash"), hashes),
    ):
        with row_writer(session, table, columns) as write:
            for row in rows:
                write(row)
    return len(taken)


def signed_time(checkpoint: LedgerCheckpoint) -> datetime:
    """When a stored checkpoint was signed: its signed ``time`` line, else its ``signed_at``.

    Checkpoints signed before the time line existed have only the stored column.
    """
    try:
        seconds = checkpoint_time(parse_checkpoint(_note_text(checkpoint.note)))
    except InvalidNote:
        seconds = None
    if seconds is None:
        return clock.aware(checkpoint.signed_at)
    return datetime.fromtimestamp(seconds, UTC)


def _note_text(note: str) -> str:
    """The text of a signed note, before its signature lines (not verified here)."""
    return note[: note.rfind("\n\n") + 1]


def _quarantine(session: Session, record_ids: list[int], latest: LedgerCheckpoint) -> None:
    """Keep these records out of the log, with the checkpoint they were measured against."""
    now = clock.now()
    session.add_all(
        LedgerQuarantine(
            record_id=record_id,
            quarantined_at=now,
            checkpoint_size=latest.tree_size,
            checkpoint_time=signed_time(latest),
        )
        for record_id in record_ids
    )
    session.flush()


def checkpoint(
    session: Session, signer: Signer, interval: float, force: bool = False
) -> LedgerCheckpoint | None:
    """Sign and store a checkpoint when the log grew and ``interval`` seconds have passed.

    The first checkpoint is signed whenever none exists, even of the empty log; ``force``
    skips the wait (but a tree size is never signed twice). Returns the new checkpoint,
    or None when none was due or another sequencer holds the lock.
    """
    if not _take_turn(session, queue_write=False):
        return None
    latest = store.latest_checkpoint(session)
    size = store.tree_size(session)
    now = clock.now()
    if latest is not None:
        waited = (now - clock.aware(latest.signed_at)).total_seconds()
        if size <= latest.tree_size or (waited < interval and not force):
            return None
    root = tree_hash(size, store.hash_reader(session))
    # The time line holds whole seconds, and the stored column the same instant, so that
    # both say exactly when the checkpoint was signed.
    now = now.replace(microsecond=0)
    signed = LedgerCheckpoint(
        tree_size=size,
        root_hash=root,
        note=signed_checkpoint(signer, size, root, int(now.timestamp())),
        signed_at=now,
    )
    session.add(signed)
    session.flush()
    return signed


def signed_checkpoint(signer: Signer, size: int, root: bytes, seconds: int | None = None) -> str:
    """The signed note of a checkpoint of this log (the origin is the key's name).

    ``seconds``, the signing time in Unix seconds, becomes the ``time`` extension line; the
    sequencer always gives it (None only writes a checkpoint of the older form).
    """
    extensions = () if seconds is None else (time_extension(seconds),)
    checkpoint = Checkpoint(signer.name, size, root, extensions)
    return sign_note(format_checkpoint(checkpoint), signer)


def _take_turn(session: Session, queue_write: bool) -> bool:
    """Make this transaction the only sequencer until it ends; False if another one is."""
    if session.get_bind().dialect.name == "postgresql":
        return bool(session.scalar(select(func.pg_try_advisory_xact_lock(LOCK_KEY))))
    if not queue_write:
        # SQLite grants its one write lock to the first write of a transaction: a write
        # that changes nothing takes it before anything is read.
        session.execute(delete(LedgerQueue).where(false()))
    return True


class _BatchReader:
    """A ``HashReader`` that knows the hashes of this batch and reads only the others."""

    def __init__(self, read: HashReader) -> None:
        """Read what this batch does not know through ``read``."""
        self._read = read
        self._known: dict[int, bytes] = {}

    def keep(self, positions: Iterable[int], hashes: Sequence[bytes]) -> None:
        """Know the hashes at these positions from now on."""
        self._known.update(zip(positions, hashes, strict=True))

    def __call__(self, positions: Sequence[int]) -> list[bytes]:
        """The hashes at ``positions``: those known, and one read of the rest."""
        missing = [position for position in positions if position not in self._known]
        if missing:
            self.keep(missing, self._read(missing))
        return [self._known[position] for position in positions]


def _batch_reader(read: HashReader, size: int) -> _BatchReader:
    """A batch's reader, primed with the stored hashes that the new leaves will need.

    A leaf appended after the first ``size`` needs only hashes of leaves after those (which
    the batch writes itself) and of the complete subtrees that make up the first ``size``
    leaves (the "frontier"): one read fetches the latter, O(log n) hashes.
    """
    reader = _BatchReader(read)
    positions, lo = [], 0
    while lo < size:
        level = (size - lo).bit_length() - 1
        positions.append(stored_hash_index(level, lo >> level))
        lo += 1 << level
    if positions:
        reader.keep(positions, read(positions))
    return reader
