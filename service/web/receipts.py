"""The patient's receipt (SPEC §10): which record a typed NIK unlocks, and how often one may try.

A reference is printed on a slip that anyone may see, so the reference alone opens
nothing: the full NIK must hash (HMAC under the service's key) to the record's ``nik_hash``.
A wrong NIK, an unknown reference and a mistyped one all unlock nothing alike, so that
the page cannot be used to learn which references exist.

Refused requests (``INVALID_REQUEST``) unlock too when they hold the NIK that was typed:
the desk gives their reference as well, and the patient is better served by reading
"no decision was made, the form was wrong" than by a "not found" that suggests the
slip is false.
"""

from __future__ import annotations

import hmac
import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AccessRecord, CheckRecord
from service import clock
from service.check_ids import InvalidCheckId, parse_check_id
from service.ledger.store import checkpoint_size, leaf_of_check
from service.nik import nik_hash, normalise
from service.records import find_record

# SPEC §10: at most this many tries from one address in one window.
MAX_TRIES = 10
WINDOW = timedelta(seconds=60)
# A typed NIK longer than this is not a NIK: it is neither hashed nor compared.
MAX_TYPED = 64
# The paths whose posted tries are counted: every receipt.
RECEIPT_PATHS = "/r/%"


def tries_wait(session: Session, address: str | None) -> int | None:
    """Seconds until ``address`` may try again, or None while it is under the limit.

    The tries are the access log's posts to a receipt from the address in the last
    ``WINDOW`` (the log keeps every try, refused ones included). The current try is not
    in it yet: the access hook writes it as the answer leaves.
    """
    since = clock.now() - WINDOW
    from_address = (
        AccessRecord.address == address if address is not None else AccessRecord.address.is_(None)
    )
    recent = session.scalars(
        select(AccessRecord.at)
        .where(
            from_address,
            AccessRecord.at > since,
            AccessRecord.method == "POST",
            AccessRecord.path.like(RECEIPT_PATHS),
        )
        .order_by(AccessRecord.at.desc())
        .limit(MAX_TRIES)
    ).all()
    if len(recent) < MAX_TRIES:
        return None
    # Under the limit again when the oldest of the last MAX_TRIES tries leaves the window.
    frees_at = clock.aware(recent[-1]) + WINDOW
    return max(1, math.ceil((frees_at - clock.now()).total_seconds()))


def unlocked_record(
    session: Session, reference: str, typed_nik: str, hash_key: bytes
) -> CheckRecord | None:
    """The record of ``reference`` when ``typed_nik`` is its NIK, else None (for any reason)."""
    # The hash is computed before anything is known, so that every refusal costs alike.
    typed = normalise(typed_nik)[:MAX_TYPED]
    typed_hash = nik_hash(hash_key, typed)
    try:
        canonical = parse_check_id(reference)
    except InvalidCheckId:
        return None
    record = find_record(session, canonical)
    if record is None or record.nik_hash is None or not typed:
        return None
    if not hmac.compare_digest(typed_hash, record.nik_hash):
        return None
    return record


@dataclass(frozen=True)
class LedgerState:
    """Where a record stands in the ledger: its leaf, and the latest signed checkpoint."""

    leaf_index: int | None
    checkpoint_size: int

    @property
    def in_checkpoint(self) -> bool:
        """Whether the latest signed checkpoint covers the record's leaf."""
        return self.leaf_index is not None and self.leaf_index < self.checkpoint_size


def ledger_state(session: Session, check_id: str) -> LedgerState:
    """The record's leaf index (None while queued) and the latest checkpoint's size."""
    found = leaf_of_check(session, check_id)
    leaf_index = found[1] if found is not None else None
    return LedgerState(leaf_index, checkpoint_size(session))
