"""One record's standing in the ledger, checked as an auditor would check it.

The console shows, for a check record, its leaf index, the latest signed checkpoint that
contains it, and whether its inclusion proof verifies against that checkpoint's root. The
check goes further than serving a proof: the checkpoint's signature is verified with the
service's verifier key, and the leaf is encoded again from the record as it is stored
now, so that a record altered after it was sequenced is reported, not vouched for.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from service.ledger import store
from service.ledger.leaf import UnencodableRecord, encode_leaf
from service.ledger.merkle import (
    InvalidProof,
    leaf_and_inclusion_proof,
    leaf_hash,
    verify_inclusion,
)
from service.ledger.note import InvalidNote, parse_checkpoint, verify_note
from service.records import CheckEntry


class Failure(StrEnum):
    """Why a record's place in the ledger cannot be vouched for."""

    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    HASHES_MISSING = "HASHES_MISSING"
    RECORD_UNENCODABLE = "RECORD_UNENCODABLE"
    RECORD_CHANGED = "RECORD_CHANGED"
    PROOF_INVALID = "PROOF_INVALID"


@dataclass(frozen=True)
class SignedCheckpoint:
    """A stored checkpoint: its size and root as signed, its note, when it was signed.

    ``signature_valid`` says whether the note verifies with the verifier key; the size
    and root are then the signed ones, else those of the stored row.
    """

    size: int
    root: bytes
    note: str
    signed_at: datetime
    signature_valid: bool


@dataclass(frozen=True)
class LedgerState:
    """A record's leaf, the checkpoint containing it, its proof, and what failed if anything.

    ``checkpoint`` is None while no checkpoint contains the leaf (or it has none yet);
    ``leaf`` is the record encoded now, None when it cannot be encoded.
    """

    leaf_index: int | None
    checkpoint: SignedCheckpoint | None
    leaf: bytes | None = None
    leaf_hash: bytes | None = None
    proof: tuple[bytes, ...] = ()
    failure: Failure | None = None

    @property
    def verified(self) -> bool:
        """Whether the inclusion proof of the record as stored now leads to the signed root."""
        return self.checkpoint is not None and self.failure is None


def latest_checkpoint(session: Session, verifier: str) -> SignedCheckpoint | None:
    """The latest stored checkpoint, its signature checked with ``verifier``; None before one."""
    stored = store.latest_checkpoint(session)
    if stored is None:
        return None
    try:
        signed = parse_checkpoint(verify_note(stored.note, verifier))
    except InvalidNote:
        return SignedCheckpoint(
            stored.tree_size, bytes(stored.root_hash), stored.note, stored.signed_at, False
        )
    return SignedCheckpoint(signed.size, signed.root, stored.note, stored.signed_at, True)


def record_state(
    session: Session, record: CheckEntry, leaf_index: int | None, latest: SignedCheckpoint | None
) -> LedgerState:
    """The standing of ``record`` (sequenced at ``leaf_index``) under the checkpoint ``latest``.

    Checkpoints only grow, so when the latest does not contain the leaf, none does.
    """
    if leaf_index is None or latest is None or leaf_index >= latest.size:
        return LedgerState(leaf_index, None)
    try:
        leaf = encode_leaf(record)
    except UnencodableRecord:
        return LedgerState(leaf_index, latest, failure=Failure.RECORD_UNENCODABLE)
    try:
        stored_leaf, proof = leaf_and_inclusion_proof(
            leaf_index, latest.size, store.hash_reader(session)
        )
    except store.MissingHashes:
        return LedgerState(leaf_index, latest, leaf, failure=Failure.HASHES_MISSING)
    state = LedgerState(leaf_index, latest, leaf, leaf_hash(leaf), tuple(proof))
    if not latest.signature_valid:
        return replace(state, failure=Failure.SIGNATURE_INVALID)
    if state.leaf_hash != stored_leaf:
        return replace(state, failure=Failure.RECORD_CHANGED)
    try:
        verify_inclusion(leaf_hash(leaf), leaf_index, latest.size, proof, latest.root)
    except InvalidProof:
        return replace(state, failure=Failure.PROOF_INVALID)
    return state
