"""Which key the registry rows' NIK hashes were made under (SPEC §10, "Replay speed").

Every population, Jamkesda and JKN row version keeps ``nik_hash``, the keyed hash of its
NIK under ``NIK_HASH_KEY`` (``service.nik.nik_hash``), so that a replay finds a record's
person through an index. Those hashes are only right under the key they were made with.
The one row of ``registry_hash_key`` names that key by its fingerprint: the HMAC-SHA256
of a fixed label under the key. The fingerprint tells two keys apart and reveals nothing
of the key (the HMAC is a pseudorandom function of it); it cannot hash a NIK.

The row is written by migration 0007 when it hashes rows already imported, by the first
import of an empty registry, and by ``jamkesda db rehash``. No row means no registry row
was ever hashed: any key will do. With the service started under another key, a replay
answers ``503 REHASH_NEEDED`` and an import is refused, until ``jamkesda db rehash``
rewrites every hash under the new key. A replay must never take the misses of a wrong key
for a person in no import (a false ``NIK_NOT_FOUND``).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.snapshots import RegistryHashKey
from service import clock

# Migration 0007 holds a copy: the two must stay equal.
FINGERPRINT_LABEL = b"jamkesda/registry-nik-hash/key-fingerprint/v1"
_ROW_ID = 1


class RehashNeeded(Exception):
    """The registry's NIK hashes were made under another key than the one configured."""

    def __init__(self) -> None:
        super().__init__(
            "the registry's NIK hashes were made under another NIK_HASH_KEY than the one "
            "set now: run `jamkesda db rehash` with the new key first (or set the key back)"
        )


def key_fingerprint(key: bytes) -> str:
    """The fingerprint of a NIK hash key: names the key without revealing it (hex)."""
    return hmac.new(key, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()


def recorded_fingerprint(
    session: Session, lock: Literal["share", "update"] | None = None
) -> str | None:
    """The fingerprint of the key the registry was hashed under; None if never hashed.

    ``lock`` holds the row on PostgreSQL until the transaction ends: a rehash takes it
    for update, imports share it, so that no import writes hashes under a key that a
    rehash committing meanwhile replaces (the import then waits, and is refused).
    """
    statement = select(RegistryHashKey.fingerprint).where(RegistryHashKey.id == _ROW_ID)
    if lock is not None:
        statement = statement.with_for_update(read=lock == "share")
    return session.scalar(statement)


def is_current(recorded: str | None, key: bytes) -> bool:
    """Whether hashes recorded under the fingerprint ``recorded`` are right under ``key``."""
    return recorded is None or hmac.compare_digest(recorded, key_fingerprint(key))


def require_key(session: Session, key: bytes) -> None:
    """Raise ``RehashNeeded`` unless the registry was hashed under ``key`` (or never)."""
    if not is_current(recorded_fingerprint(session), key):
        raise RehashNeeded()


def claim_key_for_import(session: Session, key: bytes) -> None:
    """Before an import writes hashes under ``key``: check it, or record it on the first import."""
    recorded = recorded_fingerprint(session, lock="share")
    if not is_current(recorded, key):
        raise RehashNeeded()
    if recorded is None:
        record_key(session, key)


def record_key(session: Session, key: bytes) -> None:
    """Record that the registry is now hashed under ``key``, and when it changed key."""
    now = clock.now()
    fingerprint = key_fingerprint(key)
    row = session.get(RegistryHashKey, _ROW_ID)
    if row is None:
        row = RegistryHashKey(id=_ROW_ID)
        session.add(row)
    elif row.fingerprint != fingerprint:
        row.rotated_at = now
    row.fingerprint = fingerprint
    row.recorded_at = now
    session.flush()


def rotated_at(session: Session) -> datetime | None:
    """When the registry was last rehashed under a new key (None: one key only, ever)."""
    return session.scalar(select(RegistryHashKey.rotated_at).where(RegistryHashKey.id == _ROW_ID))
