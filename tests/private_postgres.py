"""A PostgreSQL server of a test's own, to stop and start: the shared one must stay up.

Built with the machine's own PostgreSQL programs (``initdb``, ``pg_ctl``) in a temporary
folder, listening on a free loopback port, with fsync off (its data is thrown away).
PostgreSQL refuses to run as root, so as root it runs as the ``postgres`` user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.test_server import free_port

TIMEOUT_SECONDS = 60


def postgres_programs() -> Path | None:
    """The folder of the newest installed PostgreSQL's programs, or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: p.parts[-3])
    return found[-1].parent if found else None


class PrivatePostgres:
    """One throw-away PostgreSQL cluster; ``url`` reaches its ``postgres`` database."""

    def __init__(self, folder: Path, programs: Path) -> None:
        self.folder = folder
        self.programs = programs
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *arguments: str, check: bool = True) -> None:
        command = [str(self.programs / program), *arguments]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=check, capture_output=True, timeout=TIMEOUT_SECONDS)

    def create(self) -> None:
        """Make the cluster (trust authentication, as the machine's own server has)."""
        self._run(
            "initdb",
            "-D",
            str(self.folder / "data"),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.folder / "data"),
            "-l",
            str(self.folder / "log"),
            "-o",
            options,
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server at once, cutting every connection (``pg_ctl -m fast``).

        ``mode="immediate"`` stops it as a crash would: no checkpoint, recovery at start.
        """
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        """Stop the server if it runs, and delete its folder."""
        data = str(self.folder / "data")
        self._run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A running private cluster, stopped and removed afterwards."""
    programs = postgres_programs()
    assert programs is not None, "PostgreSQL's programs are not installed"
    folder = Path(tempfile.mkdtemp(prefix="jamkesda-pg-"))
    if os.geteuid() == 0:
        postgres = pwd.getpwnam("postgres")
        os.chown(folder, postgres.pw_uid, postgres.pw_gid)
    server = PrivatePostgres(folder, programs)
    try:
        server.create()
        server.start()
        yield server
    finally:
        server.remove()
