"""Token buckets in a memory-mapped file, shared by the worker processes of one server.

``jamkesda serve`` creates the file before gunicorn forks its workers and names it in
``JAMKESDA_RATE_TABLE``; every worker maps it, so one key's bucket is the same in all of
them (SPEC §11: the limit holds across the workers of one server). Without that variable
(the app run in one process, as the tests and ``flask run`` do) the table is private
memory, which is correct for one process.

The table is a fixed array of slots (the 8-byte digest of a bucket's name, its tokens,
its time), found by linear probing. ``fcntl.lockf`` serialises the processes: the
kernel drops such a lock when its process dies, so a worker killed in the middle
(``SIGKILL``) never leaves the others waiting. The lock belongs to the process, not the
thread, hence the thread lock inside it.
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

from service.ratelimit.rates import Bucket, Rate, Verdict, take

TABLE_ENV = "JAMKESDA_RATE_TABLE"
SLOTS = 16384
# How many slots a name may be looked for in, from its own; beyond, the stalest is reused.
PROBES = 32
# A slot: the digest, the tokens, their time, and when the bucket will be full again.
_SLOT = struct.Struct("<Qddd")
TABLE_BYTES = SLOTS * _SLOT.size


def create_table_file(folder: Path) -> Path:
    """A zeroed table file, readable by the owner only, in ``folder``."""
    path = folder / "rate-table"
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.ftruncate(descriptor, TABLE_BYTES)
    finally:
        os.close(descriptor)
    return path


def _digest(name: str) -> int:
    """A bucket's name as a non-zero 64-bit number (zero marks an empty slot)."""
    value = int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "little")
    return value or 1


class SharedTable:
    """The buckets of one server, in a file every worker maps, or in private memory."""

    def __init__(
        self, path: str | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        # CLOCK_MONOTONIC is one clock for every process of the machine, so a bucket
        # updated by one worker is refilled correctly by another.
        self.clock = clock
        self._threads = threading.Lock()
        self._file: int | None = None
        if path:
            self._file = os.open(path, os.O_RDWR)
            self._memory = mmap.mmap(self._file, TABLE_BYTES)
        else:
            self._memory = mmap.mmap(-1, TABLE_BYTES)

    def take(self, name: str, rate: Rate) -> Verdict:
        """Take a token from the bucket ``name`` at ``rate``."""
        digest = _digest(name)
        with self._threads:
            if self._file is not None:
                fcntl.lockf(self._file, fcntl.LOCK_EX)
            try:
                now = self.clock()
                slot, bucket = self._find(digest, now)
                verdict, bucket = take(bucket, rate, now)
                full_at = bucket.updated + (rate.burst - bucket.tokens) / rate.per_second
                _SLOT.pack_into(
                    self._memory, slot * _SLOT.size, digest, bucket.tokens, bucket.updated, full_at
                )
                return verdict
            finally:
                if self._file is not None:
                    fcntl.lockf(self._file, fcntl.LOCK_UN)

    def _find(self, digest: int, now: float) -> tuple[int, Bucket | None]:
        """The slot of ``digest`` with its bucket, or a slot to take and None (a full bucket).

        A slot whose bucket has refilled completely is as good as free: forgetting a full
        bucket changes nothing, so the table never fills with idle callers. The search
        goes on past such a slot, since ``digest`` may sit further on; it ends at a slot
        never used, as nothing was ever placed beyond one.
        """
        start = digest % SLOTS
        free: int | None = None
        stalest, stalest_time = start, float("inf")
        for step in range(PROBES):
            slot = (start + step) % SLOTS
            held, tokens, updated, full_at = _SLOT.unpack_from(self._memory, slot * _SLOT.size)
            if held == digest:
                return slot, Bucket(tokens, updated)
            if held == 0:
                return (slot if free is None else free), None
            if free is None and now >= full_at:
                free = slot
            if updated < stalest_time:
                stalest, stalest_time = slot, updated
        return (stalest if free is None else free), None

    def close(self) -> None:
        """Unmap the table and close its file."""
        self._memory.close()
        if self._file is not None:
            os.close(self._file)
            self._file = None
