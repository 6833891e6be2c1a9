"""Query-parameter fields of the audit API: a NIK, a date or date-time, a cursor, groups."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from marshmallow import ValidationError, fields

from service.audit.cursor import InvalidCursor, decode_cursor
from service.audit.stats import GROUPS
from service.check_ids import InvalidCheckId, parse_batch_id
from service.nik import InvalidNik, parse_nik

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# An unencoded "+08:00" in a URL arrives as " 08:00": put the plus back.
_SPACED_OFFSET = re.compile(r"(.*T[0-9:.]+) ([0-9]{2}:?[0-9]{2})")


class NikField(fields.Field[str]):
    """A NIK typed by an auditor: normalised like a check's, rejected when malformed."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        if not isinstance(value, str):
            raise ValidationError("Harus berupa teks.")
        try:
            return parse_nik(value).value
        except InvalidNik as exc:
            raise ValidationError(str(exc)) from exc


class BatchIdField(fields.Field[str]):
    """A batch reference, case-insensitive, its check character checked."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        try:
            return parse_batch_id(value if isinstance(value, str) else "")
        except InvalidCheckId as exc:
            raise ValidationError(str(exc)) from exc


class MomentField(fields.Field[date | datetime]):
    """A date (a whole WITA day) or a date-time (with an offset, else read as WITA)."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> date | datetime:
        text = value.strip() if isinstance(value, str) else ""
        try:
            if _DATE.fullmatch(text):
                return date.fromisoformat(text)
            if spaced := _SPACED_OFFSET.fullmatch(text):
                text = f"{spaced.group(1)}+{spaced.group(2)}"
            if "T" in text or " " in text:
                return datetime.fromisoformat(text)
        except ValueError:
            pass
        raise ValidationError(
            "Tanggal harus YYYY-MM-DD atau tanggal-waktu ISO 8601, "
            "misalnya 2026-03-03T08:00:00+08:00."
        )


class CursorField(fields.Field[int]):
    """The ``next_cursor`` of the previous page; opaque to the caller."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> int:
        try:
            return decode_cursor(value if isinstance(value, str) else "")
        except InvalidCursor as exc:
            raise ValidationError(str(exc)) from exc


class GroupByField(fields.Field[tuple[str, ...]]):
    """A comma list of groups, each named once, at least one."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> tuple[str, ...]:
        names = [name.strip() for name in value.split(",")] if isinstance(value, str) else []
        unknown = [name for name in names if name not in GROUPS]
        if not names or unknown or len(set(names)) != len(names):
            raise ValidationError(
                f"Pilih satu atau lebih dari {', '.join(GROUPS)}, dipisah koma, "
                "masing-masing sekali."
            )
        return tuple(names)
