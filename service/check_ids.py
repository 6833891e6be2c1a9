"""Check and batch references: short, typeable, case-insensitive, with a check character (pure)."""

from __future__ import annotations

import secrets

# Crockford's base 32: no I, L, O or U, so a printed reference cannot be misread.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {char: index for index, char in enumerate(ALPHABET)}
# Readers confuse these with digits; Crockford's decoding maps them back.
_ALIASES = {"O": "0", "I": "1", "L": "1"}
PAYLOAD_LENGTH = 11
GROUP = 4


class InvalidCheckId(ValueError):
    """The reference is malformed or its check character does not match."""


def _check_character(payload: str) -> str:
    """Luhn mod 32: catches every single wrong character and most swapped neighbours."""
    total = 0
    factor = 2
    for char in reversed(payload):
        addend = factor * _VALUE[char]
        total += addend // 32 + addend % 32
        factor = 1 if factor == 2 else 2
    return ALPHABET[(32 - total % 32) % 32]


def _format(compact: str) -> str:
    return "-".join(compact[i : i + GROUP] for i in range(0, len(compact), GROUP))


def new_check_id() -> str:
    """A fresh random reference such as ``K7QM-3XD9-2F4E`` (55 random bits)."""
    # One draw of 55 bits, cut into eleven 5-bit characters, is cheaper than eleven draws.
    bits = secrets.randbits(5 * PAYLOAD_LENGTH)
    payload = "".join(ALPHABET[(bits >> (5 * i)) & 31] for i in range(PAYLOAD_LENGTH))
    return _format(payload + _check_character(payload))


def parse_check_id(text: str) -> str:
    """Return the canonical form of a typed reference or raise ``InvalidCheckId``."""
    compact = text.strip().upper().replace("-", "").replace(" ", "")
    compact = "".join(_ALIASES.get(char, char) for char in compact)
    if len(compact) != PAYLOAD_LENGTH + 1 or any(c not in _VALUE for c in compact):
        raise InvalidCheckId("Nomor referensi harus 12 huruf/angka, misalnya K7QM-3XD9-2F4E.")
    if _check_character(compact[:-1]) != compact[-1]:
        raise InvalidCheckId("Nomor referensi salah ketik: karakter pemeriksa tidak cocok.")
    return _format(compact)


BATCH_PREFIX = "B-"


def new_batch_id() -> str:
    """A fresh batch reference: ``B-`` and a reference in the form of a check's."""
    return BATCH_PREFIX + new_check_id()


def parse_batch_id(text: str) -> str:
    """Return the canonical form of a typed batch reference or raise ``InvalidCheckId``."""
    compact = text.strip().upper()
    if not compact.startswith(BATCH_PREFIX):
        raise InvalidCheckId("Nomor batch diawali B-, misalnya B-K7QM-3XD9-2F4E.")
    return BATCH_PREFIX + parse_check_id(compact[len(BATCH_PREFIX) :])
