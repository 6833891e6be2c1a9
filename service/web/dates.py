"""Dates and times as the pages write them for Indonesian readers."""

from __future__ import annotations

from datetime import date

MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


def long_date(day: date) -> str:
    """A date as Indonesians write it: ``6 Desember 2026``."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
