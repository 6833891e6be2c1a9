"""The words and formats of the console's overview pages, in plain Indonesian (pure).

Codes stay in the API; a page names them as an officer of the Ombudsman would, and shows
the code beside the words where an auditor may need to match it with an API answer.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from service.clock import aware, local_iso
from service.decision import Outcome

# Every decision a record can carry, in the order the statistics list them.
DECISIONS = (
    Outcome.ELIGIBLE.value,
    Outcome.COVERED_BY_JKN.value,
    Outcome.NOT_ELIGIBLE.value,
    Outcome.UNDETERMINED.value,
    Outcome.INVALID_REQUEST.value,
)
DECISION_LABELS = {
    Outcome.ELIGIBLE.value: "Berhak (Jamkesda)",
    Outcome.COVERED_BY_JKN.value: "Dijamin JKN",
    Outcome.NOT_ELIGIBLE.value: "Tidak berhak",
    Outcome.UNDETERMINED.value: "Belum dapat dipastikan",
    Outcome.INVALID_REQUEST.value: "Isian tidak valid",
}
SOURCE_LABELS = {
    "population": "Data kependudukan (Disdukcapil)",
    "jamkesda": "Kepesertaan Jamkesda (Dinas Kesehatan)",
    "jkn": "Peserta JKN (BPJS Kesehatan)",
    "facilities": "Daftar fasilitas kesehatan",
}
ROLE_LABELS = {
    "desk": "Loket fasilitas",
    "integration": "Integrasi sistem rumah sakit",
    "auditor": "Auditor",
    "admin": "Operator (admin)",
}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")


def local_time(instant: datetime, zone: tzinfo) -> str:
    """An instant on the zone's clock for reading: ``03-03-2026 09.14.03``."""
    return aware(instant).astimezone(zone).strftime("%d-%m-%Y %H.%M.%S")


def iso_time(instant: datetime, zone: tzinfo) -> str:
    """An instant for a ``<time datetime>`` attribute: ISO 8601 with the zone's offset."""
    return local_iso(instant, zone)


def local_date(day: date) -> str:
    """A date for reading: ``03-03-2026``."""
    return day.strftime("%d-%m-%Y")


def short_date(day: date) -> str:
    """A date on a chart's axis: ``3 Mar``."""
    return f"{day.day} {MONTHS[day.month - 1]}"


def percent(rate: float | None) -> str:
    """A rate as Indonesian text with one decimal (``12,5%``); ``–`` when there is none."""
    if rate is None:
        return "–"
    return f"{rate * 100:.1f}%".replace(".", ",")


def status_word(status: int) -> str:
    """What an HTTP status meant for the request, in a word."""
    if status < 300:
        return "berhasil"
    if status < 400:
        return "dialihkan"
    if status < 500:
        return "ditolak"
    return "gagal"
