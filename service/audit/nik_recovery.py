"""Finding a record's NIK again, for a replay, from the registry rows and the keyed hash.

A check record holds the NIK only as an HMAC and a mask (SPEC §2.6). A replay needs the
NIK itself to read the facts, so it takes every NIK that ever appeared in the imported
data with the mask's first four and last two digits, and keeps the one whose HMAC under
the server's key is the record's. The plain NIK lives only in memory for the request:
it is never logged, stored or returned.

The mask narrows little: most Kukar NIKs start with 6402, and most end in 01 because the
last four digits count people born on the same day in the same district. A replay may
therefore read and hash several hundred thousand candidates (the README gives timings).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from sqlalchemy import Connection, Select, String, bindparam, select
from sqlalchemy.orm import Session

from models import JamkesdaRow, JknRow, PopulationRow
from service.nik import NIK_LENGTH

# What ``service.nik.mask`` makes of a 16-digit NIK: 4 digits, 10 stars, 2 digits.
_MASK = re.compile(r"([0-9]{4})\*{10}([0-9]{2})")


class KeyedNikHash:
    """``service.nik.nik_hash`` under one key, with the key schedule done once.

    A replay may try 400,000 candidates: copying an HMAC object keyed once is a third
    cheaper than keying ``hmac.new`` afresh for each.
    """

    def __init__(self, key: bytes) -> None:
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)

    def digest(self, nik: str) -> bytes:
        """The raw HMAC-SHA256 of ``nik``: ``nik_hash`` as bytes instead of hex."""
        keyed = self._keyed.copy()
        keyed.update(nik.encode("utf-8"))
        return keyed.digest()


def mask_digits(nik_masked: str | None) -> tuple[str, str] | None:
    """The first four and last two digits a mask shows, or None for anything else."""
    found = _MASK.fullmatch(nik_masked or "")
    return (found.group(1), found.group(2)) if found else None


def _candidates_statement(model: Any) -> Select[str]:
    """The NIKs of every version of ``model``'s rows from ``:low`` to ``:high``, like ``:pattern``.

    The range lets PostgreSQL read the ``(nik, valid_from)`` index instead of the table;
    the pattern then keeps the NIKs that end in the mask's digits. The bounds are 16
    digits each, so every collation orders them as numbers.
    """
    low = bindparam("low", type_=String)
    high = bindparam("high", type_=String)
    pattern = bindparam("pattern", type_=String)
    return select(model.nik).where(model.nik >= low, model.nik <= high, model.nik.like(pattern))


# Population first: nearly everyone who was ever checked is there, so the search mostly
# ends in that table. Built once, so SQLAlchemy reuses each compiled statement.
_CANDIDATES = tuple(_candidates_statement(model) for model in (PopulationRow, JamkesdaRow, JknRow))


def _bounds(prefix: str, suffix: str) -> dict[str, str]:
    """The range and LIKE pattern of the NIKs that start with ``prefix`` and end with ``suffix``."""
    hidden = NIK_LENGTH - len(prefix) - len(suffix)
    return {
        "low": prefix + "0" * (NIK_LENGTH - len(prefix)),
        "high": prefix + "9" * (NIK_LENGTH - len(prefix)),
        "pattern": prefix + "_" * hidden + suffix,
    }


def recover_nik(
    session: Session, nik_masked: str | None, hashed: str | None, key: bytes
) -> str | None:
    """The NIK of a record, or None when it was in no import at any time.

    None also answers a record whose NIK cannot have come from a registry row (no hash,
    or a mask that is not of a 16-digit NIK): no person can be found for it either way.
    """
    digits = mask_digits(nik_masked)
    if digits is None or hashed is None:
        return None
    wanted = bytes.fromhex(hashed)
    keyed = KeyedNikHash(key)
    tried: set[str] = set()
    connection = session.connection()
    for statement in _CANDIDATES:
        for nik in _fetch_niks(connection, statement, _bounds(*digits)):
            # The same NIK recurs across versions and sources: hash it only once.
            if nik in tried:
                continue
            tried.add(nik)
            if keyed.digest(nik) == wanted:
                return nik
    return None


def _fetch_niks(
    connection: Connection, statement: Select[str], bounds: dict[str, str]
) -> list[str]:
    """Every NIK the statement finds, read in one go from the driver's cursor.

    A common mask matches 400,000 NIKs. Reading them as plain tuples from the DBAPI
    cursor takes a third of the time that building SQLAlchemy rows does, and a server-side
    cursor's round trips cost more than stopping early would save.
    """
    result = connection.execute(statement, bounds)
    try:
        return [row[0] for row in result.cursor.fetchall()]
    finally:
        result.close()
