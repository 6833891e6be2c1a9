"""Marshmallow schemas of the audit API: its query parameters and its answers."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from service.api.audit_fields import (
    BatchIdField,
    CursorField,
    GroupByField,
    MomentField,
    NikField,
)
from service.api.schemas import CheckResponseSchema, ReasonSchema
from service.audit.stats import GROUPS
from service.clients import Role
from service.decision import Outcome, Reason

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
# Client ids are 32-bit INTEGER columns in PostgreSQL. A larger id names no client, and
# sent in a query it makes the database refuse the whole statement: the listing answered a
# false 503 and the CSV export broke off after its header, so it is an invalid filter.
MAX_CLIENT_ID = 2**31 - 1

TEXT: dict[str, Any] = {"invalid": "Harus berupa teks."}


class QuerySchema(Schema):
    """Query parameters: an unknown one is an error, not silently ignored."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": "Parameter ini tidak dikenal."}  # noqa: RUF012


class PagingSchema(QuerySchema):
    """``limit`` and ``cursor`` of a page."""

    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        strict=False,
        validate=validate.Range(min=1, max=MAX_LIMIT, error=f"Harus antara 1 dan {MAX_LIMIT}."),
        error_messages={"invalid": "Harus bilangan bulat."},
        metadata={"description": f"Items per page, 1–{MAX_LIMIT}."},
    )
    cursor = CursorField(
        load_default=None,
        metadata={
            "type": "string",
            "description": "The previous page's next_cursor (opaque).",
        },
    )


class CheckFilterSchema(QuerySchema):
    """The listing's filters; all given ones must hold."""

    nik = NikField(
        metadata={
            "type": "string",
            "description": "Plain NIK, searched by its keyed hash; never stored.",
            "example": "6402014101900001",
        }
    )
    facility = fields.String(error_messages=TEXT, metadata={"description": "Facility code."})
    client = fields.Integer(
        strict=False,
        validate=validate.Range(
            min=1, max=MAX_CLIENT_ID, error=f"Harus bilangan bulat antara 1 dan {MAX_CLIENT_ID}."
        ),
        error_messages={"invalid": "Harus bilangan bulat."},
        metadata={"description": "Client id."},
    )
    operator = fields.String(
        error_messages=TEXT, metadata={"description": "The clerk's user name, exactly."}
    )
    decision = fields.String(
        validate=validate.OneOf([o.value for o in Outcome], error="Keputusan tidak dikenal.")
    )
    reason = fields.String(
        validate=validate.OneOf([r.value for r in Reason], error="Kode alasan tidak dikenal.")
    )
    batch = BatchIdField(
        metadata={
            "type": "string",
            "description": "A batch reference (batch_id of POST /v1/checks/batch).",
            "example": "B-K7QM-3XD9-2F4E",
        }
    )
    from_ = MomentField(
        data_key="from",
        metadata={
            "type": "string",
            "description": "Decided at or after: a date (its whole WITA day) or a date-time "
            "(with offset; without one, WITA).",
        },
    )
    to = MomentField(
        metadata={
            "type": "string",
            "description": "Decided at or before (inclusive; a date to the end of its WITA day).",
        }
    )


class ListingQuerySchema(CheckFilterSchema, PagingSchema):
    """``GET /v1/audit/checks``."""


class StatsQuerySchema(CheckFilterSchema):
    """``GET /v1/audit/stats``."""

    group_by = GroupByField(
        required=True,
        error_messages={"required": "Wajib diisi, misalnya group_by=facility,decision."},
        metadata={
            "type": "string",
            "description": f"Comma list of {', '.join(GROUPS)}.",
            "example": "facility,decision",
        },
    )


class FacilityRefSchema(Schema):
    """A facility by code and name."""

    code = fields.String()
    name = fields.String()


class ClientRefSchema(Schema):
    """A client by id and name."""

    id = fields.Integer()
    name = fields.String()


class IdentityProvidedSchema(Schema):
    """Whether the caller gave the optional identity fields."""

    name = fields.Boolean()
    birth_date = fields.Boolean()


class AuditRequestSchema(Schema):
    """What the caller asked."""

    service_date = fields.Date(allow_none=True)
    service_type = fields.String(allow_none=True)
    external_ref = fields.String(allow_none=True)
    identity_provided = fields.Nested(IdentityProvidedSchema)


class DataSnapshotsSchema(Schema):
    """The id of each snapshot the decision used (null: none imported)."""

    population = fields.Integer(allow_none=True)
    jamkesda = fields.Integer(allow_none=True)
    jkn = fields.Integer(allow_none=True)


class LedgerRefSchema(Schema):
    """The record's place in the transparency log, or its quarantine (SPEC §13)."""

    class Meta:
        ordered = True

    leaf_index = fields.Integer(
        allow_none=True, metadata={"description": "Null only for a quarantined record."}
    )
    quarantined = fields.Boolean(
        metadata={
            "description": "Present and true when the sequencer kept the record out of the "
            "log: decided more than LEDGER_MAX_SKEW_SECONDS before the latest signed "
            "checkpoint (GET /v1/ledger/quarantine)."
        }
    )


class AuditRecordSchema(CheckResponseSchema):
    """A check record as an auditor sees it: the answer, who asked, how, on which data."""

    nik_masked = fields.String(
        allow_none=True,
        metadata={"example": "6402**********01", "description": "Null when no NIK was sent."},
    )
    decision = fields.String(metadata={"enum": [o.value for o in Outcome]})
    facility = fields.Nested(FacilityRefSchema, allow_none=True)
    client = fields.Nested(ClientRefSchema, allow_none=True)
    operator_id = fields.String(allow_none=True)
    channel = fields.String(metadata={"enum": ["api", "batch", "fhir", "desk"]})
    batch_id = fields.String(
        allow_none=True,
        metadata={"description": "The batch the check came in; null outside batches."},
    )
    request = fields.Nested(AuditRequestSchema)
    data_snapshots = fields.Nested(DataSnapshotsSchema)
    latency_ms = fields.Float()
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        allow_none=True,
        metadata={
            "description": "For INVALID_REQUEST: which fields were wrong, as the 422 "
            "answered them (Problem.errors): names and fixed messages only, bounded."
        },
    )
    ledger = fields.Nested(
        LedgerRefSchema,
        allow_none=True,
        metadata={
            "description": "Null until the record is sequenced in the ledger; "
            '{"leaf_index": null, "quarantined": true} when it never will be.'
        },
    )


class AuditPageSchema(Schema):
    """A page of records, newest first."""

    items = fields.List(fields.Nested(AuditRecordSchema))
    next_cursor = fields.String(allow_none=True)


class StatsRowSchema(Schema):
    """One group: only the keys asked for in ``group_by`` are present."""

    class Meta:
        ordered = True

    facility = fields.String(allow_none=True, metadata={"example": "1040001"})
    decision = fields.String(allow_none=True, metadata={"example": "NOT_ELIGIBLE"})
    reason = fields.String(
        allow_none=True, metadata={"description": "Null for records without reasons."}
    )
    day = fields.String(metadata={"format": "date", "description": "The WITA day, YYYY-MM-DD."})
    count = fields.Integer(metadata={"description": "Records, refused requests included."})
    decided = fields.Integer(metadata={"description": "Records with a decision."})
    not_eligible = fields.Integer(metadata={"description": "NOT_ELIGIBLE decisions."})
    denial_rate = fields.Float(
        allow_none=True,
        metadata={"description": "not_eligible / decided; null when nothing was decided."},
    )


class StatsSchema(Schema):
    """Counts and denial rates by group."""

    rows = fields.List(fields.Nested(StatsRowSchema))


class SnapshotSchema(Schema):
    """One data import."""

    class Meta:
        ordered = True

    id = fields.Integer()
    source = fields.String(metadata={"enum": ["population", "jamkesda", "jkn", "facilities"]})
    as_of = fields.Date()
    imported_at = fields.String(metadata={"format": "date-time"})
    filename = fields.String()
    sha256 = fields.String()
    rows = fields.Integer()
    added = fields.Integer()
    changed = fields.Integer()
    removed = fields.Integer()
    unchanged = fields.Integer()
    came_into_force = fields.Boolean(
        metadata={"description": "False for an import dated before the one in force."}
    )


class SnapshotListSchema(Schema):
    """Every import, newest first."""

    items = fields.List(fields.Nested(SnapshotSchema))


class AccessEntrySchema(Schema):
    """One request to the audit or ledger API."""

    class Meta:
        ordered = True

    id = fields.Integer()
    time = fields.String(metadata={"format": "date-time"})
    client = fields.Nested(ClientRefSchema, allow_none=True)
    method = fields.String()
    path = fields.String()
    query = fields.String(metadata={"description": "NIKs and other long numbers masked."})
    status = fields.Integer()


class AccessPageSchema(Schema):
    """A page of the access log, newest first."""

    items = fields.List(fields.Nested(AccessEntrySchema))
    next_cursor = fields.String(allow_none=True)


class ApiClientSchema(Schema):
    """One API client: who holds a key, in which role, since and until when; no key material."""

    class Meta:
        ordered = True

    id = fields.Integer()
    name = fields.String()
    role = fields.String(metadata={"enum": [role.value for role in Role]})
    facility = fields.Nested(
        FacilityRefSchema,
        allow_none=True,
        metadata={"description": "The facility a desk or integration key is bound to."},
    )
    created_at = fields.String(metadata={"format": "date-time"})
    revoked_at = fields.String(
        allow_none=True,
        metadata={"format": "date-time", "description": "Null while the key is active."},
    )


class ApiClientListSchema(Schema):
    """Every API client, oldest first, revoked ones included."""

    items = fields.List(fields.Nested(ApiClientSchema))


class ReplayedDecisionSchema(Schema):
    """One decision of a replay: what was decided and why."""

    class Meta:
        ordered = True

    # A refused request is never replayed, so INVALID_REQUEST is not among the answers.
    decision = fields.String(
        metadata={"enum": [o.value for o in Outcome if o is not Outcome.INVALID_REQUEST]}
    )
    reasons = fields.List(fields.Nested(ReasonSchema))


class ReplaySchema(Schema):
    """A recorded decision beside the same request decided on the data then and now."""

    class Meta:
        ordered = True

    recorded = fields.Nested(
        ReplayedDecisionSchema, metadata={"description": "As the check record keeps it."}
    )
    as_of_then = fields.Nested(
        ReplayedDecisionSchema,
        metadata={
            "description": "Re-derived from the snapshots and the policy version the record "
            "names, for its service date."
        },
    )
    as_of_now = fields.Nested(
        ReplayedDecisionSchema,
        metadata={
            "description": "Derived from the snapshots in force and the policy configured "
            "now, for the same service date and request."
        },
    )
    same_as_recorded = fields.Boolean(
        metadata={"description": "Whether as_of_then has the recorded decision and reasons."}
    )
