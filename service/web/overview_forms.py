"""The query forms of the console's overview pages: the statistics period, the log's pages.

The statistics form is checked by the audit API's own filter schema, so the page and
``GET /v1/audit/stats`` accept the same dates; the page adds what a chart per day needs
(whole days, a bounded period). A mistake comes back as messages per form field.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from marshmallow import ValidationError

from service.api.audit_schemas import CheckFilterSchema
from service.audit.access import mask_digits
from service.audit.cursor import InvalidCursor, decode_cursor
from service.audit.filters import CheckFilter, InvalidFilter, check_filter
from service.errors import Problem

# The period shown when none is chosen: the last 30 WITA days, today included.
DEFAULT_DAYS = 30
# A chart draws one column per day: a year is the most that stays readable.
MAX_DAYS = 366
# The dates a period may start and end on; far dates are typing mistakes.
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
# How much of a mistyped date a message repeats.
MAX_SHOWN = 40
# Form fields and the audit filter's parameters they are checked as.
FIELDS = {"dari": "from", "sampai": "to", "fasilitas": "facility"}
# Where the filter schema puts a checked date ("from" is a Python keyword).
DATES = {"dari": "from_", "sampai": "to"}


@dataclass(frozen=True)
class StatsForm:
    """The statistics form as shown again (``values``), its mistakes, the filter it makes."""

    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)
    start: date | None = None
    end: date | None = None
    check_filter: CheckFilter | None = None

    @property
    def days(self) -> list[date]:
        """Every day of the period, in order (none while the form has mistakes)."""
        if self.start is None or self.end is None:
            return []
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


def read_stats_form(
    args: Mapping[str, str],
    facility_codes: Collection[str],
    zone: tzinfo,
    today: date,
    hash_key: bytes,
) -> StatsForm:
    """The form of ``/console/statistik``: a period (default the last 30 days), a facility."""
    values = {
        "dari": args.get("dari", "").strip()
        or (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
        "sampai": args.get("sampai", "").strip() or today.isoformat(),
        "fasilitas": args.get("fasilitas", "").strip(),
    }
    query = {FIELDS[name]: value for name, value in values.items() if value}
    # What the form shows again: a NIK pasted into a date field by mistake is masked.
    values.update({name: mask_digits(values[name]) for name in DATES})
    try:
        loaded: dict[str, Any] = CheckFilterSchema().load(query)
    except ValidationError as invalid:
        messages = invalid.messages if isinstance(invalid.messages, dict) else {}
        return StatsForm(values, _form_errors(messages, values))
    errors: dict[str, list[str]] = {}
    for name, attribute in DATES.items():
        if message := _date_mistake(loaded[attribute], values[name]):
            errors[name] = [message]
    if values["fasilitas"] and values["fasilitas"] not in facility_codes:
        errors["fasilitas"] = ["Fasilitas tidak dikenal. Pilih dari daftar."]
    if errors:
        return StatsForm(values, errors)
    start, end = loaded["from_"], loaded["to"]
    try:
        found = check_filter(loaded, zone, hash_key)
    except InvalidFilter:
        return StatsForm(
            values, {"dari": ["Tanggal awal harus sebelum atau sama dengan tanggal akhir."]}
        )
    if (end - start).days + 1 > MAX_DAYS:
        return StatsForm(values, {"sampai": [f"Periode paling panjang {MAX_DAYS} hari."]})
    return StatsForm(values, start=start, end=end, check_filter=found)


def _not_a_date(typed: str) -> str:
    """The message for a date field that does not hold a date (the browser may blank it)."""
    shown = typed if len(typed) <= MAX_SHOWN else typed[: MAX_SHOWN - 1] + "…"
    return f"“{shown}” bukan tanggal. Isi dengan format YYYY-MM-DD, misalnya 2026-03-03."


def _date_mistake(value: object, typed: str) -> str | None:
    """Why a checked ``from``/``to`` value does not suit a chart per day, if it does not.

    The audit API also takes a date-time there; a chart per day needs whole days.
    """
    if isinstance(value, datetime) or not isinstance(value, date):
        return _not_a_date(typed)
    if not EARLIEST <= value <= LATEST:
        return f"Tanggal harus antara {EARLIEST.isoformat()} dan {LATEST.isoformat()}."
    return None


def _form_errors(messages: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, list[str]]:
    """The filter schema's messages per parameter, as messages per form field.

    A date the schema refused gets the page's own words: the API's message offers a
    date-time too, which this form does not take.
    """
    fields_of = {parameter: name for name, parameter in FIELDS.items()}
    errors: dict[str, list[str]] = {}
    for parameter, found in messages.items():
        name = fields_of.get(parameter, "dari")
        if name in DATES:
            errors[name] = [_not_a_date(values[name])]
        else:
            errors[name] = [str(m) for m in (found if isinstance(found, list) else [found])]
    return errors


def read_page_cursor(args: Mapping[str, str]) -> int | None:
    """The access log page asked for (``?halaman=``), or a 422 for a mangled address."""
    cursor = args.get("halaman", "")
    if not cursor:
        return None
    try:
        return decode_cursor(cursor)
    except InvalidCursor as invalid:
        raise Problem(
            422,
            "INVALID_CURSOR",
            "Alamat halaman log ini tidak valid atau sudah diubah. Buka Log akses dari menu "
            "untuk mulai lagi dari halaman pertama.",
        ) from invalid
