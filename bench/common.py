"""What every benchmark shares: a fresh PostgreSQL database, a result file, a printed table."""

from __future__ import annotations

import json
import os
import platform
import resource
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service.db import sqlalchemy_url

RESULTS_DIR = Path(__file__).parent / "results"
# The benchmarks measure the production set-up: PostgreSQL, never the SQLite default.
SERVER_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BENCH_NIK_HASH_KEY = "bench-nik-hash-key-0123456789abcdef0123456789"


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
    return {**os.environ, "DATABASE_URL": database_url, "NIK_HASH_KEY": BENCH_NIK_HASH_KEY}


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
