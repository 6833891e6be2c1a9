"""What every benchmark shares: a fresh PostgreSQL database, a result file, a printed table."""

from __future__ import annotations

import json
import os
import platform
import resource
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service.db import sqlalchemy_url
from service.ledger.note import parse_signer_key, verifier_key
from service.server import CONFIG_FILE

RESULTS_DIR = Path(__file__).parent / "results"
# The benchmarks measure the production set-up: PostgreSQL, never the SQLite default.
SERVER_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BENCH_NIK_HASH_KEY = "bench-nik-hash-key-0123456789abcdef0123456789"
# A fixed ledger key for the benchmarks (never use it elsewhere: it is public here).
BENCH_LEDGER_SIGNING_KEY = (
    "PRIVATE+KEY+bench.jamkesda/ledger+d4ec65f7+ASjjRCOgEnel4yGSa5b1TjK3NwfnIy6q5NbiHzHsAFyX"
)


@contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """Create an empty database on the benchmark server, yield its URL, drop it at the end."""
    name = f"{prefix}_{secrets.token_hex(3)}"
    admin = create_engine(sqlalchemy_url(SERVER_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def bench_env(database_url: str) -> dict[str, str]:
    """The environment of the service processes a benchmark starts."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "NIK_HASH_KEY": BENCH_NIK_HASH_KEY,
        "LEDGER_SIGNING_KEY": BENCH_LEDGER_SIGNING_KEY,
        # What a worker needs (jamkesda serve derives it itself; bench/floor_app.py does not).
        "LEDGER_VERIFIER_KEY": verifier_key(parse_signer_key(BENCH_LEDGER_SIGNING_KEY)),
        "CONSOLE_SECRET_KEY": "bench-console-secret-" + "0" * 32,
        # The loads send a thousand checks a second through six keys: far beyond a desk's
        # limit, which would measure 429s. The limiter still runs (and costs) on every request.
        "RATE_LIMIT": "1000000/s",
        # /healthz is measured at thousands a second from one address, without a key.
        "RATE_LIMIT_ANONYMOUS": "1000000/s",
    }


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def children_peak_rss_mb() -> float:
    """The largest resident set of any waited-for child process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def write_results(name: str, figures: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>.json`` with the figures, the machine and the time."""
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    document = {
        "benchmark": name,
        "at": datetime.now(UTC).isoformat(),
        "machine": machine(),
        "figures": figures,
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def print_table(title: str, rows: Sequence[Sequence[Any]], header: Sequence[str]) -> None:
    """Print rows as an aligned text table under a title."""
    cells = [list(map(str, header))] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    for index, row in enumerate(cells):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))


def jamkesda(args: Sequence[str], env: Mapping[str, str], timeout: float) -> str:
    """Run a ``jamkesda`` command and return its output; fail with its output if it fails."""
    done = subprocess.run(
        [str(Path(sys.executable).with_name("jamkesda")), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"jamkesda {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@dataclass(frozen=True)
class Server:
    """A running ``jamkesda serve``: where it answers, and its gunicorn master's process id."""

    base: str
    pid: int

    def worker_pids(self) -> list[int]:
        """The process ids of the master's workers now."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text()
        return [int(pid) for pid in children.split()]

    def worker_cpu_ticks(self) -> dict[int, int]:
        """Each worker's CPU time so far (user + system, in clock ticks), by process id."""
        return {pid: cpu_ticks(pid) for pid in self.worker_pids()}


def cpu_ticks(pid: int) -> int:
    """A process's CPU time so far: user + system, in clock ticks (``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


@contextmanager
def serving(
    env: Mapping[str, str], log: Path, ready_timeout: float = 120, app: str | None = None
) -> Iterator[Server]:
    """Run ``jamkesda serve`` on a free loopback port until the block ends.

    ``app`` ("module:name") runs that WSGI app instead, under gunicorn with the project's
    own configuration file, as ``jamkesda serve`` runs the product.

    Start-up waits for ``/readyz``; a probe that times out on a busy machine is retried.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    base = f"http://127.0.0.1:{port}"
    command = [str(Path(sys.executable).with_name("jamkesda")), "serve"]
    if app:
        command = [sys.executable, "-m", "gunicorn", "--config", str(CONFIG_FILE), app]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--bind", f"127.0.0.1:{port}"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + ready_timeout
            while not _ready(base):
                if process.poll() is not None:
                    raise RuntimeError(f"the server exited with {process.returncode}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server was not ready within {ready_timeout} s")
                time.sleep(0.2)
            yield Server(base, process.pid)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _ready(base: str) -> bool:
    try:
        return requests.get(f"{base}/readyz", timeout=5).status_code == 200
    except requests.RequestException:
        return False
