"""Marshmallow schemas: they validate requests, render answers and describe both in OpenAPI."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from service.checks import CheckRequest
from service.decision import Outcome, Reason
from service.nik import InvalidNik, parse_nik
from service.refusals import UNKNOWN_FIELD, bounded_errors, storable

MAX_DAYS_BACK = 90
MAX_BATCH_ITEMS = 100
SERVICE_TYPES = ("outpatient", "inpatient", "emergency")

# Clerks read these in their desk software: Indonesian, saying what to fix.
REQUIRED: dict[str, Any] = {"required": "Wajib diisi.", "null": "Wajib diisi."}
TEXT: dict[str, Any] = {"invalid": "Harus berupa teks."}
DATE: dict[str, Any] = {
    "invalid": "Tanggal harus berformat YYYY-MM-DD.",
    "format": "Tanggal tidak valid.",
}
NUL_MESSAGE = "Tidak boleh berisi karakter NUL (\\u0000)."
SURROGATE_MESSAGE = "Harus berupa teks Unicode yang valid (tanpa surrogate tunggal)."


def refuse_nul(text: str | None) -> None:
    """Refuse a text holding NUL, or a lone surrogate, as invalid (422, recorded).

    PostgreSQL cannot store NUL in a text column: such a value kept in the record made
    its INSERT fail, and the check answered a false 503 (the database was not down). A
    lone surrogate (which JSON can spell as ``\\ud800``) is not Unicode, and no database
    driver can encode it: kept in the record, it made the check a 500.
    """
    if text is None:
        return
    if "\x00" in text:
        raise ValidationError(NUL_MESSAGE)
    if storable(text) != text:
        raise ValidationError(SURROGATE_MESSAGE)


def stored_text(max_length: int) -> list[Any]:
    """The validators of a request text the check record keeps: a length, and storable."""
    return [
        validate.Length(max=max_length, error=f"Paling banyak {max_length} karakter."),
        refuse_nul,
    ]


class CheckRequestSchema(Schema):
    """``POST /v1/checks``: the NIK from the KTP and what the visit is."""

    class Meta:
        unknown = RAISE

    error_messages = {  # noqa: RUF012 - marshmallow reads this class attribute
        "unknown": UNKNOWN_FIELD,
        "type": "Isi permintaan harus berupa objek JSON.",
    }

    nik = fields.String(
        required=True,
        error_messages={**REQUIRED, **TEXT},
        metadata={
            "description": "16-digit NIK; spaces, dots and dashes are removed.",
            "example": "6402014101900001",
        },
    )
    service_date = fields.Date(
        load_default=None,
        allow_none=True,
        error_messages=DATE,
        metadata={
            "description": "Date of care (YYYY-MM-DD, WITA); default today. "
            "Not in the future, at most 90 days back."
        },
    )
    service_type = fields.String(
        load_default="outpatient",
        validate=validate.OneOf(SERVICE_TYPES, error="Pilih outpatient, inpatient atau emergency."),
        error_messages=TEXT,
    )
    operator_id = fields.String(
        load_default=None,
        allow_none=True,
        validate=stored_text(64),
        error_messages=TEXT,
        metadata={"description": "The clerk's user name in the desk software."},
    )
    patient_name = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=200, error="Paling banyak 200 karakter."),
        error_messages=TEXT,
    )
    birth_date = fields.Date(load_default=None, allow_none=True, error_messages=DATE)
    external_ref = fields.String(
        load_default=None,
        allow_none=True,
        validate=stored_text(64),
        error_messages=TEXT,
        metadata={"description": "The caller's registration or visit number."},
    )


# Schemas keep no per-request state: one instance serves every request.
_CHECK_REQUEST = CheckRequestSchema()
# The faults listed first in a refusal's ``errors``: the body as a whole, then its fields.
_KNOWN_FIELDS = ("_schema", *_CHECK_REQUEST.fields)


class InvalidCheckRequest(Exception):
    """A check request the service cannot decide; ``errors`` maps fields to messages.

    ``errors`` is bounded (``service.refusals``): the refusal's record keeps it and the
    422 answers it, so the caller reads what the auditor reads.
    """

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__("invalid check request")
        self.errors = bounded_errors(errors, known=_KNOWN_FIELDS)

    @property
    def code(self) -> str:
        """``INVALID_NIK`` when the NIK is among the faults, else ``INVALID_REQUEST``."""
        return "INVALID_NIK" if "nik" in self.errors else "INVALID_REQUEST"


def _service_date_error(service_date: date, today: date) -> str | None:
    if service_date > today:
        return "Tanggal layanan tidak boleh di masa depan."
    if service_date < today - timedelta(days=MAX_DAYS_BACK):
        return f"Tanggal layanan paling lama {MAX_DAYS_BACK} hari yang lalu."
    return None


def parse_check_request(body: Any, today: date) -> CheckRequest:
    """Validate a request body against the schema and SPEC's NIK and date rules."""
    errors: dict[str, Any] = {}
    try:
        data: dict[str, Any] = _CHECK_REQUEST.load(body)
    except ValidationError as exc:
        errors = dict(exc.messages) if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        data = exc.valid_data if isinstance(exc.valid_data, dict) else {}
    if isinstance(data.get("nik"), str):
        try:
            data["nik"] = parse_nik(data["nik"]).value
        except InvalidNik as exc:
            errors["nik"] = [str(exc)]
    service_date = data.get("service_date") or today
    if "service_date" not in errors and (problem := _service_date_error(service_date, today)):
        errors["service_date"] = [problem]
    if errors:
        raise InvalidCheckRequest(errors)
    return CheckRequest(
        nik=data["nik"],
        service_date=service_date,
        service_type=data["service_type"],
        operator_id=data["operator_id"],
        patient_name=data["patient_name"],
        birth_date=data["birth_date"],
        external_ref=data["external_ref"],
    )


class InvalidBatch(Exception):
    """A batch body that is not ``{"checks": [object, …]}`` with 1–100 items."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("invalid batch")
        self.errors = errors


def read_batch(body: Any) -> list[dict[str, Any]]:
    """The items of a batch body, each a JSON object; ``InvalidBatch`` for anything else.

    Only the batch's shape is checked here: each item is then validated as a check
    request of its own, and a wrong item is recorded and answered 422 in the batch.
    """
    if not isinstance(body, dict):
        raise InvalidBatch({"_schema": ['Isi permintaan harus berupa objek {"checks": [...]}.']})
    unknown = sorted(set(body) - {"checks"})
    errors: dict[str, list[str]] = {name: [UNKNOWN_FIELD] for name in unknown}
    checks = body.get("checks")
    if not isinstance(checks, list):
        errors["checks"] = ["Wajib diisi: daftar pemeriksaan."]
    elif not 1 <= len(checks) <= MAX_BATCH_ITEMS:
        errors["checks"] = [f"Berisi 1 sampai {MAX_BATCH_ITEMS} pemeriksaan."]
    else:
        for index, item in enumerate(checks):
            if not isinstance(item, dict):
                errors[f"checks.{index}"] = ["Setiap pemeriksaan harus berupa objek JSON."]
    if errors:
        # Nothing is recorded, but a 1 MiB body of unknown members is not echoed either.
        raise InvalidBatch(bounded_errors(errors, known=("_schema", "checks")))
    return checks  # type: ignore[return-value]


class ReasonSchema(Schema):
    """One reason: a stable code and a message for the clerk."""

    code = fields.String(validate=validate.OneOf([r.value for r in Reason]))
    message = fields.String()


class CoverageSchema(Schema):
    """Who pays, in which class, until when."""

    scheme = fields.String(metadata={"example": "JAMKESDA"})
    class_ = fields.String(data_key="class", attribute="class", metadata={"example": "III"})
    valid_until = fields.String(allow_none=True, metadata={"format": "date"})


class IdentityMatchSchema(Schema):
    """The optional identity fields compared with the registry, never revealing it."""

    name = fields.String(metadata={"enum": ["MATCH", "MISMATCH", "NOT_PROVIDED"]})
    birth_date = fields.String(metadata={"enum": ["MATCH", "MISMATCH", "NOT_PROVIDED"]})


class DataAsOfSchema(Schema):
    """The as-of date of each data snapshot used (null: none imported)."""

    population = fields.Date(allow_none=True)
    jamkesda = fields.Date(allow_none=True)
    jkn = fields.Date(allow_none=True)


class DisputeSchema(Schema):
    """How the patient objects, citing the reference."""

    reference = fields.String()
    message = fields.String()


class CheckResponseSchema(Schema):
    """A decision, its reasons and the data it rests on."""

    class Meta:
        unknown = EXCLUDE
        ordered = True

    check_id = fields.String(metadata={"example": "K7QM-3XD9-2F4E"})
    decided_at = fields.String(metadata={"format": "date-time"})
    nik_masked = fields.String(metadata={"example": "6402**********01"})
    decision = fields.String(
        metadata={"enum": [o.value for o in Outcome if o is not Outcome.INVALID_REQUEST]}
    )
    eligible = fields.Boolean()
    reasons = fields.List(fields.Nested(ReasonSchema))
    coverage = fields.Nested(CoverageSchema, allow_none=True)
    identity_match = fields.Nested(IdentityMatchSchema)
    policy_version = fields.String(metadata={"example": "kukar-2025.1"})
    data_as_of = fields.Nested(DataAsOfSchema)
    dispute = fields.Nested(DisputeSchema, allow_none=True)
    emergency_notice = fields.String(allow_none=True)


class StatusSchema(Schema):
    """A service endpoint's short answer."""

    status = fields.String(metadata={"example": "ok"})
    migration = fields.String(metadata={"description": "The database's migration (readyz)."})


class ProblemSchema(Schema):
    """RFC 9457 problem details, with a stable machine ``code``."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    code = fields.String()
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={
            "description": "422: each wrong or unknown field's name and the service's "
            "messages, never a value sent. A refused check keeps the same in its record, "
            "bounded: the known fields first, at most 20 fields in 1 KiB, a long name cut "
            "(ending in '…') to 48 ASCII characters or fewer others, and the number of "
            "fields left out under `_more`."
        },
    )
    check_id = fields.String(metadata={"description": "The reference of the recorded attempt."})
    # The extension members some codes carry (RFC 9457 §3.2): documented one by one, so
    # that the schema stays closed and a client knows each one's type.
    checkpoint_size = fields.Integer(
        metadata={"description": "OUTSIDE_CHECKPOINT: the latest checkpoint's tree size."}
    )
    leaf_index = fields.Integer(
        allow_none=True,
        metadata={
            "description": "NOT_IN_TREE, ENTRY_UNAVAILABLE: the record's leaf index "
            "(null while the record is not yet sequenced)."
        },
    )
    policy_version = fields.String(
        metadata={"description": "POLICY_UNAVAILABLE: the policy version the record names."}
    )
    rotated_at = fields.String(
        metadata={
            "format": "date-time",
            "description": "HASHED_UNDER_EARLIER_KEY: when NIK_HASH_KEY last changed.",
        }
    )


class BatchRequestSchema(Schema):
    """``POST /v1/checks/batch``: 1–100 check requests."""

    checks = fields.List(
        fields.Nested(CheckRequestSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_BATCH_ITEMS),
        metadata={"description": "Each item as the body of POST /v1/checks."},
    )


class BatchResultSchema(Schema):
    """One item's answer: a recorded decision (201) or a recorded refusal (422)."""

    class Meta:
        ordered = True

    index = fields.Integer(metadata={"description": "The item's place in the request, from 0."})
    status = fields.Integer(metadata={"enum": [201, 422]})
    check = fields.Nested(CheckResponseSchema, metadata={"description": "With status 201."})
    problem = fields.Nested(ProblemSchema, metadata={"description": "With status 422."})


class BatchResponseSchema(Schema):
    """Every item of a batch, decided and recorded in one transaction, in request order."""

    class Meta:
        ordered = True

    batch_id = fields.String(metadata={"example": "B-K7QM-3XD9-2F4E"})
    results = fields.List(fields.Nested(BatchResultSchema))
