"""``Idempotency-Key``: one per logical check or batch, the same on every attempt of it."""

from __future__ import annotations

import uuid

MAX_LENGTH = 64


def new_idempotency_key() -> str:
    """A fresh key: 32 hex digits, far inside the service's 1–64 printable ASCII."""
    return uuid.uuid4().hex


def key_for_call(given: str | None) -> str:
    """The caller's key when given (checked as the service checks it), else a fresh one.

    A caller gives its own key to resume a check across restarts of its own program (for
    example its visit number): the service then answers with the first attempt's record.
    """
    if given is None:
        return new_idempotency_key()
    printable = all(" " <= character <= "~" for character in given)
    if not 1 <= len(given) <= MAX_LENGTH or not printable or given != given.strip():
        raise ValueError(
            "an Idempotency-Key is 1–64 printable ASCII characters without spaces at either end"
        )
    return given
