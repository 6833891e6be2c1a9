"""A check record's codes in the words an Ombudsman officer reads, and times in WITA.

The API keeps stable English codes (``NOT_ELIGIBLE``, ``desk``); the console shows each
with an Indonesian label, and the code beside it where an auditor may need to quote it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from service import clock
from service.decision import Outcome, Reason
from service.errors import field_messages
from service.identity import Match
from service.ledger.record_state import Failure
from service.web.dates import long_date

DECISIONS: dict[str, str] = {
    Outcome.ELIGIBLE: "Berhak (Jamkesda)",
    Outcome.COVERED_BY_JKN: "Dijamin JKN",
    Outcome.NOT_ELIGIBLE: "Tidak berhak",
    Outcome.UNDETERMINED: "Belum dapat dipastikan",
    Outcome.INVALID_REQUEST: "Permintaan ditolak (isian tidak valid)",
}

# Short labels for lists and the search form; the full message is on the record page.
REASONS: dict[str, str] = {
    Reason.DECEASED: "Tercatat meninggal dunia",
    Reason.JKN_ACTIVE: "Peserta JKN aktif",
    Reason.NIK_NOT_FOUND: "NIK tidak ada di data kependudukan",
    Reason.NOT_RESIDENT: "Tidak berdomisili di Kukar",
    Reason.RESIDENCY_TOO_SHORT: "Domisili belum cukup lama",
    Reason.JAMKESDA_NOT_ENROLLED: "Belum terdaftar Jamkesda",
    Reason.JAMKESDA_INACTIVE: "Kepesertaan Jamkesda tidak aktif",
    Reason.DATA_UNAVAILABLE: "Data belum tersedia",
}

CHANNELS = {
    "api": "API (perangkat lunak pendaftaran)",
    "batch": "Batch (banyak pemeriksaan sekaligus)",
    "fhir": "FHIR (sistem rumah sakit)",
    "desk": "Halaman loket",
}

# The same, short enough for a column of the results.
CHANNELS_SHORT = {"api": "API", "batch": "Batch", "fhir": "FHIR", "desk": "Loket"}

SERVICE_TYPES = {
    "outpatient": "Rawat jalan",
    "inpatient": "Rawat inap",
    "emergency": "Gawat darurat",
}

MATCHES = {
    Match.MATCH: "Cocok",
    Match.MISMATCH: "Tidak cocok",
    Match.NOT_PROVIDED: "Tidak diisi",
    "NOT_CHECKED": "Tidak diperiksa (permintaan ditolak)",
}

SOURCES = {
    "population": "Data kependudukan (Disdukcapil)",
    "jamkesda": "Kepesertaan Jamkesda (Dinkes)",
    "jkn": "Kepesertaan JKN (BPJS Kesehatan)",
}

LEDGER_FAILURES = {
    Failure.SIGNATURE_INVALID: (
        "Tanda tangan checkpoint tidak sah dengan kunci verifikasi layanan ini."
    ),
    Failure.HASHES_MISSING: "Hash pohon yang tersimpan tidak lengkap: tabel ledger rusak.",
    Failure.RECORD_UNENCODABLE: (
        "Catatan ini tidak dapat lagi disusun menjadi daun ledger: catatan telah diubah."
    ),
    Failure.RECORD_CHANGED: (
        "Isi catatan sekarang berbeda dari yang dicatat di ledger: catatan telah diubah "
        "setelah diurutkan."
    ),
    Failure.PROOF_INVALID: "Bukti inklusi tidak mengarah ke akar checkpoint.",
}


@dataclass(frozen=True)
class Words:
    """The labels a console template uses, with the zone its times are shown in."""

    zone: tzinfo

    def decision(self, code: str) -> str:
        """The label of a decision code."""
        return DECISIONS.get(code, code)

    def reason(self, code: str) -> str:
        """The short label of a reason code."""
        return REASONS.get(code, code)

    def channel(self, code: str) -> str:
        """How the check came in."""
        return CHANNELS.get(code, code)

    def channel_short(self, code: str) -> str:
        """How the check came in, in a word."""
        return CHANNELS_SHORT.get(code, code)

    def service_type(self, code: str | None) -> str:
        """The kind of care asked for."""
        return SERVICE_TYPES.get(code, code) if code else "Tidak diisi"

    def match(self, code: str) -> str:
        """The answer for an identity field."""
        return MATCHES.get(code, code)

    def source(self, name: str) -> str:
        """A data source's name."""
        return SOURCES.get(name, name)

    def ledger_failure(self, failure: Failure) -> str:
        """Why a record's inclusion proof does not verify."""
        return LEDGER_FAILURES[failure]

    def time(self, instant: datetime) -> str:
        """An instant in the zone, to the second: ``3 Maret 2026, 09:14:03 WITA``."""
        local = clock.aware(instant).astimezone(self.zone)
        return f"{long_date(local.date())}, {local:%H:%M:%S} {local.tzname()}"

    def day(self, value: date | None) -> str:
        """A date, or a dash when there is none."""
        return long_date(value) if value else "—"

    def iso_day(self, text: str) -> str:
        """A date written ``YYYY-MM-DD`` as Indonesians write it; other text as it is."""
        try:
            return long_date(date.fromisoformat(text))
        except ValueError:
            return text

    def messages(self, texts: Any) -> str:
        """A field's error messages (maybe nested) as one text."""
        return " ".join(field_messages(texts))

    def b64(self, value: bytes) -> str:
        """Bytes in base64, as the ledger API writes hashes."""
        return base64.b64encode(value).decode("ascii")
