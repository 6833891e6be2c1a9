"""What a refused request's record and answer keep of its faults: bounded (SPEC §13).

A refused check is recorded for good and sequenced into the ledger, and the caller chose
its body. Its ``errors`` (field → list of messages) therefore keep field names and the
service's fixed messages only, never a value sent, and within fixed bounds: the known
fields first, at most ``MAX_ERROR_FIELDS`` fields, each name cut to
``MAX_FIELD_NAME_BYTES`` and each message to ``MAX_MESSAGE_BYTES`` (as the ledger leaf
spells them, where a character beyond U+FFFF takes 12 bytes), at most ``MAX_ERRORS_BYTES``
in all; the fields left out are counted under ``MORE_FIELDS``. Before these bounds, 64 KiB
of unknown member names made a 230 KB record, and a batch item a 3.5 MB one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from typing import Any

from service.errors import field_messages

# Marshmallow's message for a member the schema does not know, and the batch's.
UNKNOWN_FIELD = "Kolom ini tidak dikenal."
# The pseudo-field counting the fields left out, beside marshmallow's ``_schema``.
MORE_FIELDS = "_more"
MAX_ERROR_FIELDS = 20
MAX_MESSAGES_PER_FIELD = 3
MAX_FIELD_NAME_BYTES = 48
MAX_MESSAGE_BYTES = 160
# With every other stored text at its longest, a record's leaf stays under 4 KiB
# (tests/test_bounded_records.py builds that record).
MAX_ERRORS_BYTES = 1024
CUT = "…"
# What the count under MORE_FIELDS takes at most: its name, its message and punctuation.
_MORE_RESERVE = 96
# Text a PostgreSQL column cannot hold (NUL) or that is not Unicode (a lone surrogate,
# which a JSON text can spell as an escape): the record's INSERT would fail.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` with U+FFFD for each character no database column can hold.

    A refused request keeps what it was sent; a NUL kept as is made the record's INSERT
    fail, so the refusal answered a false 503 instead of its 422.
    """
    return _UNSTORABLE.sub("\ufffd", text)


def leaf_bytes(value: Any) -> int:
    """The bytes a JSON value takes in a ledger leaf (ASCII, every other character escaped)."""
    return len(json.dumps(value, ensure_ascii=True, separators=(",", ":")))


def cut_text(text: str, max_bytes: int) -> str:
    """``text`` storable, cut (ending in ``…``) so that its leaf spelling fits ``max_bytes``.

    The spelling is counted without its quotes. Text that fits is returned as it is, so
    cutting twice changes nothing.
    """
    text = storable(text)
    if _spelled_bytes(text) <= max_bytes:
        return text
    budget = max_bytes - _spelled_bytes(CUT)
    kept = []
    for character in text:
        budget -= _spelled_bytes(character)
        if budget < 0:
            break
        kept.append(character)
    return "".join(kept) + CUT


def _spelled_bytes(text: str) -> int:
    """The bytes of a text's leaf spelling inside its quotes."""
    return leaf_bytes(text) - 2


def more_fields_message(count: int) -> str:
    """The message counting fields left out of ``errors``."""
    return f"{count} kolom lain juga salah (tidak ditampilkan)."


def bounded_errors(errors: Mapping[str, Any], known: Collection[str] = ()) -> dict[str, list[str]]:
    """``errors`` within the bounds of the module's docstring; the ``known`` fields first.

    Bounding a result again returns it unchanged, so a record and its answer agree.
    """
    names = [name for name in errors if name != MORE_FIELDS]
    ordered = [name for name in names if name in known] + [
        name for name in names if name not in known
    ]
    kept: dict[str, list[str]] = {}
    size = 2 + _MORE_RESERVE
    left_out = _count_left_out(errors.get(MORE_FIELDS))
    for name in ordered:
        entry_name, messages = _bounded_entry(name, errors[name])
        entry = leaf_bytes(entry_name) + 1 + leaf_bytes(messages) + 1
        # Two long names may be cut to one: the second is counted rather than shown.
        full = len(kept) == MAX_ERROR_FIELDS or size + entry > MAX_ERRORS_BYTES
        if full or entry_name in kept:
            left_out += 1
            continue
        kept[entry_name] = messages
        size += entry
    if left_out:
        kept[MORE_FIELDS] = [more_fields_message(left_out)]
    return kept


def _bounded_entry(name: str, messages: Any) -> tuple[str, list[str]]:
    """A field's name and its first messages, each cut to its bound."""
    texts = field_messages(messages)[:MAX_MESSAGES_PER_FIELD]
    return cut_text(name, MAX_FIELD_NAME_BYTES), [
        cut_text(text, MAX_MESSAGE_BYTES) for text in texts
    ]


def _count_left_out(messages: Any) -> int:
    """The count a bounded ``errors`` already holds under ``MORE_FIELDS`` (0 if none)."""
    for text in field_messages(messages or []):
        match = re.match(r"(\d+) ", text)
        if match:
            return int(match.group(1))
    return 0
