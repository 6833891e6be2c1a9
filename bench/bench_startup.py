"""Start-up: `make run` from a fresh clone to the first answered check; `jamkesda demo` timed."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench.common import bench_env, fresh_database, print_table, write_results

REPO = Path(__file__).resolve().parent.parent
JAMKESDA = Path(sys.executable).with_name("jamkesda")
MAKE_RUN_LIMIT_S = 900
DESK_KEY = re.compile(r"^desk\s+(jk_\S+)", re.MULTILINE)
EXAMPLE_NIK = re.compile(r"^\s+(\d{16})\s+ELIGIBLE", re.MULTILINE)


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _first_check(folder: Path, deadline: float) -> tuple[int, float]:
    """Wait for `make run`'s demo text and server, then make one check; (status, seconds)."""
    demo = folder / "instance" / "demo.txt"
    while time.monotonic() < deadline:
        if demo.exists() and (key := DESK_KEY.search(demo.read_text())):
            nik = EXAMPLE_NIK.search(demo.read_text())
            try:
                response = requests.post(
                    "http://127.0.0.1:8000/v1/checks",
                    json={"nik": nik.group(1) if nik else "6402014101900001"},
                    headers={"Authorization": f"Bearer {key.group(1)}"},
                    timeout=5,
                )
                return response.status_code, time.monotonic()
            except requests.ConnectionError:
                pass
        time.sleep(0.2)
    raise TimeoutError("make run did not answer a check in time")


def make_run_seconds() -> dict[str, float | int]:
    """Clone the repository, run `make run` and time it until the first check is answered."""
    if not _port_free(8000):
        raise SystemExit("port 8000 is in use: stop the other server first")
    with tempfile.TemporaryDirectory(prefix="bench-clone-") as tmp:
        folder = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(REPO), str(folder)], check=True)
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "NIK_HASH_KEY", "VIRTUAL_ENV", "JAMKESDA_POLICY")
        }
        started = time.monotonic()
        server = subprocess.Popen(
            ["make", "run"],
            cwd=folder,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            status, answered = _first_check(folder, started + MAKE_RUN_LIMIT_S)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    return {"make_run_to_first_check_s": round(answered - started, 1), "first_check_status": status}


def demo_seconds() -> dict[str, float]:
    """`jamkesda demo` with its default size, on a fresh PostgreSQL database and on SQLite."""
    figures: dict[str, float] = {}
    with fresh_database("bench_demo") as url:
        env = bench_env(url)
        subprocess.run(
            [str(JAMKESDA), "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL
        )
        started = time.monotonic()
        subprocess.run(
            [str(JAMKESDA), "demo"],
            env={**env, "JAMKESDA_INSTANCE": tempfile.mkdtemp()},
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        figures["demo_postgresql_s"] = round(time.monotonic() - started, 1)
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as instance:
        env = {**os.environ, "JAMKESDA_INSTANCE": instance}
        env.pop("DATABASE_URL", None)
        env.pop("NIK_HASH_KEY", None)
        subprocess.run(
            [str(JAMKESDA), "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL
        )
        started = time.monotonic()
        subprocess.run(
            [str(JAMKESDA), "demo"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        figures["demo_sqlite_s"] = round(time.monotonic() - started, 1)
    return figures


def main() -> None:
    """Run both measurements, print them and write bench/results/startup.json."""
    figures: dict[str, float | int] = {**demo_seconds(), **make_run_seconds()}
    print_table(
        "Start-up and demo (default size, 20,000 residents)",
        [(name, value) for name, value in figures.items()],
        ("figure", "value"),
    )
    print(f"written {write_results('startup', figures)}")


if __name__ == "__main__":
    main()
