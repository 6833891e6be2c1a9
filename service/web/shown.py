"""A recorded check as the desk page, its slip and the patient's receipt show it (SPEC §10).

Built from the record alone, in the words the API uses (``service.messages``): the pages
never reach back into the registry. A decision is always shown in words as well as in a
colour, so that a monochrome receipt printer and a colour-blind reader lose nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any

from sqlalchemy.orm import Session

from models import CheckRecord, Facility
from service import clock
from service.decision import Outcome
from service.documents import reason_documents
from service.messages import DECISION_MESSAGES, EMERGENCY_NOTICE, dispute_message
from service.web.dates import long_date

# The decision at a glance: the words in large type beside its colour.
DECISION_WORDS = {
    Outcome.ELIGIBLE.value: "BERHAK — gratis dengan Jamkesda",
    Outcome.COVERED_BY_JKN.value: "DITANGGUNG JKN (BPJS)",
    Outcome.NOT_ELIGIBLE.value: "TIDAK BERHAK",
    Outcome.UNDETERMINED.value: "BELUM DAPAT DIPASTIKAN — jangan tolak pasien, ulangi",
    Outcome.INVALID_REQUEST.value: "PERMINTAAN TIDAK DIPROSES — isian tidak valid",
}
INVALID_HEADLINE = (
    "Isian pemeriksaan tidak valid, sehingga tidak ada keputusan kepesertaan. Ini bukan "
    "penolakan: petugas perlu memeriksa ulang dengan isian yang benar."
)
SERVICE_TYPES = {
    "outpatient": "Rawat jalan",
    "inpatient": "Rawat inap",
    "emergency": "Gawat darurat",
}
# The request's fields as the desk form labels them (and a refused request names them).
FIELD_LABELS = {
    "nik": "NIK",
    "service_date": "Tanggal layanan",
    "service_type": "Jenis layanan",
    "operator_id": "Nama pengguna petugas",
    "patient_name": "Nama pasien",
    "birth_date": "Tanggal lahir",
    "external_ref": "Nomor registrasi/kunjungan",
}
MATCH_WORDS = {
    "MATCH": "cocok dengan data kependudukan",
    "MISMATCH": "TIDAK cocok dengan data kependudukan",
    "NOT_PROVIDED": "tidak diisi",
    "NOT_CHECKED": "tidak diperiksa",
}


@dataclass(frozen=True)
class FieldErrors:
    """A refused request's fault in one field: its label and the messages."""

    label: str
    messages: list[str]


@dataclass(frozen=True)
class ShownCheck:
    """What the pages show of one recorded check (never a plain NIK)."""

    check_id: str
    decision: str
    words: str
    headline: str
    reasons: list[str]
    decided_at: str
    facility: str
    nik_masked: str
    service_date: str | None
    service_type: str | None
    operator_id: str | None
    external_ref: str | None
    coverage_class: str | None
    valid_until: str | None
    emergency_notice: str | None
    dispute: str | None
    name_match: str
    birth_date_match: str
    errors: list[FieldErrors]

    @property
    def refused(self) -> bool:
        """Whether this is a refused request rather than a decision."""
        return self.decision == Outcome.INVALID_REQUEST.value


def _valid_until(coverage: dict[str, Any] | None) -> str | None:
    text = coverage.get("valid_until") if coverage else None
    return long_date(date.fromisoformat(text)) if isinstance(text, str) else None


def _errors(errors: dict[str, Any] | None) -> list[FieldErrors]:
    return [
        FieldErrors(
            FIELD_LABELS.get(name, name),
            [str(text) for text in (messages if isinstance(messages, list) else [messages])],
        )
        for name, messages in (errors or {}).items()
    ]


def shown_check(record: CheckRecord, facility_name: str | None, zone: tzinfo) -> ShownCheck:
    """The record in the pages' words; ``facility_name`` None shows the facility's code."""
    decided = clock.aware(record.decided_at).astimezone(zone)
    refused = record.decision == Outcome.INVALID_REQUEST.value
    coverage = record.coverage
    return ShownCheck(
        check_id=record.check_id,
        decision=record.decision,
        words=DECISION_WORDS[record.decision],
        headline=INVALID_HEADLINE if refused else DECISION_MESSAGES[Outcome(record.decision)],
        reasons=[reason["message"] for reason in reason_documents(record.reasons)],
        decided_at=f"{long_date(decided.date())}, pukul {decided:%H.%M.%S} {decided.tzname()}",
        facility=facility_name or record.facility_code or "-",
        nik_masked=record.nik_masked or "-",
        service_date=long_date(record.service_date) if record.service_date else None,
        service_type=SERVICE_TYPES.get(record.service_type or ""),
        operator_id=record.operator_id,
        external_ref=record.external_ref,
        coverage_class=coverage.get("class") if coverage else None,
        valid_until=_valid_until(coverage),
        emergency_notice=EMERGENCY_NOTICE if record.service_type == "emergency" else None,
        # As the API answers it: no dispute for an ELIGIBLE decision, none for a refusal.
        dispute=(
            None
            if refused or record.decision == Outcome.ELIGIBLE.value
            else dispute_message(record.check_id)
        ),
        name_match=MATCH_WORDS.get(record.name_match, record.name_match),
        birth_date_match=MATCH_WORDS.get(record.birth_date_match, record.birth_date_match),
        errors=_errors(record.errors) if refused else [],
    )


def facility_name(session: Session, code: str | None) -> str | None:
    """The name of the facility with ``code``, or None when there is none on file."""
    facility = session.get(Facility, code) if code else None
    return facility.name if facility else None
