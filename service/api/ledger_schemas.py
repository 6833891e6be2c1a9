"""Marshmallow schemas of the ledger API: its query parameters and its JSON answers."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from service.api.audit_schemas import PagingSchema, QuerySchema
from service.api.schemas import REQUIRED
from service.ledger.store import MAX_ENTRIES

BASE64 = "Standard base64 (RFC 4648 §4) of a 32-byte SHA-256 hash."


def _size(description: str) -> Any:
    """A required non-negative integer query parameter."""
    return fields.Integer(
        required=True,
        strict=False,
        validate=validate.Range(min=0, error="Harus bilangan bulat, 0 atau lebih."),
        error_messages={**REQUIRED, "invalid": "Harus bilangan bulat."},
        metadata={"description": description},
    )


class InclusionQuerySchema(QuerySchema):
    """``GET /v1/ledger/proof/inclusion``."""

    check_id = fields.String(
        required=True,
        error_messages={**REQUIRED, "invalid": "Harus berupa teks."},
        metadata={"description": "The check's reference.", "example": "K7QM-3XD9-2F4A"},
    )
    tree_size = _size("The size of the tree to prove inclusion in: 1 up to the checkpoint's.")


class ConsistencyQuerySchema(QuerySchema):
    """``GET /v1/ledger/proof/consistency``."""

    first = _size("The older tree size: 1 up to second.")
    second = _size("The newer tree size: up to the latest checkpoint's.")


class EntriesQuerySchema(QuerySchema):
    """``GET /v1/ledger/entries``."""

    start = _size("The first leaf index.")
    end = _size(
        f"One past the last leaf index, at most the latest checkpoint's size; a page holds "
        f"at most {MAX_ENTRIES} entries, maybe fewer: ask again from where it stopped."
    )


class InclusionProofSchema(Schema):
    """An RFC 9162 inclusion proof, lowest level first."""

    class Meta:
        ordered = True

    leaf_index = fields.Integer()
    tree_size = fields.Integer()
    leaf_hash = fields.String(metadata={"description": f"SHA-256(0x00 ‖ leaf). {BASE64}"})
    proof = fields.List(fields.String(metadata={"description": BASE64}))


class ConsistencyProofSchema(Schema):
    """An RFC 9162 consistency proof, lowest level first (empty when first = second)."""

    class Meta:
        ordered = True

    first = fields.Integer()
    second = fields.Integer()
    proof = fields.List(fields.String(metadata={"description": BASE64}))


class EntriesSchema(Schema):
    """Leaves in index order."""

    entries = fields.List(
        fields.String(
            metadata={
                "description": "Standard base64 of the leaf bytes: the record's canonical JSON "
                "(service/ledger/leaf.py, version 1)."
            }
        )
    )


class QuarantineQuerySchema(PagingSchema):
    """``GET /v1/ledger/quarantine``: ``limit`` and ``cursor``, like the audit listings."""


class QuarantinedRecordSchema(Schema):
    """A record the sequencer kept out of the log (SPEC §13)."""

    class Meta:
        ordered = True

    check_id = fields.String(metadata={"example": "K7QM-3XD9-2F4A"})
    decided_at = fields.String(
        metadata={
            "format": "date-time",
            "description": "The record's decision time, as stored, in the policy's zone.",
        }
    )
    quarantined_at = fields.String(
        metadata={"format": "date-time", "description": "When the sequencer quarantined it."}
    )
    checkpoint_size = fields.Integer(
        metadata={"description": "The size of the latest checkpoint when it was quarantined."}
    )
    checkpoint_time = fields.String(
        metadata={
            "format": "date-time",
            "description": "That checkpoint's signing time (its signed time line): the record "
            "was decided more than LEDGER_MAX_SKEW_SECONDS before it.",
        }
    )


class QuarantinePageSchema(Schema):
    """A page of quarantined records, newest record first."""

    items = fields.List(fields.Nested(QuarantinedRecordSchema))
    next_cursor = fields.String(allow_none=True)
