"""Parsers of one import value each (pure): they return the stored value or raise FieldError."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import TypeVar

from service.nik import InvalidNik, parse_nik

_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_DAY_FIRST_DATE = re.compile(r"([0-9]{1,2})([-/])([0-9]{1,2})\2([0-9]{4})")
_DOTTED_VILLAGE = re.compile(r"([0-9]{2})\.([0-9]{2})\.([0-9]{2})\.([0-9]{4})")
_VILLAGE = re.compile(r"[0-9]{10}")
_SPACES = re.compile(r"\s+")
T = TypeVar("T")
# Dates, village codes and enumerations repeat over hundreds of thousands of rows, so their
# parsed values are kept; this bound keeps a file of all-different values from growing it.
_REMEMBERED = 65_536
# Provinces times birth dates of a whole registry: about 150,000 for Kukar's 807,000 people.
_NIK_SHAPES_REMEMBERED = 1 << 18
# Why a NIK of a given shape is not valid ("": it is valid), by shape; see ``nik``.
_NIK_VERDICTS: dict[str, str] = {}
DATE_FORMATS = "YYYY-MM-DD, DD-MM-YYYY or DD/MM/YYYY"

# The messages of service.nik are for the desk, in Indonesian; the operator's report is English.
_NIK_REASONS = {
    "NIK harus terdiri dari 16 angka.": "not a valid NIK: it must be 16 digits",
    "Kode provinsi pada NIK tidak dikenal.": "not a valid NIK: its province code is not 11-99",
    "Tanggal lahir pada NIK tidak valid.": "not a valid NIK: its birth day is not 01-31 or 41-71",
    "Bulan lahir pada NIK tidak valid.": "not a valid NIK: its birth month is not 01-12",
    "Tanggal lahir pada NIK tidak ada dalam kalender.": (
        "not a valid NIK: its birth date is not a real calendar date"
    ),
    "Nomor urut pada NIK tidak boleh 0000.": "not a valid NIK: its serial number is 0000",
}


class FieldError(ValueError):
    """The value cannot be stored; the message says why, for the operator."""


class _Remembered(dict[str, T]):
    """Parsed values by their text; a value not seen before is parsed, and kept if good."""

    def __init__(self, parse: Callable[[str], T]) -> None:
        """Remember what ``parse`` gives."""
        super().__init__()
        self._parse = parse

    def __missing__(self, value: str) -> T:
        """Parse ``value`` (raising FieldError if it is bad) and keep the result."""
        result = self._parse(value)
        if len(self) < _REMEMBERED:
            self[value] = result
        return result


def remembered(parse: Callable[[str], T]) -> Callable[[str], T]:
    """``parse``, answering a value seen before from memory; bad values are parsed each time.

    A remembered value costs one dictionary look-up and no Python call, which matters
    when a column is read 800,000 times.
    """
    return _Remembered(parse).__getitem__


def shown(value: str) -> str:
    """A value quoted for the report, cut short when long."""
    return repr(value if len(value) <= 40 else value[:37] + "...")


def required(value: str) -> str:
    """The value itself, which must not be empty."""
    if not value:
        raise FieldError("a value is required")
    return value


def text(max_length: int) -> Callable[[str], str]:
    """A parser of non-empty text of at most ``max_length`` characters."""

    def parse(value: str) -> str:
        """The text, checked for presence and length."""
        if len(value) > max_length:
            raise FieldError(f"is {len(value)} characters long; at most {max_length} fit")
        return required(value)

    return parse


def free_text(max_length: int) -> Callable[[str], str]:
    """A parser of text that may be empty, of at most ``max_length`` characters."""
    non_empty = text(max_length)

    def parse(value: str) -> str:
        """The text, checked for length."""
        return non_empty(value) if value else ""

    return parse


def _parsed_nik(value: str) -> str:
    """The NIK as ``service.nik`` parses it."""
    try:
        return parse_nik(required(value)).value
    except InvalidNik as exc:
        raise FieldError(_NIK_REASONS.get(str(exc), f"not a valid NIK ({exc})")) from exc


def _nik_reason(value: str) -> str:
    """Why ``value`` is not a valid NIK, or "" when it is one."""
    try:
        _parsed_nik(value)
    except FieldError as exc:
        return str(exc)
    return ""


def nik(value: str) -> str:
    """The 16 digits of a structurally valid NIK (separators removed)."""
    if len(value) != 16 or not value.isdigit() or not value.isascii() or value.endswith("0000"):
        return _parsed_nik(value)
    # Of 16 plain digits with a serial other than 0000, parse_nik reads only the province
    # and the birth date, so its verdict is remembered by those: parsing every NIK would be
    # the bulk of a file's checking time. A property test holds the two to the same answers.
    shape = value[:2] + value[6:12]
    reason = _NIK_VERDICTS.get(shape)
    if reason is None:
        reason = _nik_reason(value)
        if len(_NIK_VERDICTS) < _NIK_SHAPES_REMEMBERED:
            _NIK_VERDICTS[shape] = reason
    if reason:
        raise FieldError(reason)
    return value


def digits(count: int) -> Callable[[str], str]:
    """A parser of exactly ``count`` digits."""

    def parse(value: str) -> str:
        """The digits, checked for count."""
        if not (required(value).isascii() and value.isdigit() and len(value) == count):
            raise FieldError(f"must be {count} digits")
        return value

    return parse


def calendar_date(value: str) -> date:
    """A real calendar date written YYYY-MM-DD, DD-MM-YYYY or DD/MM/YYYY."""
    if iso := _ISO_DATE.fullmatch(required(value)):
        year, month, day = (int(part) for part in iso.groups())
    elif day_first := _DAY_FIRST_DATE.fullmatch(value):
        day, month, year = int(day_first[1]), int(day_first[3]), int(day_first[4])
    else:
        raise FieldError(f"{shown(value)} is not a date; write it {DATE_FORMATS}")
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise FieldError(f"{shown(value)} is not a real calendar date") from exc


def optional(parse: Callable[[str], T]) -> Callable[[str], T | None]:
    """A parser that gives None for an empty value and ``parse``'s result otherwise."""

    def parse_optional(value: str) -> T | None:
        """None when empty, else the parsed value."""
        return parse(value) if value else None

    return parse_optional


optional_date = optional(calendar_date)


def village_code(value: str) -> str:
    """A village code, dotted (``64.02.01.2001``) or 10 digits, stored as 10 digits.

    It is deliberately not looked up in a list of codes: codes change when regions split.
    """
    if dotted := _DOTTED_VILLAGE.fullmatch(required(value)):
        return "".join(dotted.groups())
    if _VILLAGE.fullmatch(value):
        return value
    raise FieldError(f"{shown(value)} is not a village code; write it 64.02.01.2001 or 6402012001")


def choice(canonical: Mapping[str, str]) -> Callable[[str], str]:
    """A parser of an enumeration: any case and spacing of a key, stored as its value."""
    accepted = ", ".join(canonical)

    def parse(value: str) -> str:
        """The canonical value of the accepted spelling."""
        key = _SPACES.sub(" ", required(value)).upper()
        if key not in canonical:
            raise FieldError(f"{shown(value)} is not one of {accepted}")
        return canonical[key]

    return parse


def same(*values: str) -> dict[str, str]:
    """An enumeration whose accepted spellings are its stored values."""
    return {value: value for value in values}
