"""A Redis server of a test's own, to stop and start: the machine's shared one must stay up.

The machine's own ``redis-server`` program, on a free loopback port, keeping nothing on
disk.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from tests.test_server import free_port

START_SECONDS = 10
NOTHING_ON_DISK = ("--save", "", "--appendonly", "no")


class PrivateRedis:
    """One throw-away Redis; ``url`` reaches its database 0."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and wait until it answers."""
        program = shutil.which("redis-server")
        assert program is not None, "redis-server is not installed"
        self.process = subprocess.Popen(
            [*(program, "--port", str(self.port), "--bind", "127.0.0.1"), *NOTHING_ON_DISK],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        deadline = time.monotonic() + START_SECONDS
        try:
            while time.monotonic() < deadline:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    time.sleep(0.05)
        finally:
            client.close()
        raise AssertionError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        """Kill the server at once, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=START_SECONDS)
        self.process = None


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    """A running private Redis, killed afterwards."""
    server = PrivateRedis()
    try:
        server.start()
        yield server
    finally:
        server.stop()
