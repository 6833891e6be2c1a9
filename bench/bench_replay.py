"""The replay benchmark of issue 12: ``GET /v1/audit/checks/{id}/replay`` on the full registry.

A fresh PostgreSQL database gets the synthetic Kukar (``BENCH_RESIDENTS`` people, default
807,000) through the real command line, as ``bench_checks`` loads it. The production
server (``jamkesda serve``) then makes check records through ``POST /v1/checks`` for random
registry NIKs and a share of valid NIKs in no list, and an auditor replays each record,
one request at a time on one keep-alive connection, each timed from sending to the full
answer. Every replay must answer 200 with ``same_as_recorded`` true; a NIK in no list
must replay as ``NIK_NOT_FOUND``.

Then (issue 14, finding 4) a desk's checks at CHECK_RATE/s are timed alone, and again
beside LOAD_REPLAYS replays running back to back (wrk): the desk's p99 must stay under
50 ms.

Afterwards ``jamkesda db rehash`` is timed twice: under the same key (nothing to rewrite)
and under a new NIK_HASH_KEY (every registry row rewritten).

Run: ``.venv/bin/python -m bench.bench_replay``. Settings (environment): BENCH_RESIDENTS,
BENCH_REPLAYS (default 400), BENCH_DATABASE_URL (the PostgreSQL server).
"""

from __future__ import annotations

import csv
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

from bench.bench_checks import Records, load_data, run_of, start_wrk, wrk, wrk_result
from bench.common import bench_env, fresh_database, jamkesda, print_table, serving, write_results
from service.synthetic import Dataset

REPLAYS = int(os.environ.get("BENCH_REPLAYS", "400"))
WARM_UP_REPLAYS = 20
UNKNOWN_SHARE = 0.1
TARGET_P99_MS = 50.0
ROTATED_KEY = "bench-rotated-nik-hash-key-0123456789abcdef"
REHASH_TIMEOUT_SECONDS = 1800
# Replays under load (issue 14, finding 4): a desk's checks beside concurrent replays.
LOAD_REPLAYS = 16
CHECK_RATE = 100
CHECK_SECONDS = 20
CHECK_CONNECTIONS = 10
TARGET_CHECK_P99_BESIDE_MS = 50.0


def registry_niks(dataset: Dataset) -> list[str]:
    """Every NIK of the population file."""
    with dataset.files["population"].open(encoding="utf-8", newline="") as file:
        return [row["NIK"] for row in csv.DictReader(file)]


def drawn_niks(registry: list[str], count: int, rng: random.Random) -> list[tuple[str, bool]]:
    """``count`` NIKs: random registry ones, and a share of valid ones in no list (False)."""
    known = set(registry)
    drawn: list[tuple[str, bool]] = []
    while len(drawn) < count:
        nik = rng.choice(registry)
        if rng.random() >= UNKNOWN_SHARE:
            drawn.append((nik, True))
            continue
        # A registry NIK with a serial no one has: valid, and in no list.
        unknown = nik[:12] + f"{rng.randint(9000, 9999):04d}"
        if unknown not in known:
            drawn.append((unknown, False))
    return drawn


def create_key(env: Mapping[str, str], role: str, facility: str | None) -> str:
    """A new client's API key (the last line ``jamkesda clients create`` prints)."""
    args = ["clients", "create", "--name", f"bench replay {role}", "--role", role]
    output = jamkesda([*args, *(["--facility", facility] if facility else [])], env, timeout=60)
    return output.strip().splitlines()[-1]


def make_records(base: str, desk_key: str, niks: list[tuple[str, bool]]) -> list[str]:
    """Check each NIK through the API; the check ids, in order."""
    ids = []
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {desk_key}"
        for nik, _known in niks:
            answer = http.post(f"{base}/v1/checks", json={"nik": nik}, timeout=30)
            if answer.status_code != 201:
                raise RuntimeError(f"check answered {answer.status_code}: {answer.text}")
            ids.append(answer.json()["check_id"])
    return ids


def time_replays(
    base: str, auditor_key: str, ids: list[str], niks: list[tuple[str, bool]]
) -> tuple[list[float], list[str]]:
    """Replay every record in turn: each one's milliseconds, and what was wrong with any."""
    latencies, wrong = [], []
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {auditor_key}"
        for check_id in ids[:WARM_UP_REPLAYS]:
            http.get(f"{base}/v1/audit/checks/{check_id}/replay", timeout=30)
        for check_id, (_nik, known) in zip(ids, niks, strict=True):
            started = time.perf_counter()
            answer = http.get(f"{base}/v1/audit/checks/{check_id}/replay", timeout=30)
            latencies.append((time.perf_counter() - started) * 1000)
            if answer.status_code != 200:
                wrong.append(f"{check_id}: {answer.status_code} {answer.text[:200]}")
                continue
            body = answer.json()
            reasons = [reason["code"] for reason in body["as_of_then"]["reasons"]]
            if not body["same_as_recorded"] or (not known and reasons != ["NIK_NOT_FOUND"]):
                wrong.append(f"{check_id}: {body}")
    return latencies, wrong


def _lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def replays_beside_checks(
    base: str,
    folder: Path,
    database_url: str,
    ids: list[str],
    desk_key: str,
    auditor_key: str,
    niks: list[str],
) -> dict[str, Any]:
    """A desk's checks at CHECK_RATE/s alone, then beside LOAD_REPLAYS concurrent replays.

    Issue 14, finding 4: sixteen concurrent replays once held every thread of the server
    and moved desk checks from 3 ms to seconds. The replays run back to back over
    LOAD_REPLAYS connections (wrk, as fast as answers come); a replay beyond the worker's
    heavy slots is answered 503 AUDIT_BUSY at once, and counted.
    """
    records = Records(database_url)
    check_ids = _lines(folder / "check_ids.txt", ids)
    auditor = _lines(folder / "auditor.txt", [auditor_key])
    desk = _lines(folder / "desk.txt", [desk_key])
    desk_niks = _lines(folder / "desk_niks.txt", niks)
    url = f"{base}/v1/checks"
    try:
        alone = wrk("desk alone", "paced", url, records, seconds=CHECK_SECONDS,
                    connections=CHECK_CONNECTIONS, niks=desk_niks, keys=desk,
                    rate=float(CHECK_RATE))  # fmt: skip
        records.wait_until_sequenced()
        replay_seconds = CHECK_SECONDS + 2
        replaying = start_wrk("replays", f"{base}/v1/audit/checks", seconds=replay_seconds,
                              connections=LOAD_REPLAYS, niks=check_ids, keys=auditor,
                              mode="audit-replay", timeout_s=30)  # fmt: skip
        time.sleep(1)
        checking = start_wrk("desk beside replays", url, seconds=CHECK_SECONDS,
                             connections=CHECK_CONNECTIONS, niks=desk_niks, keys=desk,
                             rate=float(CHECK_RATE))  # fmt: skip
        beside = run_of("desk beside replays", "paced", wrk_result(checking, CHECK_SECONDS), 0,
                        CHECK_CONNECTIONS)  # fmt: skip
        replays = run_of("replays", "replays", wrk_result(replaying, replay_seconds), 0,
                         LOAD_REPLAYS)  # fmt: skip
    finally:
        records.engine.dispose()
    return {
        "concurrent_replays": LOAD_REPLAYS,
        "check_rate_per_s": CHECK_RATE,
        "checks_p99_ms_alone": alone.ms("p99"),
        "checks_p99_ms_beside_replays": beside.ms("p99"),
        "checks_statuses": [alone.statuses, beside.statuses],
        "replays_per_s": round(replays.per_second, 1),
        "replay_statuses": replays.statuses,
        "replay_p99_ms": replays.ms("p99"),
    }


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of ``values`` (share in 0..1), in ms, rounded."""
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(share * len(ordered)) - 1)], 2)


def time_rehash(env: Mapping[str, str]) -> dict[str, Any]:
    """Seconds of ``jamkesda db rehash`` from start to exit, and its summary line."""
    started = time.perf_counter()
    output = jamkesda(["db", "rehash"], env, timeout=REHASH_TIMEOUT_SECONDS)
    return {"seconds": round(time.perf_counter() - started, 1), "summary": output.strip()}


def measure(folder: Path, database_url: str) -> dict[str, Any]:
    """Load the registry, make the records, time the replays, then time two rehashes."""
    env = bench_env(database_url)
    dataset, load_seconds = load_data(folder, env, database_url)
    # A reproducible draw, nothing secret.
    niks = drawn_niks(registry_niks(dataset), REPLAYS, random.Random(2026))
    puskesmas = next(f for f in dataset.facilities if f.kind == "PUSKESMAS")
    desk_key = create_key(env, "desk", puskesmas.code)
    auditor_key = create_key(env, "auditor", None)
    with serving(env, folder / "server.log") as server:
        ids = make_records(server.base, desk_key, niks)
        latencies, wrong = time_replays(server.base, auditor_key, ids, niks)
        under_load = replays_beside_checks(server.base, folder, database_url, ids, desk_key,
                                           auditor_key, [nik for nik, _known in niks])  # fmt: skip
    same_key = time_rehash(env)
    new_key = time_rehash({**env, "NIK_HASH_KEY": ROTATED_KEY})
    return {
        "residents": dataset.people,
        "replays": len(latencies),
        "replays_of_unknown_niks": sum(not known for _nik, known in niks),
        "latency_ms": {
            "p50": percentile(latencies, 0.50),
            "p95": percentile(latencies, 0.95),
            "p99": percentile(latencies, 0.99),
            "max": round(max(latencies), 2),
            "mean": round(statistics.fmean(latencies), 2),
        },
        "wrong_answers": wrong[:10],
        "wrong_count": len(wrong),
        "under_load": under_load,
        "rehash_same_key": same_key,
        "rehash_new_key": new_key,
        "data_load_seconds": load_seconds,
    }


def report(figures: dict[str, Any]) -> None:
    """Print the table of figures against their targets."""
    latency = figures["latency_ms"]
    p99_pass = latency["p99"] <= TARGET_P99_MS
    load = figures["under_load"]
    unknown = figures["replays_of_unknown_niks"]
    rows: list[tuple[Any, ...]] = [
        (f"replays ({unknown} of NIKs in no list)", figures["replays"], "", ""),
        ("replay p50 (ms)", latency["p50"], "", ""),
        ("replay p95 (ms)", latency["p95"], "", ""),
        ("replay p99 (ms)", latency["p99"], f"<= {TARGET_P99_MS:g}", verdict(p99_pass)),
        ("replay max (ms)", latency["max"], "", ""),
        ("wrong answers", figures["wrong_count"], 0, verdict(figures["wrong_count"] == 0)),
        (
            f"desk p99 at {load['check_rate_per_s']}/s alone (ms)",
            load["checks_p99_ms_alone"],
            "",
            "",
        ),
        (
            f"desk p99 beside {load['concurrent_replays']} concurrent replays (ms)",
            load["checks_p99_ms_beside_replays"],
            f"< {TARGET_CHECK_P99_BESIDE_MS:g}",
            verdict(load["checks_p99_ms_beside_replays"] < TARGET_CHECK_P99_BESIDE_MS),
        ),
        (
            "replays/s meanwhile; their statuses",
            load["replays_per_s"],
            str(load["replay_statuses"]),
            "",
        ),
        ("db rehash, same key (s)", figures["rehash_same_key"]["seconds"], "", ""),
        ("db rehash, new key (s)", figures["rehash_new_key"]["seconds"], "", ""),
    ]
    title = f"Replay over {figures['residents']} residents"
    print_table(title, rows, ("figure", "value", "target", "verdict"))
    print(f"\n{figures['rehash_new_key']['summary']}")


def verdict(passed: bool) -> str:
    """The table's word for a figure against its target."""
    return "pass" if passed else "FAIL"


def main() -> None:
    """Load a fresh database, measure, print the table, write bench/results/replay.json."""
    with (
        tempfile.TemporaryDirectory(prefix="bench_replay_") as tmp,
        fresh_database("bench_replay") as database_url,
    ):
        try:
            figures = measure(Path(tmp), database_url)
        except Exception:
            log = Path(tmp) / "server.log"
            if log.exists():
                print(log.read_text(encoding="utf-8", errors="replace")[-4000:], file=sys.stderr)
            raise
    figures["method"] = __doc__
    report(figures)
    path = write_results("replay", figures)
    print(f"\nwrote {path}")
    missed = []
    if figures["latency_ms"]["p99"] > TARGET_P99_MS:
        missed.append("replay p99")
    if figures["wrong_count"]:
        missed.append("wrong answers")
    if figures["under_load"]["checks_p99_ms_beside_replays"] >= TARGET_CHECK_P99_BESIDE_MS:
        missed.append("desk p99 beside concurrent replays")
    if missed:
        sys.exit(f"bench_replay: targets missed: {', '.join(missed)}")


if __name__ == "__main__":
    main()
