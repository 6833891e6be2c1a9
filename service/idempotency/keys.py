"""The ``Idempotency-Key`` header and the body's fingerprint (pure)."""

from __future__ import annotations

import hashlib
import re

MAX_KEY_LENGTH = 64
# 1–64 printable ASCII characters, sent as is (SPEC §9.1): no control or non-ASCII one.
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]+")


class InvalidKey(ValueError):
    """The header holds no usable key; the message says why, in Indonesian."""


def read_key(header: str | None) -> str | None:
    """The key of an ``Idempotency-Key`` header (None: no header), or ``InvalidKey``."""
    if header is None:
        return None
    if not header:
        raise InvalidKey("Idempotency-Key kosong: kirim 1–64 karakter ASCII yang terlihat.")
    if len(header) > MAX_KEY_LENGTH:
        raise InvalidKey(f"Idempotency-Key paling panjang {MAX_KEY_LENGTH} karakter.")
    if not _PRINTABLE_ASCII.fullmatch(header):
        raise InvalidKey(
            "Idempotency-Key hanya boleh berisi karakter ASCII yang terlihat "
            "(tanpa karakter kontrol atau huruf di luar ASCII)."
        )
    return header


def fingerprint(body: bytes) -> str:
    """The fingerprint of a request body's bytes: SHA-256, hex."""
    return hashlib.sha256(body).hexdigest()
