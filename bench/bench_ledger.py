"""The ledger benchmark of issue 5: what the log costs the checks, and how it does at scale.

Part 1, the cost: a registry of ``BENCH_LEDGER_RESIDENTS`` synthetic people (default
100,000; the registry's size does not change what sequencing costs) is imported, then
``ROUNDS`` rounds each run the check load of ``bench/bench_checks.py`` (wrk, the same Lua
script, keys and NIK mix) against a server with the sequencer off and then on
(``LEDGER_SEQUENCER``). Between runs the queue is drained with ``jamkesda ledger
sequence``, so that each run starts with an empty queue. During the runs with the
sequencer on, the log's size is read every 50 ms; a record's sequencing latency is the
first reading that includes its leaf minus its ``decided_at``.

Part 2, the scale: ``BENCH_LEDGER_RECORDS`` check records (default 10,000,000) are written
straight into a fresh database by the audit benchmark's generator (``bench/audit_data.py``),
queued, and sequenced by ``jamkesda ledger sequence`` (records per second, peak memory).
Then ``jamkesda ledger verify`` recomputes everything (seconds, peak memory), and the
production server answers ``BENCH_LEDGER_PROOFS`` inclusion proofs of random records and
as many consistency proofs from random earlier sizes, each checked against the signed
checkpoint with the service's RFC 9162 verifier.

Run: ``.venv/bin/python -m bench.bench_ledger``. Settings (environment): the above, and
BENCH_SECONDS (each load run, default 12), BENCH_ROUNDS (default 3), BENCH_LEDGER_PARTS
(``cost,scale`` by default; one of them runs that part alone, and the table shows its rows),
BENCH_LEDGER_VERIFY (``off`` skips ``ledger verify`` in the scale part).
"""

from __future__ import annotations

import base64
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psycopg
import requests
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bench.audit_data import load
from bench.bench_checks import Records, Run, create_keys, write_niks
from bench.bench_checks import wrk as wrk_run
from bench.common import bench_env, fresh_database, print_table, serving, write_results
from models import CheckRecord, LedgerEntry
from service.db import sqlalchemy_url
from service.ledger import store
from service.ledger.merkle import tree_hash, verify_consistency, verify_inclusion
from service.ledger.note import parse_checkpoint, parse_signer_key, verifier_key, verify_note
from service.synthetic import SOURCES, write_dataset

RESIDENTS = int(os.environ.get("BENCH_LEDGER_RESIDENTS", "100000"))
RECORDS = int(os.environ.get("BENCH_LEDGER_RECORDS", "10000000"))
PROOFS = int(os.environ.get("BENCH_LEDGER_PROOFS", "200"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "12"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNECTIONS = 16
POLL_SECONDS = 0.05
PARTS = set(os.environ.get("BENCH_LEDGER_PARTS", "cost,scale").split(","))
VERIFY = os.environ.get("BENCH_LEDGER_VERIFY", "on") != "off"
WARM_UP_PROOFS = 20
TARGET_RATIO = 0.9
TARGET_SEQUENCED_S = 2.0
TARGET_PROOF_MS = 20.0
BIN = Path(sys.executable).parent
# GNU time, from Debian's package ``time`` (bench/run installs it when missing).
TIME = "/usr/bin/time"


def _command(args: list[str], env: Mapping[str, str]) -> tuple[str, float, float]:
    """Run ``jamkesda``: its output, seconds and own peak RSS (MB). Fail with its output.

    The peak comes from GNU time (Debian's ``time``): ``wait4`` from this process would
    count the pages the child shared with it between fork and exec, and this process holds
    the generator's data (a run reported 487 MB for a command that needs about 110).
    """
    with tempfile.TemporaryDirectory() as scratch:
        peak_file = Path(scratch) / "peak"
        command = [TIME, "-f", "%M", "-o", str(peak_file), str(BIN / "jamkesda"), *args]
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        peak_kb = int(peak_file.read_text().split()[-1]) if peak_file.exists() else 0
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise RuntimeError(f"jamkesda {' '.join(args)} failed:\n{output}")
    return output, seconds, round(peak_kb / 1024, 1)


def _percentiles(values: list[float]) -> dict[str, float]:
    """p50, p99 and max of ``values`` (milliseconds or seconds, as given)."""
    ordered = sorted(values)
    if not ordered:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0}
    return {
        "p50": round(ordered[len(ordered) // 2], 3),
        "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
        "max": round(ordered[-1], 3),
    }


class SizePoller(threading.Thread):
    """Reads the log's size every POLL_SECONDS: when each leaf index first appeared."""

    def __init__(self, database_url: str) -> None:
        super().__init__(daemon=True)
        self.database_url = database_url
        self.readings: list[tuple[float, int]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        """Read until stopped."""
        with psycopg.connect(self.database_url, autocommit=True) as connection:
            while not self.stopping.is_set():
                row = connection.execute("SELECT max(leaf_index) FROM ledger_entries").fetchone()
                size = 0 if row is None or row[0] is None else int(row[0]) + 1
                self.readings.append((time.time(), size))
                time.sleep(POLL_SECONDS)


def _sequencing_latencies(
    database_url: str, after_id: int, readings: list[tuple[float, int]]
) -> list[float]:
    """Seconds from each record's decision to the first size reading that held its leaf."""
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT e.leaf_index, extract(epoch FROM r.decided_at) FROM ledger_entries e "
            "JOIN check_records r ON r.id = e.record_id WHERE r.id > %s ORDER BY e.leaf_index",
            (after_id,),
        ).fetchall()
    latencies, reading = [], 0
    for index, decided in rows:
        while reading < len(readings) and readings[reading][1] <= index:
            reading += 1
        if reading == len(readings):
            break  # sequenced after the last reading: not measured
        latencies.append(readings[reading][0] - float(decided))
    return latencies


def _max_record_id(database_url: str) -> int:
    with psycopg.connect(database_url) as connection:
        row = connection.execute("SELECT coalesce(max(id), 0) FROM check_records").fetchone()
    return int(row[0]) if row else 0


def cost_of_sequencing(folder: Path) -> dict[str, Any]:
    """Part 1: check throughput with the sequencer off and on, and the sequencing latency."""
    with fresh_database("bench_ledger_cost") as database_url:
        env = bench_env(database_url)
        _command(["db", "upgrade"], env)
        dataset = write_dataset(folder / "data", RESIDENTS)
        for source in SOURCES:
            _command(["import", source, str(dataset.files[source])], env)
        create_keys(dataset, env, folder / "keys.txt")
        write_niks(dataset, folder / "niks.txt")
        records = Records(database_url)
        runs: dict[str, list[Run]] = {"off": [], "on": []}
        latencies: list[float] = []
        try:
            for number in range(1, ROUNDS + 1):
                for mode in ("off", "on"):
                    _command(["ledger", "sequence"], env)
                    after_id = _max_record_id(database_url)
                    poller = SizePoller(database_url)
                    server_env = {**env, "LEDGER_SEQUENCER": mode}
                    with serving(server_env, folder / f"server-{mode}.log") as server:
                        url = f"{server.base}/v1/checks"
                        wrk_run(f"warm-up {mode} {number}", "warm-up", url, records, seconds=5,
                                connections=CONNECTIONS, niks=folder / "niks.txt",
                                keys=folder / "keys.txt")  # fmt: skip
                        after_id = _max_record_id(database_url)
                        if mode == "on":
                            poller.start()
                        runs[mode].append(
                            wrk_run(f"checks, sequencer {mode}, round {number}", "checks", url,
                                    records, seconds=SECONDS, connections=CONNECTIONS,
                                    niks=folder / "niks.txt", keys=folder / "keys.txt")
                        )  # fmt: skip
                        if mode == "on":
                            time.sleep(3)  # the last records of the run get sequenced
                            poller.stopping.set()
                            poller.join()
                            latencies += _sequencing_latencies(
                                database_url, after_id, poller.readings
                            )
        finally:
            records.engine.dispose()
    ratios = [
        on.per_second / off.per_second for off, on in zip(runs["off"], runs["on"], strict=True)
    ]
    return {
        "residents": dataset.people,
        "checks_per_s_off": [round(run.per_second, 1) for run in runs["off"]],
        "checks_per_s_on": [round(run.per_second, 1) for run in runs["on"]],
        "ratio_rounds": [round(ratio, 3) for ratio in ratios],
        "ratio": round(statistics.median(ratios), 3),
        "sequenced_records": len(latencies),
        "sequencing_latency_s": _percentiles(latencies),
        "server_errors": sum(run.server_errors for mode in runs.values() for run in mode),
    }


def _proof_timings(base: str, auditor_key: str, database_url: str, verifier: str) -> dict[str, Any]:
    """Time inclusion and consistency proofs up to the signed checkpoint; verify every one.

    A consistency proof's older root is computed from the stored hashes with the service's
    ``tree_hash``: the proof is then checked by RFC 9162's algorithm against both roots.
    """
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {auditor_key}"
    note = session.get(f"{base}/v1/ledger/checkpoint", timeout=30).text
    checkpoint = parse_checkpoint(verify_note(note, verifier))
    size, root = checkpoint.size, checkpoint.root
    rng = random.Random(2026)
    chosen = [rng.randrange(size) for _ in range(PROOFS)]
    firsts = [rng.randrange(1, size + 1) for _ in range(PROOFS)]
    engine = create_engine(sqlalchemy_url(database_url))
    with Session(engine) as db:
        references = dict(
            db.execute(
                select(LedgerEntry.leaf_index, CheckRecord.check_id)
                .join(CheckRecord, CheckRecord.id == LedgerEntry.record_id)
                .where(LedgerEntry.leaf_index.in_(chosen))
            ).all()
        )
        old_roots = {first: tree_hash(first, store.hash_reader(db)) for first in firsts}
    engine.dispose()
    # The server has just started: its first answers pay for connections and warm caches.
    for index in chosen[:WARM_UP_PROOFS]:
        warm: dict[str, str | int] = {"check_id": references[index], "tree_size": size}
        session.get(f"{base}/v1/ledger/proof/inclusion", params=warm, timeout=30)
        warm = {"first": index + 1, "second": size}
        session.get(f"{base}/v1/ledger/proof/consistency", params=warm, timeout=30)
    inclusion, consistency = [], []
    for index in chosen:
        params: dict[str, str | int] = {"check_id": references[index], "tree_size": size}
        started = time.perf_counter()
        answer = session.get(f"{base}/v1/ledger/proof/inclusion", params=params, timeout=30)
        inclusion.append((time.perf_counter() - started) * 1000)
        body = answer.json()
        proof = [base64.b64decode(item) for item in body["proof"]]
        verify_inclusion(base64.b64decode(body["leaf_hash"]), index, size, proof, root)
    for first in firsts:
        params = {"first": first, "second": size}
        started = time.perf_counter()
        answer = session.get(f"{base}/v1/ledger/proof/consistency", params=params, timeout=30)
        consistency.append((time.perf_counter() - started) * 1000)
        proof = [base64.b64decode(item) for item in answer.json()["proof"]]
        verify_consistency(first, size, proof, old_roots[first], root)
    return {
        "tree_size": size,
        "inclusion_ms": _percentiles(inclusion),
        "consistency_ms": _percentiles(consistency),
    }


def at_scale(folder: Path) -> dict[str, Any]:
    """Part 2: sequence and verify RECORDS records, then time proofs at that size."""
    with fresh_database("bench_ledger_scale") as database_url:
        env = bench_env(database_url)
        data = load(database_url, env, RECORDS, folder)
        started = time.perf_counter()
        with psycopg.connect(database_url, autocommit=True) as connection:
            # The generator writes records with triggers off: queue them as checks would.
            connection.execute("INSERT INTO ledger_queue SELECT id FROM check_records")
        queued_s = time.perf_counter() - started
        print(f"queued {RECORDS:,} records in {queued_s:.1f} s", flush=True)
        _out, sequence_s, sequence_rss = _command(["ledger", "sequence", "--force"], env)
        print(f"sequenced in {sequence_s:.1f} s (peak {sequence_rss} MB)", flush=True)
        verified, verify_s, verify_rss = "", 0.0, 0.0
        if VERIFY:
            verified, verify_s, verify_rss = _command(["ledger", "verify"], env)
            print(f"verified in {verify_s:.1f} s (peak {verify_rss} MB): {verified.strip()}")
        with psycopg.connect(database_url, autocommit=True) as connection:
            # Sequencing ten million records leaves gigabytes of dirty pages that
            # PostgreSQL writes back over the next minutes: write them now, so that the
            # proofs are timed against the log as it serves, not against that write-back.
            connection.execute("CHECKPOINT")
        verifier = verifier_key(parse_signer_key(env["LEDGER_SIGNING_KEY"]))
        with serving({**env, "LEDGER_SEQUENCER": "off"}, folder / "server-scale.log") as server:
            proofs = _proof_timings(server.base, data.auditor_key, database_url, verifier)
    return {
        "records": RECORDS,
        "sequence_s": round(sequence_s, 1),
        "sequenced_per_s": round(RECORDS / sequence_s),
        "sequence_peak_rss_mb": sequence_rss,
        "verify_s": round(verify_s, 1),
        "verify_peak_rss_mb": verify_rss,
        "verify_output": verified.strip(),
        **proofs,
    }


def verdict(passed: bool) -> str:
    """The table's verdict column."""
    return "pass" if passed else "FAIL"


def main() -> None:
    """Run the parts asked for, print the table, write bench/results/ledger.json."""
    with tempfile.TemporaryDirectory(prefix="bench_ledger_") as tmp:
        cost = cost_of_sequencing(Path(tmp)) if "cost" in PARTS else None
        scale = at_scale(Path(tmp)) if "scale" in PARTS else None
    rows = [*_cost_rows(cost), *_scale_rows(scale)]
    print_table("Ledger: cost of sequencing, and the log at scale", rows,
                ("figure", "value", "target", "verdict"))  # fmt: skip
    path = write_results("ledger", {"cost": cost, "scale": scale})
    print(f"\nwrote {path}")


def _cost_rows(cost: dict[str, Any] | None) -> list[tuple[str, Any, str, str]]:
    if cost is None:
        return []
    latency = cost["sequencing_latency_s"]
    return [
        ("checks/s, sequencer off (rounds)", cost["checks_per_s_off"], "", ""),
        ("checks/s, sequencer on (rounds)", cost["checks_per_s_on"], "", ""),
        ("ratio on/off, median of rounds", cost["ratio"], f">= {TARGET_RATIO}",
         verdict(cost["ratio"] >= TARGET_RATIO)),
        ("sequencing latency p50 / p99 / max (s)",
         f"{latency['p50']} / {latency['p99']} / {latency['max']}", f"<= {TARGET_SEQUENCED_S}",
         verdict(latency["max"] <= TARGET_SEQUENCED_S)),
        ("5xx answers under load", cost["server_errors"], "0", verdict(cost["server_errors"] == 0)),
    ]  # fmt: skip


def _scale_rows(scale: dict[str, Any] | None) -> list[tuple[str, Any, str, str]]:
    if scale is None:
        return []
    return [
        (f"ledger sequence, {scale['records']:,} records (s)", scale["sequence_s"], "", ""),
        ("ledger sequence peak RSS (MB)", scale["sequence_peak_rss_mb"], "", ""),
        *(
            [(f"ledger verify, {scale['records']:,} records (s)", scale["verify_s"], "", ""),
             ("ledger verify peak RSS (MB)", scale["verify_peak_rss_mb"], "", "")]
            if scale["verify_output"] else []
        ),
        ("inclusion proof p50 / p99 / max (ms)", _triple(scale["inclusion_ms"]),
         f"p99 <= {TARGET_PROOF_MS}", verdict(scale["inclusion_ms"]["p99"] <= TARGET_PROOF_MS)),
        ("consistency proof p50 / p99 / max (ms)", _triple(scale["consistency_ms"]),
         f"p99 <= {TARGET_PROOF_MS}", verdict(scale["consistency_ms"]["p99"] <= TARGET_PROOF_MS)),
    ]  # fmt: skip


def _triple(figures: dict[str, float]) -> str:
    return f"{figures['p50']:.2f} / {figures['p99']:.2f} / {figures['max']:.2f}"


if __name__ == "__main__":
    main()
