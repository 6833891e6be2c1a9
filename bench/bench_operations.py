"""Issue 13's benchmarks: what metrics, JSON logs and rate limits cost; overload; a flooding key.

On a fresh PostgreSQL database loaded as ``bench_checks`` loads it (``BENCH_RESIDENTS``):

1. **Cost.** Two servers side by side: one with metrics, JSON logs and rate limits on (the
   limit high enough that nothing is refused, so every request still pays for its bucket),
   one with all three off (``METRICS=off REQUEST_LOG=off RATE_LIMIT=off``). Rounds of
   checks alternate between them; target: checks/s on ≥ 0.9 × off (median of the rounds'
   ratios).
2. **Overload.** The "on" server is offered twice its saturating rate (its median checks/s
   in 1.) over ``OVERLOAD_CONNECTIONS`` connections: the checks/s answered and the p99 of
   the answered requests are reported; every request must be answered (no time-out, no
   5xx) and records − answers = 0.
3. **A flooding key.** A server at the default ``RATE_LIMIT`` (20/s). Key B (a client of its
   own rate, 1000/s) sends checks at ``PACED_RATE``/s, first alone, then while key A sends
   ``FLOOD_RATE`` requests a second, ten times its limit (nine in ten get 429): a desk
   program retrying in a loop. Target: B's p99 beside the flood ≤ 1.2 × B's p99 alone
   (medians over the rounds). Then, reported without a target, B beside key A sending as
   fast as its answers come over ``FLOOD_CONNECTIONS`` connections: a 429 costs the server
   about what ``/healthz`` does, so a flood of that size takes CPU from every other request,
   and only a shield in front of the service (the reverse proxy's own limit) keeps it out.

Run: ``.venv/bin/python -m bench.bench_operations``. Settings (environment): BENCH_RESIDENTS,
BENCH_SECONDS (each cost round, default 12), BENCH_ROUNDS (default 3), BENCH_DATABASE_URL.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.bench_checks import (
    CONNECTIONS,
    ROUNDS,
    SECONDS,
    WARM_UP_SECONDS,
    Records,
    Run,
    loaded,
    run_of,
    start_wrk,
    wrk,
    wrk_result,
)
from bench.common import bench_env, jamkesda, print_table, serving, write_results

TARGET_COST_RATIO = 0.9
# The limit of the "on" server in the cost rounds: never reached, always computed.
UNREACHED_LIMIT = "1000000/s"
OVERLOAD_FACTOR = 2
OVERLOAD_SECONDS = 20
# Enough connections to keep twice the saturating rate scheduled; the answers queue in the
# server, so wrk waits long for them rather than counting a time-out.
OVERLOAD_CONNECTIONS = 128
OVERLOAD_TIMEOUT_S = 30
PACED_RATE = 100
PACED_SECONDS = 20
PACED_CONNECTIONS = 10
# A desk program gone wrong: a few threads, each sending as soon as its answer comes.
FLOOD_CONNECTIONS = 4
FLOOD_RATE = 200
FLOOD_ROUNDS = 3
TARGET_FLOOD_P99 = 1.2
MEASURED_KEY_RATE = "1000/s"

METHOD = " ".join(
    (
        "Data and keys as bench_checks loads them. wrk (one thread, loopback) with",
        "bench/wrk/checks.lua. Cost: servers with metrics+logs+limits on (RATE_LIMIT",
        f"{UNREACHED_LIMIT}) and all off, {ROUNDS} rounds of {SECONDS} s alternating,",
        f"{CONNECTIONS} connections. Overload: {OVERLOAD_FACTOR} x the on-server's median",
        f"checks/s scheduled over {OVERLOAD_CONNECTIONS} connections for {OVERLOAD_SECONDS} s,",
        f"wrk time-out {OVERLOAD_TIMEOUT_S} s. Flood: default RATE_LIMIT; key B at",
        f"{PACED_RATE}/s over {PACED_CONNECTIONS} connections for {PACED_SECONDS} s, alone",
        f"then beside key A at {FLOOD_RATE}/s over {FLOOD_CONNECTIONS} connections;",
        f"{FLOOD_ROUNDS} rounds, medians of p99. Then once beside key A unpaced.",
    )
)


def cost_and_overload(database_url: str, folder: Path) -> dict[str, Any]:
    """Rounds against the on and off servers, then the overload of the on server."""
    base_env = bench_env(database_url)
    on_env = {**base_env, "METRICS": "on", "REQUEST_LOG": "on", "RATE_LIMIT": UNREACHED_LIMIT}
    off_env = {**base_env, "METRICS": "off", "REQUEST_LOG": "off", "RATE_LIMIT": "off"}
    niks, keys = folder / "niks.txt", folder / "keys.txt"
    records = Records(database_url)
    runs: dict[str, list[Run]] = {"on": [], "off": []}
    try:
        with (
            serving(on_env, folder / "on.log") as on,
            serving(off_env, folder / "off.log") as off,
        ):
            servers = {"on": on.base, "off": off.base}
            warm = WARM_UP_SECONDS + 3
            for name, base in servers.items():
                wrk(
                    f"warm-up {name}",
                    "warm-up",
                    f"{base}/v1/checks",
                    records,
                    seconds=warm,
                    connections=CONNECTIONS,
                    niks=niks,
                    keys=keys,
                )
            for number in range(1, ROUNDS + 1):
                # Alternate which goes first, so that neither always follows the other.
                order = ("off", "on") if number % 2 else ("on", "off")
                for name in order:
                    runs[name].append(
                        wrk(
                            f"{name} {number}",
                            "checks",
                            f"{servers[name]}/v1/checks",
                            records,
                            seconds=SECONDS,
                            connections=CONNECTIONS,
                            niks=niks,
                            keys=keys,
                        )
                    )
            saturating = statistics.median(run.per_second for run in runs["on"])
            offered = round(OVERLOAD_FACTOR * saturating)
            overload = wrk(
                f"overload at {offered}/s",
                "overload",
                f"{on.base}/v1/checks",
                records,
                seconds=OVERLOAD_SECONDS,
                connections=OVERLOAD_CONNECTIONS,
                niks=niks,
                keys=keys,
                rate=float(offered),
                timeout_s=OVERLOAD_TIMEOUT_S,
            )
    finally:
        records.engine.dispose()
    ratios = [
        on_run.per_second / off_run.per_second
        for on_run, off_run in zip(runs["on"], runs["off"], strict=True)
    ]
    return {
        "checks_per_s_on": round(statistics.median(run.per_second for run in runs["on"]), 1),
        "checks_per_s_off": round(statistics.median(run.per_second for run in runs["off"]), 1),
        "cost_ratio": round(statistics.median(ratios), 3),
        "cost_ratio_of_each_round": [round(ratio, 3) for ratio in ratios],
        "overload": {
            "offered_per_s": offered,
            "answered_per_s": round(overload.per_second, 1),
            "latency_ms": {name: overload.ms(name) for name in ("p50", "p90", "p99", "max")},
            "statuses": overload.statuses,
            "socket_errors": overload.socket_errors,
            "records_minus_answers": overload.records_added - overload.recorded_answers,
        },
        "runs": [_summary(run) for run in (*runs["on"], *runs["off"], overload)],
    }


def _summary(run: Run) -> dict[str, Any]:
    return {
        "name": run.name,
        "per_s": round(run.per_second, 1),
        "statuses": run.statuses,
        "records_minus_answers": run.records_added - run.recorded_answers,
        "latency_ms": {name: run.ms(name) for name in ("p50", "p99", "max")},
        "socket_errors": run.socket_errors,
    }


def _one_key_file(folder: Path, keys: list[str], index: int, name: str) -> Path:
    path = folder / name
    path.write_text(keys[index] + "\n", encoding="utf-8")
    return path


def flood(database_url: str, folder: Path) -> dict[str, Any]:
    """Key B's p99 alone and beside key A's flood, on a server at the default RATE_LIMIT."""
    env = {name: value for name, value in bench_env(database_url).items() if name != "RATE_LIMIT"}
    keys = (folder / "keys.txt").read_text(encoding="utf-8").split()
    flooder = _one_key_file(folder, keys, 0, "flooder.txt")
    measured = _one_key_file(folder, keys, 1, "measured.txt")
    # ``create_keys`` made the clients in the order of keys.txt on a fresh database.
    measured_id = jamkesda(["clients", "list"], env, timeout=60).splitlines()[1].split("\t")[0]
    jamkesda(["clients", "set-rate", measured_id, MEASURED_KEY_RATE], env, timeout=60)
    niks = folder / "niks.txt"
    records = Records(database_url)
    quiet: list[Run] = []
    flooded: list[Run] = []
    floods: list[Run] = []
    try:
        with serving(env, folder / "flood.log") as server:
            url = f"{server.base}/v1/checks"
            wrk(
                "warm-up",
                "warm-up",
                url,
                records,
                seconds=WARM_UP_SECONDS + 3,
                connections=PACED_CONNECTIONS,
                niks=niks,
                keys=measured,
            )
            for number in range(1, FLOOD_ROUNDS + 1):
                quiet.append(
                    wrk(
                        f"B alone {number}",
                        "paced",
                        url,
                        records,
                        seconds=PACED_SECONDS,
                        connections=PACED_CONNECTIONS,
                        niks=niks,
                        keys=measured,
                        rate=float(PACED_RATE),
                    )
                )
                pair = _beside_a_flood(
                    f"{number}", url, records, niks, flooder, measured, float(FLOOD_RATE)
                )
                flooded.append(pair[0])
                floods.append(pair[1])
            unpaced = _beside_a_flood("unpaced", url, records, niks, flooder, measured, None)
    finally:
        records.engine.dispose()
    quiet_p99 = statistics.median(run.ms("p99") for run in quiet)
    flooded_p99 = statistics.median(run.ms("p99") for run in flooded)
    return {
        "measured_p99_ms_alone": quiet_p99,
        "measured_p99_ms_beside_flood": flooded_p99,
        "p99_ratio": round(flooded_p99 / quiet_p99, 3),
        "flood_per_s": round(statistics.median(run.per_second for run in floods), 1),
        "flood_statuses": [run.statuses for run in floods],
        "unpaced": {
            "measured_p99_ms": unpaced[0].ms("p99"),
            "p99_ratio": round(unpaced[0].ms("p99") / quiet_p99, 3),
            "flood_per_s": round(unpaced[1].per_second, 1),
            "flood_statuses": unpaced[1].statuses,
        },
        "measured_statuses": [run.statuses for run in (*quiet, *flooded, unpaced[0])],
        "records_minus_answers": [
            run.records_added - run.recorded_answers for run in (*quiet, *flooded, unpaced[0])
        ],
        "runs": [_summary(run) for run in (*quiet, *flooded, *floods, *unpaced)],
    }


def _beside_a_flood(
    number: str,
    url: str,
    records: Records,
    niks: Path,
    flooder: Path,
    measured: Path,
    flood_rate: float | None,
) -> tuple[Run, Run]:
    """Key B paced while key A floods (at ``flood_rate``, or as fast as answers come).

    B's run carries the records both added, against both runs' recorded answers.
    """
    records.wait_until_sequenced()
    before = records.count()
    flood_seconds = PACED_SECONDS + 2
    flooding = start_wrk(
        f"A floods {number}",
        url,
        seconds=flood_seconds,
        connections=FLOOD_CONNECTIONS,
        niks=niks,
        keys=flooder,
        rate=flood_rate,
    )
    time.sleep(1)
    pacing = start_wrk(
        f"B beside {number}",
        url,
        seconds=PACED_SECONDS,
        connections=PACED_CONNECTIONS,
        niks=niks,
        keys=measured,
        rate=float(PACED_RATE),
    )
    paced_result = wrk_result(pacing, PACED_SECONDS)
    flood_result = wrk_result(flooding, flood_seconds)
    added = records.count() - before
    flood_run = run_of(f"A floods {number}", "flood", flood_result, 0, FLOOD_CONNECTIONS)
    flood_recorded = flood_run.recorded_answers
    paced = run_of(
        f"B beside {number}", "paced", paced_result, added - flood_recorded, PACED_CONNECTIONS
    )
    return paced, flood_run


def verdict(passed: bool) -> str:
    """The table's word for a figure against its target."""
    return "pass" if passed else "FAIL"


def report(figures: dict[str, Any]) -> None:
    """Print the table of figures against their targets."""
    overload = figures["overload"]
    flooding = figures["flood"]
    rows = [
        ("checks/s, metrics+logs+limits on (median)", figures["checks_per_s_on"], "", ""),
        ("checks/s, all three off (median)", figures["checks_per_s_off"], "", ""),
        (
            "ratio on/off (median of rounds)",
            figures["cost_ratio"],
            f">= {TARGET_COST_RATIO}",
            verdict(figures["cost_ratio_pass"]),
        ),
        ("overload: offered checks/s", overload["offered_per_s"], "", ""),
        ("overload: answered checks/s", overload["answered_per_s"], "", ""),
        ("overload: p99 of answered (ms)", overload["latency_ms"]["p99"], "reported", ""),
        (
            "overload: requests timed out or not connected",
            _lost(overload),
            "0",
            verdict(_lost(overload) == 0),
        ),
        (
            "overload: records - (201 + 422)",
            overload["records_minus_answers"],
            "0",
            verdict(overload["records_minus_answers"] == 0),
        ),
        ("flood: key B p99 alone (ms)", flooding["measured_p99_ms_alone"], "", ""),
        (
            "flood: key B p99 beside the flood (ms)",
            flooding["measured_p99_ms_beside_flood"],
            f"<= {TARGET_FLOOD_P99} x alone",
            verdict(flooding["p99_pass"]),
        ),
        ("flood: key A requests/s (9 in 10 are 429)", flooding["flood_per_s"], "", ""),
        ("unpaced flood: key A requests/s", flooding["unpaced"]["flood_per_s"], "", ""),
        ("unpaced flood: key B p99 (ms)", flooding["unpaced"]["measured_p99_ms"], "reported", ""),
        ("5xx answers", figures["server_errors"], "0", verdict(figures["server_errors"] == 0)),
    ]
    print_table(
        "Operations: cost of metrics, logs and limits; overload; a flooding key",
        rows,
        ("figure", "value", "target", "verdict"),
    )


def _lost(overload: dict[str, Any]) -> int:
    """Requests wrk gave up on: time-outs and failed connections.

    wrk's "read" errors are not among them: they are the kept-alive connections that the
    server closes once idle after the run stops sending (one per connection, in every run).
    """
    errors = overload["socket_errors"]
    return int(errors["timeout"] + errors["connect"] + errors["write"])


def _server_errors(runs: list[dict[str, Any]]) -> int:
    return sum(
        count for run in runs for status, count in run["statuses"].items() if status.startswith("5")
    )


def main() -> None:
    """Load a fresh database, measure, print the table, write bench/results/operations.json."""
    with loaded("bench_operations") as load:
        figures = cost_and_overload(load.database_url, load.folder)
        figures["flood"] = flood(load.database_url, load.folder)
    figures["cost_ratio_pass"] = figures["cost_ratio"] >= TARGET_COST_RATIO
    figures["flood"]["p99_pass"] = figures["flood"]["p99_ratio"] <= TARGET_FLOOD_P99
    figures["server_errors"] = _server_errors(figures["runs"] + figures["flood"]["runs"])
    figures.update(residents=load.dataset.people, method=METHOD)
    report(figures)
    path = write_results("operations", figures)
    print(f"\nwrote {path}")
    overload = figures["overload"]
    failures = [
        name
        for name, failed in (
            ("cost ratio", not figures["cost_ratio_pass"]),
            ("flooding key's effect on p99", not figures["flood"]["p99_pass"]),
            ("5xx answers", figures["server_errors"] > 0),
            ("overload time-outs", _lost(overload) > 0),
            ("overload records differ from answers", overload["records_minus_answers"] != 0),
            ("flood records differ from answers", any(figures["flood"]["records_minus_answers"])),
        )
        if failed
    ]
    if failures:
        sys.exit(f"bench_operations: {', '.join(failures)}")


if __name__ == "__main__":
    main()
