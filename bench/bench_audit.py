"""The audit benchmark of issue 4: listings, statistics and the CSV export over ten million
check records.

A fresh PostgreSQL database gets ``BENCH_AUDIT_RECORDS`` records (default 10,000,000) over
three years and the NIKs of the 807,000-person synthetic registry, written straight into
the database (``bench/audit_data.py``). The production server (``jamkesda serve``) then
answers an auditor's requests, one at a time on one keep-alive connection, each timed from
sending to the full answer:

- the listing filtered by one NIK (random registry NIKs);
- filtered by one facility and one WITA month (random pairs), first page;
- the same pairs deep in the cursor: a cursor made (as the server makes it) for the first
  record decided at or after the middle of the month, so the page starts half-way
  through the month; and pages 2 to 21 of some pairs, each page from the previous
  page's ``next_cursor``;
- the statistics by facility × decision for one month, and for twelve months;
- the CSV export of one facility since a date chosen so that ≈ 1,000,000 rows match,
  read to the end, while the RSS of every gunicorn worker is sampled from ``/proc``
  every 100 ms (the worker that served it is the one whose CPU time grew most);
- the console's pages (issue 12, ``bench/console_pages.py``): a search by NIK posted
  through the search form and followed to its results, and the record page of a
  sequenced record (replay and verified inclusion proof), timed by the server.

A figure that misses its target gets the ``EXPLAIN (ANALYZE, BUFFERS)`` of the statement
behind it, built by the same query builders the server uses, for a request of that kind.

Run: ``.venv/bin/python -m bench.bench_audit``. Settings (environment): BENCH_AUDIT_RECORDS,
BENCH_AUDIT_NIKS (default 807,000), BENCH_AUDIT_REQUESTS (per listing figure, default 200),
BENCH_AUDIT_EXPORT_ROWS (default 1,000,000, at most a tenth of the records),
BENCH_CONSOLE_SEQUENCED (records sequenced for the record pages, default 100,000),
BENCH_DATABASE_URL (the PostgreSQL server).
"""

from __future__ import annotations

import os
import random
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import ClauseElement, Engine, Executable, create_engine, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from bench import console_pages
from bench.audit_data import AuditData, load
from bench.audit_timing import PAGE_LIMIT, Timing
from bench.common import (
    RESULTS_DIR,
    Server,
    bench_env,
    cpu_ticks,
    fresh_database,
    print_table,
    serving,
    write_results,
)
from service.audit.cursor import decode_cursor, encode_cursor
from service.audit.export import export_statement
from service.audit.filters import check_filter
from service.audit.records import listing_statement
from service.audit.stats import stats_statement
from service.db import sqlalchemy_url
from service.synthetic import WITA

RECORDS = int(os.environ.get("BENCH_AUDIT_RECORDS", "10000000"))
REQUESTS = int(os.environ.get("BENCH_AUDIT_REQUESTS", "200"))
EXPORT_ROWS = min(int(os.environ.get("BENCH_AUDIT_EXPORT_ROWS", "1000000")), RECORDS // 10)
MONTH_STATS_REQUESTS = 36
YEAR_STATS_REQUESTS = 10
FOLLOWED_PAIRS = 10
FOLLOWED_PAGES = 20
WARM_UP_REQUESTS = 20
RSS_SAMPLE_SECONDS = 0.1
TARGET_NIK_P99_MS = 20.0
TARGET_FACILITY_MONTH_P99_MS = 50.0
TARGET_STATS_MONTH_MS = 1000.0
TARGET_STATS_YEAR_MS = 5000.0
TARGET_EXPORT_ROWS_PER_S = 50_000.0
# "Memory flat": the serving worker's peak RSS at most this far above its RSS at the start.
FLAT_RSS_GROWTH_MB = 50.0


class Auditor:
    """GETs of the audit API with the auditor's key, on one keep-alive connection."""

    def __init__(self, base: str, key: str) -> None:
        self.base = base
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {key}"

    def timed(self, path: str, params: Mapping[str, str]) -> tuple[float, requests.Response]:
        """The answer and the milliseconds from sending the request to its last byte."""
        started = time.perf_counter()
        response = self.http.get(self.base + path, params=params, timeout=60)
        return (time.perf_counter() - started) * 1000, response

    def run(self, timing: Timing, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        """One timed request counted in ``timing``; its JSON body."""
        ms, response = self.timed(path, params)
        body: dict[str, Any] = response.json() if response.status_code == 200 else {}
        items = len(body.get("items", body.get("rows", [])))
        timing.add(ms, response.status_code, items, params)
        return body


def months_of(data: AuditData) -> list[tuple[date, date]]:
    """Every whole WITA month of the period: its first and last day."""
    months = []
    first = date(data.first_day.year, data.first_day.month, 1)
    if first < data.first_day:
        first = _next_month(first)
    while _next_month(first) <= data.today:
        months.append((first, _next_month(first) - timedelta(days=1)))
        first = _next_month(first)
    return months


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _wita_start(day: date) -> datetime:
    return datetime.combine(day, clock_time.min, tzinfo=WITA)


def mid_month_ids(
    engine: Engine, pairs: list[tuple[str, tuple[date, date]]]
) -> dict[tuple[str, date], int]:
    """For each facility and month, the id of its first record at or after mid-month."""
    found = {}
    with engine.connect() as connection:
        for facility, (first, last) in pairs:
            start, end = _wita_start(first), _wita_start(last + timedelta(days=1))
            middle = start + (end - start) / 2
            row = connection.execute(
                text(
                    "SELECT id FROM check_records WHERE facility_code = :facility"
                    " AND decided_at >= :middle ORDER BY decided_at LIMIT 1"
                ),
                {"facility": facility, "middle": middle},
            ).scalar_one()
            found[(facility, first)] = int(row)
    return found


def month_params(facility: str, month: tuple[date, date]) -> dict[str, str]:
    """The query of one facility's records of one month."""
    return {"facility": facility, "from": month[0].isoformat(), "to": month[1].isoformat()}


def measure_listings(
    auditor: Auditor, engine: Engine, data: AuditData, rng: random.Random
) -> list[Timing]:
    """The listing figures: by NIK, by facility and month (first page, deep, followed)."""
    path = "/v1/audit/checks"
    codes = [facility.code for facility in data.facilities]
    months = months_of(data)
    by_nik = Timing(
        "listing by one NIK", f"p99 <= {TARGET_NIK_P99_MS:g} ms", TARGET_NIK_P99_MS, "p99"
    )
    limit = TARGET_FACILITY_MONTH_P99_MS
    first = Timing("facility + month, first page", f"p99 <= {limit:g} ms", limit, "p99")
    deep = Timing("facility + month, cursor at mid-month", f"p99 <= {limit:g} ms", limit, "p99")
    followed = Timing(
        f"facility + month, pages 2-{FOLLOWED_PAGES + 1} by next_cursor",
        f"p99 <= {limit:g} ms",
        limit,
        "p99",
    )
    warm = Timing("warm-up", "", 0, "p99")
    for nik in rng.sample(data.niks, WARM_UP_REQUESTS):
        auditor.run(warm, path, {"nik": nik})
    for nik in rng.sample(data.niks, REQUESTS):
        auditor.run(by_nik, path, {"nik": nik})
    pairs = [(rng.choice(codes), rng.choice(months)) for _ in range(REQUESTS)]
    middles = mid_month_ids(engine, pairs)
    for facility, month in pairs[:WARM_UP_REQUESTS]:
        auditor.run(warm, path, month_params(facility, month))
    for facility, month in pairs:
        auditor.run(first, path, month_params(facility, month))
    for facility, month in pairs:
        cursor = encode_cursor(middles[(facility, month[0])])
        auditor.run(deep, path, {**month_params(facility, month), "cursor": cursor})
    for facility, month in pairs[:FOLLOWED_PAIRS]:
        params = month_params(facility, month)
        page = auditor.run(Timing("page 1", "", 0, "p99"), path, params)
        for _ in range(FOLLOWED_PAGES):
            if not page.get("next_cursor"):
                break
            page = auditor.run(followed, path, {**params, "cursor": page["next_cursor"]})
    return [by_nik, first, deep, followed]


def measure_stats(auditor: Auditor, data: AuditData, rng: random.Random) -> list[Timing]:
    """The statistics by facility × decision for one month and for twelve months."""
    path = "/v1/audit/stats"
    months = months_of(data)
    month_limit, year_limit = TARGET_STATS_MONTH_MS, TARGET_STATS_YEAR_MS
    month = Timing(
        "stats facility × decision, one month",
        f"max <= {month_limit / 1000:g} s",
        month_limit,
        "max",
        paged=False,
    )
    year = Timing(
        "stats facility × decision, twelve months",
        f"max <= {year_limit / 1000:g} s",
        year_limit,
        "max",
        paged=False,
    )
    group = {"group_by": "facility,decision"}
    for first, last in rng.sample(months, min(MONTH_STATS_REQUESTS, len(months))):
        auditor.run(month, path, {**group, "from": first.isoformat(), "to": last.isoformat()})
    starts = list(range(len(months) - 11))
    for start in [rng.choice(starts) for _ in range(YEAR_STATS_REQUESTS)]:
        first, last = months[start][0], months[start + 11][1]
        auditor.run(year, path, {**group, "from": first.isoformat(), "to": last.isoformat()})
    return [month, year]


def export_filter(engine: Engine, rows: int) -> tuple[dict[str, str], int]:
    """The busiest facility since the WITA day that gives it ≈ ``rows`` rows; the exact count."""
    with engine.connect() as connection:
        facility = connection.execute(
            text(
                "SELECT facility_code FROM check_records GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
            )
        ).scalar_one()
        since = connection.execute(
            text(
                "SELECT (decided_at AT TIME ZONE 'Asia/Makassar')::date FROM check_records"
                " WHERE facility_code = :facility ORDER BY decided_at DESC"
                " OFFSET :skip LIMIT 1"
            ),
            {"facility": facility, "skip": rows - 1},
        ).scalar_one()
        count = connection.execute(
            text(
                "SELECT count(*) FROM check_records WHERE facility_code = :facility"
                " AND decided_at >= :start"
            ),
            {"facility": facility, "start": _wita_start(since)},
        ).scalar_one()
    return {"facility": facility, "from": since.isoformat()}, int(count)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def sampling_rss(workers: list[int]) -> Iterator[dict[int, list[float]]]:
    """Sample each worker's RSS every RSS_SAMPLE_SECONDS while the block runs."""
    samples: dict[int, list[float]] = {pid: [] for pid in workers}
    stop = threading.Event()

    def sample() -> None:
        while True:
            for pid in workers:
                samples[pid].append(_rss_mb(pid))
            if stop.wait(RSS_SAMPLE_SECONDS):
                break

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join()


def measure_export(auditor: Auditor, server: Server, params: dict[str, str]) -> dict[str, Any]:
    """Read the whole CSV export; rows per second and the serving worker's RSS."""
    workers = server.worker_pids()
    base = server.base
    ticks = {pid: cpu_ticks(pid) for pid in workers}
    rows = -1  # the header line is not a row
    size = 0
    with sampling_rss(workers) as samples:
        started = time.perf_counter()
        first_byte = 0.0
        with auditor.http.get(
            base + "/v1/audit/checks.csv", params=params, stream=True, timeout=120
        ) as response:
            status = response.status_code
            for chunk in response.iter_content(chunk_size=1 << 16):
                if not first_byte:
                    first_byte = time.perf_counter() - started
                rows += chunk.count(b"\n")
                size += len(chunk)
        elapsed = time.perf_counter() - started
    served_by = max(workers, key=lambda pid: cpu_ticks(pid) - ticks[pid])
    rss = samples[served_by]
    return {
        "status": status,
        "rows": rows,
        "bytes": size,
        "seconds": round(elapsed, 2),
        "first_byte_s": round(first_byte, 3),
        "rows_per_s": round(rows / elapsed),
        "worker_rss_mb": {
            "start": round(rss[0], 1),
            "peak": round(max(rss), 1),
            "end": round(rss[-1], 1),
            "samples": len(rss),
        },
        "other_workers_peak_rss_mb": [
            round(max(samples[pid]), 1) for pid in workers if pid != served_by
        ],
    }


class Explain(Executable, ClauseElement):
    """``EXPLAIN (ANALYZE, BUFFERS)`` of a statement, its parameters bound as usual."""

    inherit_cache = False

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement


@compiles(Explain, "postgresql")
def _explain(element: Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return "EXPLAIN (ANALYZE, BUFFERS) " + compiler.process(element.statement, **kw)


def explain(engine: Engine, kind: str, params: Mapping[str, str], key: bytes) -> str:
    """The plan, as run, of the statement the server builds for a request of ``kind``."""
    query: dict[str, Any] = {
        name: value for name, value in params.items() if name in ("nik", "facility")
    }
    for name, key_name in (("from", "from_"), ("to", "to")):
        if name in params:
            query[key_name] = date.fromisoformat(params[name])
    selection = check_filter(query, WITA, key)
    below = decode_cursor(params["cursor"]) if params.get("cursor") else None
    statement: Any
    if kind == "listing":
        statement = listing_statement(selection, PAGE_LIMIT, below, "postgresql")
    elif kind == "stats":
        statement = stats_statement(selection, params["group_by"].split(","), WITA, "postgresql")
    else:
        statement = export_statement(selection, "postgresql")
    with engine.connect() as connection:
        lines = connection.execute(Explain(statement)).scalars().all()
    return "\n".join(str(line) for line in lines)


def database_size(engine: Engine) -> dict[str, Any]:
    """The sizes of the database, the records' table and each of its indexes, in MB."""
    with engine.connect() as connection:
        total = connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        table = connection.execute(text("SELECT pg_table_size('check_records')")).scalar_one()
        indexes = connection.execute(
            text(
                "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid)"
                " FROM pg_index WHERE indrelid = 'check_records'::regclass ORDER BY 1"
            )
        ).all()
        distinct = connection.execute(
            text(
                "SELECT count(*) FROM (SELECT DISTINCT nik_hash FROM check_records"
                " WHERE decision <> 'INVALID_REQUEST') AS niks"
            )
        ).scalar_one()
    return {
        "database_mb": round(total / 2**20),
        "check_records_table_mb": round(table / 2**20),
        "indexes_mb": {name: round(size / 2**20) for name, size in indexes},
        "distinct_niks_in_records": int(distinct),
    }


def load_average() -> float:
    """The machine's load average over the last minute."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def verdict(passed: bool) -> str:
    """The table's word for a figure against its target."""
    return "pass" if passed else "FAIL"


def report(figures: dict[str, Any], timings: list[Timing]) -> None:
    """Print the table of every figure against its target."""
    rows: list[tuple[Any, ...]] = [
        (
            "records / distinct NIKs",
            f"{figures['records']:,} / {figures['size']['distinct_niks_in_records']:,}",
            "",
            "",
        ),
        ("generation (s)", figures["generation_seconds"]["total"], "", ""),
        ("database size (MB)", f"{figures['size']['database_mb']:,}", "", ""),
    ]
    for timing in timings:
        f = timing.figures()
        value = f"{f['p50_ms']} / {f['p95_ms']} / {f['p99_ms']} / {f['max_ms']}"
        rows.append(
            (f"{timing.name} (p50/p95/p99/max ms)", value, timing.target, verdict(timing.passed))
        )
        for group, split in f["by_page_size"].items():
            answers = f"  of which {split['answers']} {group} (p50/max ms)"
            rows.append((answers, f"{split['p50_ms']} / {split['max_ms']}", "", ""))
    export = figures["export"]
    rss = export["worker_rss_mb"]
    rows += [
        (
            f"CSV export, {export['rows']:,} rows (rows/s)",
            f"{export['rows_per_s']:,}",
            f">= {TARGET_EXPORT_ROWS_PER_S:,.0f}",
            verdict(export["rate_pass"]),
        ),
        (
            "CSV export: seconds / first byte (s)",
            f"{export['seconds']} / {export['first_byte_s']}",
            "",
            "",
        ),
        (
            "CSV export: worker RSS start/peak/end (MB)",
            f"{rss['start']} / {rss['peak']} / {rss['end']}",
            f"peak - start <= {FLAT_RSS_GROWTH_MB:g}",
            verdict(export["memory_pass"]),
        ),
    ]
    loads = " / ".join(f"{value:.1f}" for value in figures["load_average_1min"].values())
    rows.append(
        ("load average, 1 min (start / after listings / stats / export / console)", loads, "", "")
    )
    print_table("Audit API over the check records", rows, ("figure", "value", "target", "verdict"))


def main() -> None:
    """Load a fresh database, measure, print the table, write bench/results/audit.json."""
    # A reproducible draw of requests, nothing secret.
    rng = random.Random(2026)
    with (
        tempfile.TemporaryDirectory(prefix="bench_audit_") as tmp,
        fresh_database("bench_audit") as database_url,
    ):
        env = bench_env(database_url)
        key = env["NIK_HASH_KEY"].encode("utf-8")
        print(f"generating {RECORDS:,} check records", flush=True)
        data = load(database_url, env, RECORDS, Path(tmp))
        print(f"generated in {data.seconds['total']} s", flush=True)
        engine = create_engine(sqlalchemy_url(database_url))
        log = Path(tmp) / "server.log"
        try:
            sequenced = console_pages.prepare(engine, env, Path(tmp), data.records)
            size = database_size(engine)
            export_params, export_count = export_filter(engine, EXPORT_ROWS)
            # The machine is shared: the load around each phase says how quiet it was.
            loads = {"start": load_average()}
            with serving(env, log) as server:
                auditor = Auditor(server.base, data.auditor_key)
                timings = measure_listings(auditor, engine, data, rng)
                loads["after_listings"] = load_average()
                timings += measure_stats(auditor, data, rng)
                loads["after_stats"] = load_average()
                export = measure_export(auditor, server, export_params)
                loads["after_export"] = load_average()
                timings += console_pages.measure(server.base, data, engine, log, sequenced, rng)
                loads["after_console"] = load_average()
            plans = _plans_of_misses(engine, timings, export, export_params, key)
            # The server's own time for each request (gunicorn's access log, in ms), to
            # set beside the client's.
            RESULTS_DIR.mkdir(exist_ok=True)
            shutil.copyfile(log, RESULTS_DIR / "audit_server.log")
        except Exception:
            print(log.read_text(encoding="utf-8", errors="replace")[-4000:], file=sys.stderr)
            raise
        finally:
            engine.dispose()
    rss = export["worker_rss_mb"]
    export.update(
        filter=export_params,
        rows_expected=export_count,
        rate_pass=export["status"] == 200
        and export["rows"] == export_count
        and export["rows_per_s"] >= TARGET_EXPORT_ROWS_PER_S,
        memory_pass=rss["peak"] - rss["start"] <= FLAT_RSS_GROWTH_MB,
    )
    figures: dict[str, Any] = {
        "records": data.records,
        "niks": len(data.niks),
        "period": [data.first_day.isoformat(), data.today.isoformat()],
        "nik_decisions": data.decisions,
        "generation_seconds": data.seconds,
        "size": size,
        "timings": {timing.name: timing.figures() for timing in timings},
        "export": export,
        "plans_of_misses": plans,
        "load_average_1min": loads,
        "method": __doc__,
    }
    report(figures, timings)
    for name, plan in plans.items():
        print(f"\nEXPLAIN (ANALYZE, BUFFERS) behind '{name}':\n{plan}")
    path = write_results("audit", figures)
    print(f"\nwrote {path}")
    missed = [t.name for t in timings if not t.passed]
    missed += [name for name in ("rate_pass", "memory_pass") if not export[name]]
    if missed:
        sys.exit(f"bench_audit: targets missed: {', '.join(missed)}")


def _plans_of_misses(
    engine: Engine,
    timings: list[Timing],
    export: dict[str, Any],
    export_params: dict[str, str],
    key: bytes,
) -> dict[str, str]:
    """The query plan behind each missed figure, for its slowest request."""
    plans = {}
    for timing in timings:
        # The console's figures are whole pages, not one statement to explain.
        if not timing.passed and not timing.name.startswith("console"):
            kind = "stats" if "group_by" in timing.slowest else "listing"
            plans[timing.name] = explain(engine, kind, timing.slowest, key)
    if export["rows_per_s"] < TARGET_EXPORT_ROWS_PER_S:
        plans["CSV export"] = explain(engine, "export", export_params, key)
    return plans


if __name__ == "__main__":
    main()
