"""``jamkesda ledger verify``: recompute the log from the check records and check it all.

In one pass over the leaves in order, a batch at a time (memory stays flat whatever the
size of the log), each record is encoded again and compared with the leaf hash it was
sequenced with; the tree is rebuilt from those leaves and compared with every stored
hash and every stored checkpoint, whose signature is checked against the verifier key.
Then no record may be missing from both the log and the queue.

Time (SPEC §13): no leaf may be decided more than ``max_skew`` seconds before a leaf that
precedes it, or before the signing time of a checkpoint that precedes it (one of a
smaller size, signed before the leaf was appended); the sequencer quarantines such a
record instead, so a leaf that breaks the rule was written past it (backdated). Nor may a
checkpoint be signed more than ``max_skew`` seconds before the checkpoint before it.

What it cannot see: rows removed together with every checkpoint that covered them. An
auditor who kept an earlier checkpoint sees that too, with a consistency proof.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select
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
from service.ledger import store
from service.ledger.leaf import UnencodableRecord, encode_leaf
from service.ledger.merkle import EMPTY_ROOT, leaf_hash, node_hash, stored_hash_index
from service.ledger.note import InvalidNote, _parse_verifier_key, parse_checkpoint, verify_note
from service.ledger.sequencer import signed_time

BATCH = 5000
NO_HASH = bytes(32)


@dataclass(frozen=True)
class Finding:
    """One thing wrong, and where: a leaf (with its record's reference), a checkpoint, …."""

    where: str
    what: str

    def __str__(self) -> str:
        """One line for the operator."""
        return f"{self.where}: {self.what}"


@dataclass
class Summary:
    """What was checked, and how many findings there were."""

    leaves: int = 0
    checkpoints: int = 0
    queued: int = 0
    findings: int = 0
    quarantined: int = 0

    def line(self) -> str:
        """The one-line summary; quarantined records, kept out of the log, when there are any."""
        held = (
            f", {self.quarantined} quarantined (GET /v1/ledger/quarantine)"
            if self.quarantined
            else ""
        )
        return (
            f"{self.leaves} leaves, {self.checkpoints} checkpoints, {self.queued} records "
            f"queued{held}: {self.findings or 'no'} problem{'' if self.findings == 1 else 's'} "
            "found"
        )


class _Findings:
    """Counts findings and reports them; follow-on ones of a kind are counted, not listed."""

    def __init__(self, summary: Summary, report: Callable[[Finding], None]) -> None:
        """Report to ``report``, count in ``summary``."""
        self._summary = summary
        self._report = report
        self._more: dict[str, tuple[int, str]] = {}
        self._listed: dict[str, int] = {}

    def add(self, where: str, what: str) -> None:
        """Report one finding."""
        self._summary.findings += 1
        self._report(Finding(where, what))

    def first_of(self, kind: str, where: str, what: str, more: str, listed: int = 1) -> None:
        """Report the first ``listed`` findings of ``kind``; later ones count towards ``more``."""
        self._listed[kind] = self._listed.get(kind, 0) + 1
        if self._listed[kind] > listed:
            count, text = self._more[kind]
            self._more[kind] = (count + 1, text)
            return
        self._more[kind] = (0, more)
        self.add(where, what)

    def close(self) -> None:
        """Report how many follow-on findings of each kind were not listed."""
        for count, text in self._more.values():
            if count:
                self.add(f"and {count} more", text)


class _Frontier:
    """The complete subtrees of the leaves so far: enough for the root and stored hashes."""

    def __init__(self) -> None:
        """An empty tree."""
        self._stack: list[tuple[int, bytes]] = []

    def append(self, leaf: bytes) -> list[bytes]:
        """Add a leaf hash; the hashes the log stores for it (``merkle.stored_hashes``)."""
        height, hash_ = 0, leaf
        written = [leaf]
        while self._stack and self._stack[-1][0] == height:
            hash_ = node_hash(self._stack.pop()[1], hash_)
            height += 1
            written.append(hash_)
        self._stack.append((height, hash_))
        return written

    def root(self) -> bytes:
        """The root of the tree over the leaves so far."""
        if not self._stack:
            return EMPTY_ROOT
        result = self._stack[-1][1]
        for _height, left in reversed(self._stack[:-1]):
            result = node_hash(left, result)
        return result


def verify_ledger(
    session: Session,
    verifier: str,
    report: Callable[[Finding], None],
    batch: int = BATCH,
    max_skew: float = DEFAULT_MAX_SKEW_SECONDS,
) -> Summary:
    """Check the whole ledger; ``report`` each finding as it is found; the summary at the end.

    ``max_skew`` is the tolerance, in seconds, of leaves and checkpoints going back in time.
    Raises ``InvalidNote`` at once if ``verifier`` is not a verifier key.
    """
    _parse_verifier_key(verifier)
    summary = Summary()
    findings = _Findings(summary, report)
    # Checkpoints first: one signed meanwhile covers no more than the tree size read next.
    last_checkpoint = session.scalar(select(func.max(LedgerCheckpoint.id))) or 0
    size = summary.leaves = store.tree_size(session)
    checkpoints = (c for c in store.all_checkpoints(session) if c.id <= last_checkpoint)
    checker = _CheckpointChecker(verifier, findings)
    times = _TimeChecker(max_skew, findings)
    pending = next(checkpoints, None)
    frontier = _Frontier()
    for lo in range(0, size + 1, batch):
        hi = min(lo + batch, size)
        rows = _leaf_rows(session, lo, hi)
        stored = _stored_hashes(session, lo, hi)
        position = stored_hash_index(0, lo)
        for index in range(lo, hi + 1):
            while pending is not None and pending.tree_size == index:
                summary.checkpoints += 1
                checker.check(pending, frontier.root())
                times.checkpoint(pending)
                pending = next(checkpoints, None)
            if index == hi:
                break
            times.leaf(rows.get(index), index)
            leaf = _leaf(rows.get(index), index, stored, position, findings)
            # Leaf n's hashes are stored from stored_hash_index(0, n) on, right after
            # those of leaf n - 1: counting them saves computing each index.
            for expected in frontier.append(leaf):
                if stored.get(position) != expected:
                    findings.first_of(
                        "hash",
                        f"stored hash {position} (leaf {index})",
                        "missing or wrong: proofs built from it do not verify",
                        "stored hashes missing or wrong",
                    )
                position += 1
    while pending is not None:
        summary.checkpoints += 1
        findings.add(
            _where(pending), f"the log has only {size} leaves: leaves it covered were removed"
        )
        pending = next(checkpoints, None)
    _check_queue(session, findings)
    summary.queued = session.scalar(select(func.count()).select_from(LedgerQueue)) or 0
    summary.quarantined = session.scalar(select(func.count()).select_from(LedgerQuarantine)) or 0
    findings.close()
    return summary


def _where(checkpoint: LedgerCheckpoint) -> str:
    """How a finding names a checkpoint."""
    return f"checkpoint of size {checkpoint.tree_size} (id {checkpoint.id})"


def _leaf_rows(session: Session, lo: int, hi: int) -> dict[int, Any]:
    """Leaves ``lo`` to ``hi - 1`` with their records' fields, by leaf index."""
    return {row["leaf_index"]: row for row in session.execute(store.leaf_rows(lo, hi)).mappings()}


def _stored_hashes(session: Session, lo: int, hi: int) -> dict[int, bytes]:
    """The stored hashes written when leaves ``lo`` to ``hi - 1`` were appended, by position."""
    first, end = stored_hash_index(0, lo), stored_hash_index(0, hi)
    rows = session.execute(
        select(LedgerHash.position, LedgerHash.hash).where(
            LedgerHash.position >= first, LedgerHash.position < end
        )
    )
    return {position: bytes(hash_) for position, hash_ in rows}


def _leaf(
    row: Any, index: int, stored: dict[int, bytes], position: int, findings: _Findings
) -> bytes:
    """The leaf hash of ``index`` (stored at ``position``) from its record; a finding if it differs.

    After a finding the tree goes on with the hash the log holds, so that one changed
    record is one finding, and each later one is found on its own.
    """
    if row is None:
        findings.add(f"leaf {index}", "missing: no ledger entry has this index")
        return stored.get(position, NO_HASH)
    kept = bytes(row["leaf_hash"])
    if row["id"] is None:
        findings.add(f"leaf {index} (record id {row['record_id']})", "its check record was deleted")
        return kept
    where = f"leaf {index} (check {row['check_id']})"
    try:
        recomputed = leaf_hash(encode_leaf(row))
    except UnencodableRecord as error:
        findings.add(where, f"the record can no longer be encoded ({error})")
        return kept
    if recomputed != kept:
        findings.add(where, "the record differs from the one sequenced: it was changed since")
    return kept


class _TimeChecker:
    """Leaves and checkpoints in log order must not go back in time beyond the tolerance."""

    # A backdated leaf is worth naming one by one, but a clock set back would flood the
    # report: the rest are counted.
    LISTED = 20

    def __init__(self, max_skew: float, findings: _Findings) -> None:
        """Allow ``max_skew`` seconds of going back; report to ``findings``."""
        self._skew = timedelta(seconds=max_skew)
        self._findings = findings
        self._checkpoint: tuple[str, datetime] | None = None
        self._latest_leaf: tuple[int, datetime] | None = None

    def checkpoint(self, checkpoint: LedgerCheckpoint) -> None:
        """A checkpoint, signed after every leaf before it and before every leaf after it."""
        signed = signed_time(checkpoint)
        where = _where(checkpoint)
        if self._checkpoint is not None and signed < self._checkpoint[1] - self._skew:
            before, time = self._checkpoint
            self._findings.add(
                where,
                f"signed at {_iso(signed)}, before the {before} (signed at {_iso(time)}): "
                f"its time goes back more than {_seconds(self._skew)} s",
            )
        self._checkpoint = (where, signed)

    def leaf(self, row: Any, index: int) -> None:
        """A leaf: decided no earlier than the tolerance allows after what precedes it."""
        if row is None or row["id"] is None or not isinstance(row["decided_at"], datetime):
            return
        decided = clock.aware(row["decided_at"])
        what = self._backdated(decided)
        if what is not None:
            self._findings.first_of(
                "time",
                f"leaf {index} (check {row['check_id']})",
                f"decided at {_iso(decided)}, {what}: backdated beyond the tolerance of "
                f"{_seconds(self._skew)} s (LEDGER_MAX_SKEW_SECONDS)",
                "more leaves decided before what precedes them in the log",
                self.LISTED,
            )
        if self._latest_leaf is None or decided > self._latest_leaf[1]:
            self._latest_leaf = (index, decided)

    def _backdated(self, decided: datetime) -> str | None:
        """What precedes a leaf decided at ``decided`` by more than the tolerance, if any."""
        if self._checkpoint is not None and decided < self._checkpoint[1] - self._skew:
            where, signed = self._checkpoint
            return f"before the {where} signed at {_iso(signed)} that precedes it in the log"
        if self._latest_leaf is not None and decided < self._latest_leaf[1] - self._skew:
            index, latest = self._latest_leaf
            return f"before leaf {index} (decided at {_iso(latest)}) that precedes it in the log"
        return None


def _iso(instant: datetime) -> str:
    """An instant in UTC, to the second."""
    return clock.aware(instant).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(delta: timedelta) -> str:
    """A tolerance in seconds, without a fraction when it has none."""
    seconds = delta.total_seconds()
    return str(int(seconds)) if seconds == int(seconds) else str(seconds)


class _CheckpointChecker:
    """Checks each stored checkpoint: its signature, its columns, and its root."""

    def __init__(self, verifier: str, findings: _Findings) -> None:
        """Check signatures against ``verifier`` (a verifier key string)."""
        self._verifier = verifier
        self._origin = verifier.split("+", 1)[0]
        self._findings = findings
        self._good_size = 0

    def check(self, checkpoint: LedgerCheckpoint, root: bytes) -> None:
        """Check one checkpoint against the root of the recomputed tree of its size."""
        where, note = _where(checkpoint), checkpoint.note
        try:
            text = verify_note(note, self._verifier)
        except InvalidNote as error:
            self._findings.add(where, f"not signed by {self._origin}'s key ({error})")
            text = note[: note.rfind("\n\n") + 1]
        try:
            signed = parse_checkpoint(text)
        except InvalidNote as error:
            self._findings.add(where, f"not a checkpoint ({error})")
            return
        if signed.origin != self._origin:
            self._findings.add(where, f"of another log: {signed.origin}")
        if (signed.size, signed.root) != (checkpoint.tree_size, bytes(checkpoint.root_hash)):
            self._findings.add(where, "its stored size or root differs from its signed note")
        if signed.root == root:
            self._good_size = checkpoint.tree_size
            return
        self._findings.first_of(
            "root",
            where,
            f"the root recomputed from the records differs from the signed one: leaves "
            f"from {self._good_size} to {checkpoint.tree_size - 1} changed with their hashes",
            "later checkpoints whose root differs for the same reason",
        )


def _check_queue(session: Session, findings: _Findings) -> None:
    """Every record is in the log, queued or quarantined, only one; queued records exist."""
    in_log = exists().where(LedgerEntry.record_id == CheckRecord.id)
    queued = exists().where(LedgerQueue.record_id == CheckRecord.id)
    held = exists().where(LedgerQuarantine.record_id == CheckRecord.id)
    lost = select(CheckRecord.id, CheckRecord.check_id).where(~in_log, ~queued, ~held)
    for record_id, check_id in _stream(session, lost.order_by(CheckRecord.id)):
        findings.add(
            f"record id {record_id} (check {check_id})", "neither in the log nor queued for it"
        )
    twice = select(LedgerEntry.leaf_index, LedgerQueue.record_id).join(
        LedgerEntry, LedgerEntry.record_id == LedgerQueue.record_id
    )
    for index, record_id in _stream(session, twice.order_by(LedgerQueue.record_id)):
        findings.add(f"record id {record_id}", f"queued again although it is leaf {index}")
    logged_and_held = select(LedgerEntry.leaf_index, LedgerQuarantine.record_id).join(
        LedgerEntry, LedgerEntry.record_id == LedgerQuarantine.record_id
    )
    for index, record_id in _stream(session, logged_and_held.order_by(LedgerQuarantine.record_id)):
        findings.add(f"record id {record_id}", f"quarantined although it is leaf {index}")
    record = exists().where(CheckRecord.id == LedgerQueue.record_id)
    gone = select(LedgerQueue.record_id).where(~record).order_by(LedgerQueue.record_id)
    for (record_id,) in _stream(session, gone):
        findings.add(f"queued record id {record_id}", "the record was deleted before sequencing")


def _stream(session: Session, statement: Any) -> Iterator[Any]:
    """The rows of ``statement``, fetched in batches."""
    yield from session.execute(statement.execution_options(yield_per=BATCH))
