"""``/v1/ledger``: the check records as a verifiable transparency log (SPEC §5 Ledger API).

Only auditors get in, and every request is recorded like the audit API's
(``service.audit.hook``). Texts are UTF-8 ``text/plain``; hashes and leaves are base64.
"""

from __future__ import annotations

import base64
from typing import Any

from flask import Response

from service import clock, db
from service.api.docs import BEARER, problems
from service.api.ledger_schemas import (
    ConsistencyProofSchema,
    ConsistencyQuerySchema,
    EntriesQuerySchema,
    EntriesSchema,
    InclusionProofSchema,
    InclusionQuerySchema,
    QuarantinePageSchema,
    QuarantineQuerySchema,
)
from service.api.query import QueryBlueprint
from service.api.requests import app_settings, check_not_found, check_reference
from service.audit.cursor import encode_cursor
from service.auth import requires
from service.clients import Role
from service.errors import Problem
from service.ledger import proofs
from service.ledger.store import EntryUnavailable

blp = QueryBlueprint(
    "ledger", __name__, url_prefix="/v1/ledger", description="Ledger (auditors only)"
)
S422 = (
    "A missing, unknown, repeated or malformed parameter (INVALID_FILTER); a size or range "
    "outside the latest checkpoint (OUTSIDE_CHECKPOINT, with checkpoint_size)"
)


S503_CHECKPOINT = (
    "The database could not be reached (DATABASE_UNAVAILABLE); or no checkpoint is stored "
    "yet (CHECKPOINT_UNAVAILABLE, with Retry-After): the sequencer signs the empty log's "
    "when it first starts"
)
# Only the sequencer process signs (SPEC §13); it signs the first checkpoint at its start.
NO_CHECKPOINT_YET = (
    "Belum ada checkpoint bertanda tangan: penanda ledger (sequencer) menandatangani yang "
    "pertama saat mulai berjalan. Coba lagi sebentar lagi."
)


def _text_answer(description: str) -> dict[str, Any]:
    """The OpenAPI description of a ``text/plain`` answer."""
    content = {"text/plain": {"schema": {"type": "string"}}}
    return {"200": {"description": description, "content": content}}


def _plain(text: str) -> Response:
    """A UTF-8 text answer (``text/plain; charset=utf-8``)."""
    return Response(text, mimetype="text/plain")


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _outside(error: proofs.OutsideCheckpoint) -> Problem:
    return Problem(422, "OUTSIDE_CHECKPOINT", str(error), checkpoint_size=error.checkpoint_size)


@blp.route("/checkpoint", methods=["GET"])
@blp.doc(
    operationId="getLedgerCheckpoint",
    summary="The latest signed checkpoint (C2SP tlog-checkpoint in a C2SP signed note)",
    security=BEARER,
    responses=_text_answer(
        "Origin line, tree size, base64 root hash; a blank line; the Ed25519 signature line "
        "'— <key name> <base64(key hash ‖ signature)>'. Since SPEC §13 the text has one "
        "extension line after the root hash, 'time <Unix seconds>', the signing time. "
        "An empty log's is of size 0."
    ),
)
@problems(blp, 401, 403, 503, s503=S503_CHECKPOINT)
@requires(Role.AUDITOR)
def checkpoint() -> Response:
    """The signed note of the latest checkpoint, as the sequencer stored it."""
    note = proofs.latest_note(db.session())
    if note is None:
        raise Problem(503, "CHECKPOINT_UNAVAILABLE", NO_CHECKPOINT_YET, {"Retry-After": "1"})
    return _plain(note)


@blp.route("/key", methods=["GET"])
@blp.doc(
    operationId="getLedgerKey",
    summary="The verifier key of the checkpoints' signatures",
    security=BEARER,
    responses=_text_answer(
        "<name>+<8 hex digits of key hash>+<base64(0x01 ‖ 32-byte Ed25519 public key)>, "
        "nothing else (no final newline); the name is the log's origin."
    ),
)
@problems(blp, 401, 403, 503)
@requires(Role.AUDITOR)
def key() -> Response:
    """The public verifier key, one line (the workers hold no signing key)."""
    return _plain(app_settings().ledger_verifier_key)


@blp.route("/proof/inclusion", methods=["GET"])
@blp.doc(
    operationId="getInclusionProof",
    summary="Prove that a check record is in the tree of a given size",
    security=BEARER,
)
@blp.response(200, InclusionProofSchema)
@problems(
    blp,
    401,
    403,
    404,
    422,
    503,
    s404="No check with this reference (CHECK_NOT_FOUND)",
    s422=S422 + "; a malformed reference (INVALID_CHECK_ID); a record that is not in the "
    "tree of this size, not yet sequenced or sequenced after it (NOT_IN_TREE, with "
    "leaf_index: null or its index)",
)
@requires(Role.AUDITOR)
@blp.arguments(InclusionQuerySchema, location="query", unknown="raise")
def inclusion(query: dict[str, Any]) -> Any:
    """The record's leaf index and hash and the RFC 9162 inclusion proof."""
    reference = check_reference(query["check_id"])
    try:
        found = proofs.inclusion(db.session(), reference, query["tree_size"])
    except proofs.OutsideCheckpoint as error:
        raise _outside(error) from error
    except proofs.NotInTree as error:
        detail = (
            "Pemeriksaan ini belum masuk ledger; coba lagi beberapa detik lagi."
            if error.leaf_index is None
            else f"Pemeriksaan ini ada di ledger pada indeks {error.leaf_index}, di luar "
            "pohon sebesar ini; minta bukti untuk checkpoint yang lebih baru."
        )
        raise Problem(422, "NOT_IN_TREE", detail, leaf_index=error.leaf_index) from error
    if found is None:
        raise check_not_found()
    return {
        "leaf_index": found.leaf_index,
        "tree_size": found.tree_size,
        "leaf_hash": _b64(found.leaf_hash),
        "proof": [_b64(hash_) for hash_ in found.proof],
    }


@blp.route("/proof/consistency", methods=["GET"])
@blp.doc(
    operationId="getConsistencyProof",
    summary="Prove that an older tree is a prefix of a newer one",
    security=BEARER,
)
@blp.response(200, ConsistencyProofSchema)
@problems(blp, 401, 403, 422, 503, s422=S422)
@requires(Role.AUDITOR)
@blp.arguments(ConsistencyQuerySchema, location="query", unknown="raise")
def consistency(query: dict[str, Any]) -> Any:
    """The RFC 9162 consistency proof from ``first`` to ``second`` leaves."""
    try:
        proof = proofs.consistency(db.session(), query["first"], query["second"])
    except proofs.OutsideCheckpoint as error:
        raise _outside(error) from error
    return {"first": query["first"], "second": query["second"], "proof": [_b64(h) for h in proof]}


@blp.route("/entries", methods=["GET"])
@blp.doc(
    operationId="listLedgerEntries",
    summary="The leaves from start up to end (exclusive), in order",
    security=BEARER,
)
@blp.response(200, EntriesSchema)
@problems(
    blp,
    401,
    403,
    409,
    422,
    503,
    s409="The entry at start cannot be served: its record was deleted or altered "
    "(ENTRY_UNAVAILABLE, with leaf_index)",
    s422=S422,
)
@requires(Role.AUDITOR)
@blp.arguments(EntriesQuerySchema, location="query", unknown="raise")
def entries(query: dict[str, Any]) -> Any:
    """At most 1000 leaves from ``start`` on; ask again from where a page stops.

    A page stops before a leaf whose record was deleted or can no longer be encoded;
    asked for from that leaf on, the answer is a 409 naming it, which is tamper evidence.
    """
    try:
        leaves = proofs.entries(db.session(), query["start"], query["end"])
    except proofs.OutsideCheckpoint as error:
        raise _outside(error) from error
    except EntryUnavailable as error:
        detail = f"Entri {error.leaf_index} tidak dapat disajikan: {error.reason}."
        raise Problem(409, "ENTRY_UNAVAILABLE", detail, leaf_index=error.leaf_index) from error
    return {"entries": [_b64(leaf) for leaf in leaves]}


@blp.route("/quarantine", methods=["GET"])
@blp.doc(
    operationId="listLedgerQuarantine",
    summary="Records kept out of the log: decided too long before the latest checkpoint",
    security=BEARER,
)
@blp.response(200, QuarantinePageSchema)
@problems(
    blp,
    401,
    403,
    422,
    503,
    s422="A malformed limit or cursor, or an unknown parameter (INVALID_FILTER)",
)
@requires(Role.AUDITOR)
@blp.arguments(QuarantineQuerySchema, location="query", unknown="raise")
def quarantine(query: dict[str, Any]) -> Any:
    """Quarantined records, newest first (SPEC §13); ``next_cursor`` fetches the next page.

    The sequencer quarantines a record whose ``decided_at`` is older than the latest
    signed checkpoint's time by more than ``LEDGER_MAX_SKEW_SECONDS``: it was written
    after a checkpoint it claims to precede. It is never sequenced.
    """
    zone = app_settings().policy.zone
    limit = query["limit"]
    found = proofs.quarantined(db.session(), limit + 1, query["cursor"])
    page = found[:limit]
    return {
        "items": [
            {
                "check_id": item.check_id,
                "decided_at": clock.local_iso(item.decided_at, zone),
                "quarantined_at": clock.local_iso(item.quarantined_at, zone),
                "checkpoint_size": item.checkpoint_size,
                "checkpoint_time": clock.local_iso(item.checkpoint_time, zone),
            }
            for item in page
        ],
        "next_cursor": encode_cursor(page[-1].record_id) if len(found) > limit else None,
    }
