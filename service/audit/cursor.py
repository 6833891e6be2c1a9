"""Opaque page cursors: the id of a page's last item, so pages never skip or repeat (pure).

A cursor is the text ``id:<id>`` written as letters only, two per byte (``a``–``p`` for
the 16 values of each half-byte). With no digit in it, no cursor ever shows its id in
plain, not even a short one (base64, used before, let ``id:6`` read ``aWQ6Ng``).
"""

from __future__ import annotations

import re

_PREFIX = "id:"
_LETTERS = "abcdefghijklmnop"
_VALUE = {letter: value for value, letter in enumerate(_LETTERS)}
_CURSOR = re.compile(r"(?:[a-p]{2})+")
# Ids stay far below 10^18, which fits a BIGINT.
_PAYLOAD = re.compile(r"id:[1-9][0-9]{0,17}")
_MESSAGE = "Kursor halaman tidak valid: pakai next_cursor apa adanya."


class InvalidCursor(ValueError):
    """The cursor was not made by this service, or was altered."""


def encode_cursor(last_id: int) -> str:
    """The cursor of the page that follows an item with id ``last_id``."""
    payload = f"{_PREFIX}{last_id}".encode("ascii")
    return "".join(_LETTERS[byte >> 4] + _LETTERS[byte & 15] for byte in payload)


def decode_cursor(cursor: str) -> int:
    """The id of the item the next page follows, or ``InvalidCursor``."""
    if not _CURSOR.fullmatch(cursor):
        raise InvalidCursor(_MESSAGE)
    values = [_VALUE[letter] for letter in cursor]
    payload = bytes(high << 4 | low for high, low in zip(values[::2], values[1::2], strict=True))
    text = payload.decode("ascii", errors="replace")
    if not _PAYLOAD.fullmatch(text):
        raise InvalidCursor(_MESSAGE)
    return int(text[len(_PREFIX) :])
