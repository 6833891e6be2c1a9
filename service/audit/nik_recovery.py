"""Finding a record's NIK again, for a replay, through the registry rows' keyed hash.

A check record holds the NIK only as an HMAC and a mask (SPEC §2.6). A replay needs the
NIK itself to read the facts. Every population, Jamkesda and JKN row version keeps the
same HMAC of its NIK (``nik_hash``, filled at import), indexed: the record's hash finds
the row, and the row gives the NIK. The plain NIK lives only in memory for the request:
it is never logged, stored or returned.

The look-up is right only while the registry was hashed under the key the service runs
with. After a key change without ``jamkesda db rehash`` every look-up would miss, and a
replay would take the person for unknown: ``RehashNeeded`` is raised instead.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, String, bindparam, select
from sqlalchemy.orm import Session

from models import JamkesdaRow, JknRow, PopulationRow
from service.registry_key import require_key


def _nik_statement(model: Any) -> Select[Any]:
    """The NIK of any version of ``model``'s rows whose hash is ``:hashed``."""
    return select(model.nik).where(model.nik_hash == bindparam("hashed", type_=String)).limit(1)


# Population first: nearly everyone who was ever checked is there, so the search mostly
# ends in that table. Built once, so SQLAlchemy reuses each compiled statement.
_BY_HASH = tuple(_nik_statement(model) for model in (PopulationRow, JamkesdaRow, JknRow))


def recover_nik(session: Session, hashed: str | None, key: bytes) -> str | None:
    """The NIK of a record's ``nik_hash``, or None when it was in no import at any time.

    None also answers a record without a hash: no person can be found for it either way.
    Raises ``RehashNeeded`` when the registry was hashed under another key than ``key``.
    """
    if hashed is None:
        return None
    require_key(session, key)
    for statement in _BY_HASH:
        nik: str | None = session.scalar(statement, {"hashed": hashed})
        if nik is not None:
            return nik
    return None
