"""``jamkesda db rehash``: rewrite every registry row's NIK hash under the configured key.

Run it after setting a new ``NIK_HASH_KEY``: until then replays answer ``503
REHASH_NEEDED`` and imports are refused (``service.registry_key``). Every distinct NIK of
the population, Jamkesda and JKN rows, all versions, is read once and hashed in Python
(PostgreSQL has no HMAC without an extension); the hashes go into a temporary table by
``COPY``, and one ``UPDATE … FROM`` per table rewrites the rows whose hash differs. Then
the new key's fingerprint is recorded, all in the caller's one transaction: a failure
leaves every hash, and the fingerprint, as they were.

Check records are not touched: each keeps the hash made under the key of its time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Column, String, Table, select, text, union, update
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateTable, DropTable

from service.imports.sources import NIK_HASH, SOURCES
from service.imports.staging import temporary_metadata
from service.imports.writer import row_writer
from service.nik import nik_hasher
from service.registry_key import key_fingerprint, record_key, recorded_fingerprint

# The sources whose rows carry a NIK hash: population, Jamkesda, JKN.
_HASHED = tuple(source for source in SOURCES.values() if source.full_snapshot)


@dataclass(frozen=True)
class RehashResult:
    """What a rehash did: NIKs hashed, rows rewritten per source, seconds, the new key's name."""

    niks: int
    rewritten: dict[str, int]
    seconds: float
    fingerprint: str

    def summary_line(self) -> str:
        """One line for the operator."""
        per_source = ", ".join(f"{name} {rows}" for name, rows in self.rewritten.items())
        return (
            f"rehashed {sum(self.rewritten.values())} registry rows ({per_source}) of "
            f"{self.niks} NIKs in {self.seconds:.1f} s; "
            f"key fingerprint {self.fingerprint[:16]}"
        )


def rehash_registry(session: Session, key: bytes) -> RehashResult:
    """Rewrite every registry row's ``nik_hash`` under ``key`` and record it; the caller commits."""
    started = time.perf_counter()
    # Taken first, so that no import writes hashes under the old key meanwhile.
    recorded_fingerprint(session, lock="update")
    connection = session.connection()
    niks = union(*(select(source.table.c.nik) for source in _HASHED))
    found = [row[0] for row in connection.execute(niks)]
    hashes = Table(
        "rehash_niks",
        temporary_metadata(connection),
        Column("nik", String(16), primary_key=True),
        Column(NIK_HASH, String(64)),
    )
    connection.execute(DropTable(hashes, if_exists=True))
    connection.execute(CreateTable(hashes))
    hashed = nik_hasher(key)
    with row_writer(session, hashes, ("nik", NIK_HASH)) as write:
        for nik in found:
            write([nik, hashed(nik)])
    postgresql = connection.dialect.name == "postgresql"
    if postgresql:
        connection.execute(text(f"ANALYZE {hashes.schema}.{hashes.name}"))
    rewritten: dict[str, int] = {}
    for source in _HASHED:
        rows = source.table
        statement = (
            update(rows)
            .values({NIK_HASH: hashes.c[NIK_HASH]})
            .where(rows.c.nik == hashes.c.nik, rows.c[NIK_HASH] != hashes.c[NIK_HASH])
        )
        rewritten[source.name] = connection.execute(statement).rowcount
        if postgresql and rewritten[source.name]:
            connection.execute(text(f"ANALYZE {rows.name}"))
    connection.execute(DropTable(hashes))
    record_key(session, key)
    return RehashResult(
        niks=len(found),
        rewritten=rewritten,
        seconds=time.perf_counter() - started,
        fingerprint=key_fingerprint(key),
    )
