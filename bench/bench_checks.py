"""Benchmarks 1–3 of issue 3: check throughput against /healthz, latency at 200 checks/s, and
nothing lost under load.

A fresh PostgreSQL database gets the synthetic Kukar (``BENCH_RESIDENTS`` people, default
807,000) through the real command line, a few desk and integration keys of different
facilities, and the production server (``jamkesda serve``: gunicorn with
``service/gunicorn_conf.py``, workers as that file says). ``wrk`` (one thread, on loopback)
drives it with ``bench/wrk/checks.lua``: random NIKs of every kind of person, unknown and
invalid ones, keys in rotation. Every load run stops sending a few seconds before wrk's
duration ends, so every request sent is answered; the check records added must then equal
the 201 and 422 answers, and no answer may be a 5xx.

Run: ``.venv/bin/python -m bench.bench_checks``. Settings (environment): BENCH_RESIDENTS,
BENCH_SECONDS (each throughput run, default 12), BENCH_ROUNDS (of /healthz then checks,
default 3), BENCH_CONNECTIONS (default 16), BENCH_DATABASE_URL (the PostgreSQL server),
BENCH_FLOOR (default on; off skips the floor).

The floor: the same rounds against ``bench/floor_app.py``, the product's own check behind a
bare WSGI handler under the same gunicorn configuration. Its ratio bounds what any lighter
HTTP layer could reach on this machine with this check; it is not a product figure.
"""

from __future__ import annotations

import csv
import json
import os
import random
import runpy
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench.common import (
    bench_env,
    fresh_database,
    jamkesda,
    print_table,
    serving,
    write_results,
)
from service.db import sqlalchemy_url
from service.nik import InvalidNik, parse_nik
from service.server import CONFIG_FILE
from service.synthetic import SOURCES, Dataset, write_dataset

RESIDENTS = int(os.environ.get("BENCH_RESIDENTS", "807000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "12"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
WARM_UP_SECONDS = 5
RATE = 200  # checks per second offered in the latency run
RATE_SECONDS = 30
# Enough connections that a slow answer never holds back the schedule: at 200/s a
# connection is free again after one answer, and 25 of them absorb answers of 125 ms.
RATE_CONNECTIONS = 25
# The scripts stop sending this long before wrk's duration ends, so every request is answered.
DRAIN_SECONDS = 3
TARGET_RATIO = 0.35
FLOOR = os.environ.get("BENCH_FLOOR", "on").strip().lower() != "off"
FLOOR_APP = "bench.floor_app:app"
TARGET_P50_MS = 5.0
TARGET_P99_MS = 20.0
# The mix of NIKs drawn: the whole registry, plus unknown valid NIKs and invalid ones
# (these get 422 and are recorded too).
UNKNOWN_SHARE = 0.08
INVALID_SHARE = 0.02

METHOD = " ".join(
    (
        "Data imported through the command line, then ANALYZE (autovacuum is off on the",
        "benchmark server). wrk (one thread, loopback) with bench/wrk/checks.lua.",
        f"Throughput: after a {WARM_UP_SECONDS} s warm-up of checks, {ROUNDS} rounds of",
        f"/healthz then POST /v1/checks, {SECONDS} s each with {CONNECTIONS} connections;",
        "rate = answers / time from the first request to the last answer; figures are the",
        f"medians over the rounds. Fixed rate: {RATE} requests/s scheduled by the script's",
        f"delay() (evenly spaced slots over {RATE_CONNECTIONS} connections) for {RATE_SECONDS} s;",
        "latency percentiles are wrk's, from sending a request to its full answer.",
        f"Each run stops sending {DRAIN_SECONDS} s before wrk ends, so every request is answered.",
    )
)

BENCH_DIR = Path(__file__).parent
LUA_SCRIPT = BENCH_DIR / "wrk" / "checks.lua"


@dataclass
class Run:
    """One wrk run: what it sent and got, and what the database recorded meanwhile."""

    name: str
    kind: str  # warm-up, healthz, checks or paced; "floor healthz", "floor checks"
    statuses: dict[str, int]
    answers: int
    elapsed_s: float
    latency_us: dict[str, float]
    socket_errors: dict[str, int]
    records_added: int
    connections: int
    replayed: int = 0

    @property
    def per_second(self) -> float:
        """Answers per second between the first request and the last answer."""
        return self.answers / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def recorded_answers(self) -> int:
        """The answers that stand for a stored record: 201 and 422."""
        return self.statuses.get("201", 0) + self.statuses.get("422", 0)

    @property
    def server_errors(self) -> int:
        """Answers with a 5xx status."""
        return sum(count for status, count in self.statuses.items() if status.startswith("5"))

    @property
    def unexpected(self) -> dict[str, int]:
        """Statuses other than the expected ones (200 for healthz; 201 and 422 for checks)."""
        expected = {"200"} if self.kind.endswith("healthz") else {"201", "422"}
        return {status: n for status, n in self.statuses.items() if status not in expected}

    def ms(self, name: str) -> float:
        """A latency figure in milliseconds."""
        return round(self.latency_us[name] / 1000, 2)


def load_data(
    folder: Path, env: Mapping[str, str], database_url: str
) -> tuple[Dataset, dict[str, float]]:
    """Write the synthetic files and import them through the command line; time each."""
    jamkesda(["db", "upgrade"], env, timeout=120)
    started = time.perf_counter()
    dataset = write_dataset(folder / "data", RESIDENTS)
    seconds = {"generate": round(time.perf_counter() - started, 1)}
    for source in SOURCES:
        started = time.perf_counter()
        jamkesda(["import", source, str(dataset.files[source])], env, timeout=3600)
        seconds[f"import_{source}"] = round(time.perf_counter() - started, 1)
        print(f"imported {source} in {seconds[f'import_{source}']} s", flush=True)
    started = time.perf_counter()
    analyze(database_url)
    seconds["analyze"] = round(time.perf_counter() - started, 1)
    return dataset, seconds


def analyze(database_url: str) -> None:
    """Give the planner statistics of the fresh tables, and write the load out, before timing.

    The benchmark server runs with ``autovacuum = off``; without statistics PostgreSQL
    re-plans the check's statement on every execution instead of keeping a generic plan.
    The CHECKPOINT writes the import's dirty pages now, rather than during the first runs.
    """
    engine = create_engine(sqlalchemy_url(database_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.execute(text("CHECKPOINT"))
    finally:
        engine.dispose()


def create_keys(dataset: Dataset, env: Mapping[str, str], path: Path) -> list[str]:
    """Desk keys of four puskesmas and integration keys of two hospitals, one a line."""
    puskesmas = [f for f in dataset.facilities if f.kind == "PUSKESMAS"][:4]
    hospitals = [f for f in dataset.facilities if f.kind == "RUMAH_SAKIT"][:2]
    clients = [("desk", f) for f in puskesmas] + [("integration", f) for f in hospitals]
    keys = []
    for role, facility in clients:
        output = jamkesda(
            [
                "clients",
                "create",
                "--name",
                f"bench {facility.name}",
                "--role",
                role,
                "--facility",
                facility.code,
            ],
            env,
            timeout=60,
        )
        keys.append(output.strip().splitlines()[-1])
    path.write_text("\n".join(keys) + "\n", encoding="utf-8")
    return [facility.code for _role, facility in clients]


def _unknown_nik(rng: random.Random, registry: list[str], known: set[str]) -> str:
    """A structurally valid NIK that no one in the registry has: a registry NIK, new serial."""
    while True:
        nik = rng.choice(registry)[:12] + f"{rng.randint(9000, 9999):04d}"
        if nik not in known:
            return nik


_INVALID_EDITS = (
    lambda nik: nik[:15],  # 15 digits
    lambda nik: nik[:12] + "0000",  # serial 0000
    lambda nik: nik[:8] + "13" + nik[10:],  # month 13
    lambda nik: "00" + nik[2:],  # no such province
    lambda nik: nik[:6] + "32" + nik[8:],  # day 32
)


def write_niks(dataset: Dataset, path: Path) -> dict[str, int]:
    """Every registry NIK, then unknown valid ones and a few invalid ones; one a line."""
    with dataset.files["population"].open(encoding="utf-8", newline="") as file:
        registry = [row["NIK"] for row in csv.DictReader(file)]
    known = set(registry)
    rng = random.Random(2026)  # a reproducible mix, nothing secret
    unknown = [
        _unknown_nik(rng, registry, known) for _ in range(int(len(registry) * UNKNOWN_SHARE))
    ]
    invalid = []
    for _ in range(int(len(registry) * INVALID_SHARE)):
        nik = rng.choice(_INVALID_EDITS)(rng.choice(registry))
        try:
            parse_nik(nik)
        except InvalidNik:
            invalid.append(nik)
    path.write_text("\n".join(registry + unknown + invalid) + "\n", encoding="utf-8")
    return {"registry": len(registry), "unknown": len(unknown), "invalid": len(invalid)}


def server_config(env: Mapping[str, str]) -> dict[str, Any]:
    """The worker settings of ``service/gunicorn_conf.py`` in the server's environment."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        config = runpy.run_path(str(CONFIG_FILE))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return {
        "workers": config["workers"],
        "worker_class": config["worker_class"],
        "threads": config.get("threads", 1),
        "key_cache_seconds": config.get("key_cache_seconds", 0),
    }


class Records:
    """Counts the stored check records."""

    def __init__(self, database_url: str) -> None:
        self.engine = create_engine(sqlalchemy_url(database_url))

    def count(self) -> int:
        """How many check records are stored now."""
        with self.engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM check_records")).scalar_one())

    def wait_until_sequenced(self, timeout: float = 300) -> float:
        """Wait until the ledger's sequencer has no record left queued; the seconds waited.

        A run that adds many records (a batch run adds 50,000 or more) leaves the sequencer
        busy afterwards; the next run must not share the machine with that backlog.
        """
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            with self.engine.connect() as connection:
                queued = connection.execute(text("SELECT count(*) FROM ledger_queue")).scalar_one()
            if queued == 0:
                return time.monotonic() - started
            time.sleep(0.5)
        raise RuntimeError(f"records still queued for the ledger after {timeout} s")


def start_wrk(
    name: str,
    url: str,
    *,
    seconds: int,
    connections: int,
    niks: Path | None = None,
    keys: Path | None = None,
    rate: float | None = None,
    mode: str = "checks",
    timeout_s: int = 2,
) -> subprocess.Popen[str]:
    """Start one wrk process of ``seconds`` (sending stops DRAIN_SECONDS earlier).

    ``mode`` is the script's WRK_MODE: which door the checks go through, and how;
    ``timeout_s`` is how long wrk waits for an answer before counting a time-out.
    """
    env = {**os.environ, "WRK_STOP": str(seconds - DRAIN_SECONDS), "WRK_MODE": mode}
    env["WRK_RUN"] = f"{name.replace(' ', '-')}-{time.time_ns()}"
    if niks and keys:
        env.update(WRK_NIKS=str(niks), WRK_KEYS=str(keys))
    if rate:
        env["WRK_RATE"] = str(rate)
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", f"{timeout_s}s"]
    command += ["--latency", "-s", str(LUA_SCRIPT), url]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wrk_result(process: subprocess.Popen[str], seconds: int) -> dict[str, Any]:
    """Wait for a wrk process of ``start_wrk``; the script's result (statuses, latency, …)."""
    stdout, stderr = process.communicate(timeout=seconds + 60)
    lines = [line for line in stdout.splitlines() if line.startswith("BENCH_RESULT ")]
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{stdout}\n{stderr}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("BENCH_RESULT "))
    return result


def run_of(name: str, kind: str, result: dict[str, Any], added: int, connections: int) -> Run:
    """A ``Run`` of a wrk result and the records added meanwhile; printed as a line."""
    run = Run(
        name=name,
        kind=kind,
        statuses=result["statuses"],
        answers=result["answers"],
        elapsed_s=result["elapsed_s"],
        latency_us=result["latency_us"],
        socket_errors=result["socket_errors"],
        records_added=added,
        connections=connections,
        replayed=result.get("replayed", 0),
    )
    print(
        f"{name}: {run.per_second:.0f}/s over {run.elapsed_s:.1f} s, statuses {run.statuses}, "
        f"records added {added}, p50 {run.ms('p50')} ms, p99 {run.ms('p99')} ms",
        flush=True,
    )
    return run


def wrk(
    name: str,
    kind: str,
    url: str,
    records: Records,
    *,
    seconds: int,
    connections: int,
    niks: Path | None = None,
    keys: Path | None = None,
    rate: float | None = None,
    mode: str = "checks",
    timeout_s: int = 2,
) -> Run:
    """One wrk run (``start_wrk``), alone; count the records it added.

    The run starts once the ledger's sequencer has no record left queued by the runs before.
    """
    records.wait_until_sequenced()
    before = records.count()
    process = start_wrk(
        name, url, seconds=seconds, connections=connections, niks=niks, keys=keys, rate=rate,
        mode=mode, timeout_s=timeout_s,
    )  # fmt: skip
    result = wrk_result(process, seconds)
    return run_of(name, kind, result, records.count() - before, connections)


def measure(database_url: str, niks: Path, keys: Path, log: Path) -> dict[str, Any]:
    """Start the server on a loaded database and run the load; return every run's figures.

    Throughput alternates /healthz and checks for ROUNDS rounds, so that a neighbour's burst
    on a shared machine spoils one round's ratio, not the figure (the median of the rounds).
    Then, unless BENCH_FLOOR=off, the same rounds against the floor (``bench/floor_app.py``).
    """
    env = bench_env(database_url)
    records = Records(database_url)
    runs: list[Run] = []
    warm_up = WARM_UP_SECONDS + DRAIN_SECONDS
    try:
        with serving(env, log) as server:
            load = Load(server.base, records, niks, keys)
            runs.append(load.checks("warm-up", "warm-up", warm_up))
            runs += load.rounds("")
            paced_seconds = RATE_SECONDS + DRAIN_SECONDS
            runs.append(load.checks(f"checks at {RATE}/s", "paced", paced_seconds, RATE))
        if FLOOR:
            with serving(env, log.with_name("floor.log"), app=FLOOR_APP) as floor:
                load = Load(floor.base, records, niks, keys)
                runs.append(load.checks("floor warm-up", "warm-up", warm_up))
                runs += load.rounds("floor ")
    finally:
        records.engine.dispose()
    return {"server": server_config(env), "runs": runs}


@dataclass
class Load:
    """wrk runs against one server."""

    base: str
    records: Records
    niks: Path
    keys: Path

    def checks(self, name: str, kind: str, seconds: int, rate: float | None = None) -> Run:
        """POST /v1/checks for ``seconds``, as fast as answers come or at ``rate`` a second."""
        connections = RATE_CONNECTIONS if rate else CONNECTIONS
        return wrk(name, kind, f"{self.base}/v1/checks", self.records, seconds=seconds,
                   connections=connections, niks=self.niks, keys=self.keys, rate=rate)  # fmt: skip

    def healthz(self, name: str, kind: str) -> Run:
        """GET /healthz for SECONDS."""
        return wrk(name, kind, f"{self.base}/healthz", self.records, seconds=SECONDS,
                   connections=CONNECTIONS)  # fmt: skip

    def rounds(self, prefix: str) -> list[Run]:
        """ROUNDS rounds of /healthz then checks; ``prefix`` names the server in each kind."""
        runs = []
        for number in range(1, ROUNDS + 1):
            runs.append(self.healthz(f"{prefix}healthz {number}", f"{prefix}healthz"))
            runs.append(self.checks(f"{prefix}checks {number}", f"{prefix}checks", SECONDS))
        return runs


def throughput(runs: list[Run], prefix: str) -> dict[str, Any]:
    """Checks/s against healthz/s over the rounds of one server (``prefix`` of the kinds)."""
    health = [run for run in runs if run.kind == f"{prefix}healthz"]
    checks = [run for run in runs if run.kind == f"{prefix}checks"]
    ratios = [c.per_second / h.per_second for h, c in zip(health, checks, strict=True)]
    return {
        "checks_per_s": round(statistics.median(run.per_second for run in checks), 1),
        "healthz_per_s": round(statistics.median(run.per_second for run in health), 1),
        "ratio": round(statistics.median(ratios), 3),
        "ratio_of_each_round": [round(value, 3) for value in ratios],
    }


def figures_of(runs: list[Run]) -> dict[str, Any]:
    """The figures and their verdicts, as the table and the JSON file show them."""
    (paced,) = [run for run in runs if run.kind == "paced"]
    product = throughput(runs, "")
    lost = {run.name: run.records_added - run.recorded_answers for run in runs}
    unexpected = {run.name: run.unexpected for run in runs if run.unexpected}
    return {
        **product,
        "ratio_pass": product["ratio"] >= TARGET_RATIO,
        "floor": throughput(runs, "floor ") if FLOOR else None,
        "rate_offered_per_s": RATE,
        "rate_achieved_per_s": round(paced.per_second, 1),
        "rate_seconds": round(paced.elapsed_s, 1),
        "latency_ms": {name: paced.ms(name) for name in ("p50", "p90", "p99", "max")},
        "latency_pass": paced.ms("p50") <= TARGET_P50_MS and paced.ms("p99") <= TARGET_P99_MS,
        "records_minus_answers": lost,
        "nothing_lost": not any(lost.values()),
        "server_errors": sum(run.server_errors for run in runs),
        "unexpected_statuses": unexpected,
        "runs": [
            {
                "name": run.name,
                "connections": run.connections,
                "statuses": run.statuses,
                "answers": run.answers,
                "elapsed_s": round(run.elapsed_s, 2),
                "per_s": round(run.per_second, 1),
                "records_added": run.records_added,
                "latency_ms": {name: run.ms(name) for name in ("p50", "p90", "p99", "max")},
                "socket_errors": run.socket_errors,
            }
            for run in runs
        ],
    }


def verdict(passed: bool) -> str:
    """The table's word for a figure against its target."""
    return "pass" if passed else "FAIL"


def _lost_summary(lost: dict[str, int]) -> str:
    differing = {name: count for name, count in lost.items() if count}
    return f"0 in all {len(lost)} runs" if not differing else str(differing)


def report(figures: dict[str, Any]) -> None:
    """Print the table of figures against their targets."""
    latency = figures["latency_ms"]
    records_ok = figures["nothing_lost"]
    rows = [
        (f"checks/s (POST /v1/checks), median of {ROUNDS}", figures["checks_per_s"], "", ""),
        (f"healthz/s (GET /healthz), median of {ROUNDS}", figures["healthz_per_s"], "", ""),
        ("ratio checks/healthz, median of rounds", figures["ratio"], f">= {TARGET_RATIO}",
         verdict(figures["ratio_pass"])),
        (f"rate achieved (offered {RATE}/s)", figures["rate_achieved_per_s"], "", ""),
        ("p50 at 200/s (ms)", latency["p50"], f"<= {TARGET_P50_MS}",
         verdict(latency["p50"] <= TARGET_P50_MS)),
        ("p90 at 200/s (ms)", latency["p90"], "", ""),
        ("p99 at 200/s (ms)", latency["p99"], f"<= {TARGET_P99_MS}",
         verdict(latency["p99"] <= TARGET_P99_MS)),
        ("max at 200/s (ms)", latency["max"], "", ""),
        ("records - (201 + 422), each run", _lost_summary(figures["records_minus_answers"]),
         "all 0", verdict(records_ok)),
        ("5xx answers", figures["server_errors"], "0", verdict(figures["server_errors"] == 0)),
    ]  # fmt: skip
    if floor := figures["floor"]:
        rows += [
            ("floor (bench/floor_app.py): checks/s", floor["checks_per_s"], "", ""),
            ("floor: healthz/s", floor["healthz_per_s"], "", ""),
            ("floor: ratio checks/healthz", floor["ratio"], "bound", ""),
        ]
    print_table("Checks: throughput, latency at a fixed rate, nothing lost", rows,
                ("figure", "value", "target", "verdict"))  # fmt: skip


@dataclass(frozen=True)
class Loaded:
    """A fresh database holding the synthetic Kukar, and the files a load reads from ``folder``.

    ``keys.txt`` holds the keys of ``create_keys`` (four desks, then two hospitals), and
    ``niks.txt`` the NIKs drawn from (``write_niks``).
    """

    folder: Path
    database_url: str
    dataset: Dataset
    load_seconds: dict[str, float]
    key_facilities: list[str]
    niks_drawn_from: dict[str, int]


@contextmanager
def loaded(prefix: str) -> Iterator[Loaded]:
    """A fresh database with the data, keys and NIKs, dropped at the end.

    If the block fails, the end of every server log in the folder is printed first.
    """
    with (
        tempfile.TemporaryDirectory(prefix=f"{prefix}_") as tmp,
        fresh_database(prefix) as database_url,
    ):
        folder = Path(tmp)
        env = bench_env(database_url)
        dataset, load_seconds = load_data(folder, env, database_url)
        facilities = create_keys(dataset, env, folder / "keys.txt")
        mix = write_niks(dataset, folder / "niks.txt")
        try:
            yield Loaded(folder, database_url, dataset, load_seconds, facilities, mix)
        except Exception:
            for log in sorted(folder.glob("*.log")):
                text = log.read_text(encoding="utf-8", errors="replace")
                print(f"--- {log.name}\n{text[-4000:]}", file=sys.stderr)
            raise


def main() -> None:
    """Load a fresh database, measure, print the table, write bench/results/checks.json."""
    with loaded("bench_checks") as load:
        folder = load.folder
        measured = measure(
            load.database_url, folder / "niks.txt", folder / "keys.txt", folder / "server.log"
        )
    figures = figures_of(measured["runs"])
    figures.update(
        residents=load.dataset.people,
        niks_drawn_from=load.niks_drawn_from,
        key_facilities=load.key_facilities,
        server=measured["server"],
        wrk={"threads": 1, "connections": CONNECTIONS, "seconds": SECONDS, "rounds": ROUNDS},
        data_load_seconds=load.load_seconds,
        method=METHOD,
    )
    report(figures)
    path = write_results("checks", figures)
    print(f"\nwrote {path}")
    failures = [
        name
        for name, failed in (
            ("5xx answers", figures["server_errors"] > 0),
            ("records differ from answers", not figures["nothing_lost"]),
            ("unexpected statuses", bool(figures["unexpected_statuses"])),
        )
        if failed
    ]
    if failures:
        sys.exit(f"bench_checks: {', '.join(failures)}: {figures['unexpected_statuses']}")


if __name__ == "__main__":
    main()
