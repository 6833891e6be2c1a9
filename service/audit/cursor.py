"""Opaque page cursors: "the items below this id", so pages never skip or repeat (pure)."""

from __future__ import annotations

import base64
import binascii
import re

_PREFIX = "id:"
# Ids stay far below 10^18, which fits a BIGINT.
_PAYLOAD = re.compile(r"id:[1-9][0-9]{0,17}")
_MESSAGE = "Kursor halaman tidak valid: pakai next_cursor apa adanya."


class InvalidCursor(ValueError):
    """The cursor was not made by this service, or was altered."""


def encode_cursor(last_id: int) -> str:
    """The cursor of the page that follows an item with id ``last_id``."""
    return base64.urlsafe_b64encode(f"{_PREFIX}{last_id}".encode("ascii")).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id below which the next page starts, or ``InvalidCursor``."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise InvalidCursor(_MESSAGE) from exc
    if not _PAYLOAD.fullmatch(payload):
        raise InvalidCursor(_MESSAGE)
    last_id = int(payload[len(_PREFIX) :])
    # Decoding skips stray characters: only the exact text this service made is accepted.
    if encode_cursor(last_id) != cursor:
        raise InvalidCursor(_MESSAGE)
    return last_id
