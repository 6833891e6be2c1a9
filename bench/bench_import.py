"""Benchmark 4 of issue 3: importing the 807,000-row population file against a plain COPY.

In one run, on fresh PostgreSQL databases: a plain ``COPY`` of population.csv into a bare
table with a primary key on NIK; ``jamkesda import population`` of the same file (the real
command line, as a child process) into an empty database; a re-import of the same snapshot
with 1% of the rows changed, as of a later date, whose only new history rows must be the
changed ones; the plain ``COPY`` again. Each import's peak memory is that child's maximum
resident set. The Jamkesda and JKN files of the same data set are imported too (timed only).

Run: ``.venv/bin/python -m bench.bench_import``. Settings (environment): BENCH_RESIDENTS
(default 807,000), BENCH_DATABASE_URL (the PostgreSQL server).
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import create_engine, text

from bench.common import bench_env, fresh_database, print_table, write_results
from service import clock
from service.db import sqlalchemy_url
from service.synthetic import write_dataset

RESIDENTS = int(os.environ.get("BENCH_RESIDENTS", "807000"))
SEED = 2026
# Every hundredth row changes: 1% of the rows, exactly when the count divides by 100.
CHANGE_EVERY = 100
TARGET_RATIO = 3.0
TARGET_RSS_MB = 300.0
JAMKESDA = Path(sys.executable).parent / "jamkesda"
BARE_TABLE = """
CREATE TABLE population (
    nik varchar(16) PRIMARY KEY, no_kk varchar(16), nama_lgkp varchar(200), tgl_lhr date,
    jenis_klmin varchar(16), kode_wilayah varchar(16), tgl_domisili date, status varchar(8)
)
"""
COUNTS = re.compile(r"rows read (\d+), added (\d+), changed (\d+), removed (\d+), unchanged (\d+)")


def write_changed_copy(source: Path, target: Path) -> int:
    """Copy the population file, moving every hundredth TGL_DOMISILI a day; how many changed."""
    changed = 0
    with (
        source.open(encoding="utf-8", newline="") as infile,
        target.open("w", encoding="utf-8", newline="") as outfile,
    ):
        reader, writer = csv.reader(infile), csv.writer(outfile)
        header = next(reader)
        writer.writerow(header)
        since, born = header.index("TGL_DOMISILI"), header.index("TGL_LHR")
        for number, row in enumerate(reader, start=1):
            if number % CHANGE_EVERY == 0:
                # Moved and dead people may have no domicile date: they get their birth date.
                old = row[since]
                moved = date.fromisoformat(old) + timedelta(days=1) if old else None
                row[since] = moved.isoformat() if moved else row[born]
                changed += 1
            writer.writerow(row)
    return changed


def plain_copy(path: Path) -> float:
    """Seconds to COPY the file into a bare table with a primary key, committed."""
    with fresh_database("bench_copy") as url, psycopg.connect(url) as connection:
        connection.execute(BARE_TABLE)
        connection.commit()
        started = time.perf_counter()
        with (
            connection.cursor() as cursor,
            cursor.copy("COPY population FROM STDIN (FORMAT csv, HEADER true)") as copy,
            path.open("rb") as file,
        ):
            while data := file.read(1 << 20):
                copy.write(data)
        connection.commit()
        return time.perf_counter() - started


def run_import(env: Mapping[str, str], source: str, path: Path, as_of: date) -> dict[str, Any]:
    """Run ``jamkesda import`` as a child process: seconds, peak memory, the summary's counts."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(
            [str(JAMKESDA), "import", source, str(path), "--as-of", as_of.isoformat()],
            env=env,
            stdout=out,
            stderr=err,
        )
        # wait4 gives this child's own peak resident set, not the largest of all children.
        _pid, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    match = COUNTS.search(stdout)
    if child.returncode != 0 or match is None:
        raise RuntimeError(f"jamkesda import {source} failed:\n{stdout}\n{stderr}")
    names = ("rows_read", "added", "changed", "removed", "unchanged")
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        **dict(zip(names, map(int, match.groups()), strict=True)),
    }


def history(url: str) -> dict[str, int]:
    """The population versions: all of them, and those the last snapshot opened and closed."""
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as connection:
            last = connection.scalar(
                text("SELECT max(id) FROM snapshots WHERE source = 'population'")
            )
            row = connection.execute(
                text(
                    "SELECT count(*), count(*) FILTER (WHERE valid_from = :last), "
                    "count(*) FILTER (WHERE valid_to = :last) FROM population_rows"
                ),
                {"last": last},
            ).one()
    finally:
        engine.dispose()
    return {"versions": row[0], "opened": row[1], "closed": row[2]}


def measure(folder: Path) -> dict[str, Any]:
    """Generate the files, then COPY, import, re-import, the other imports, and COPY again."""
    today = clock.today(ZoneInfo("Asia/Makassar"))
    first, later = today - timedelta(days=14), today - timedelta(days=7)
    started = time.perf_counter()
    dataset = write_dataset(folder / "data", RESIDENTS, SEED, first)
    population = dataset.files["population"]
    changed_file = folder / "population-changed.csv"
    changed = write_changed_copy(population, changed_file)
    print(f"wrote the files in {time.perf_counter() - started:.1f} s", flush=True)
    copy_before = plain_copy(population)
    print(f"plain COPY: {copy_before:.2f} s", flush=True)
    with fresh_database("bench_import") as url:
        env = bench_env(url)
        subprocess.run([str(JAMKESDA), "db", "upgrade"], env=env, check=True, capture_output=True)
        imported = run_import(env, "population", population, first)
        print(f"import: {imported}", flush=True)
        reimported = run_import(env, "population", changed_file, later)
        print(f"re-import: {reimported}", flush=True)
        versions = history(url)
        others = {
            source: run_import(env, source, dataset.files[source], first)
            for source in ("jamkesda", "jkn")
        }
    copy_after = plain_copy(population)
    print(f"plain COPY again: {copy_after:.2f} s", flush=True)
    copy = (copy_before + copy_after) / 2
    return {
        "residents": dataset.people,
        "file_mb": round(population.stat().st_size / 2**20, 1),
        "copy_seconds": [round(copy_before, 2), round(copy_after, 2)],
        "copy_mean_seconds": round(copy, 2),
        "import": {**imported, "ratio_to_copy": round(imported["seconds"] / copy, 2)},
        "reimport": {
            **reimported,
            "ratio_to_copy": round(reimported["seconds"] / copy, 2),
            "rows_changed_in_file": changed,
            **versions,
        },
        "other_imports": others,
    }


def verdict(passed: bool) -> str:
    """The table's word for a figure against its target."""
    return "pass" if passed else "FAIL"


def checks(figures: dict[str, Any]) -> list[tuple[str, Any, Any, bool]]:
    """Each figure with a target: its name, value, target and whether it is met."""
    first, again = figures["import"], figures["reimport"]
    changed = again["rows_changed_in_file"]
    ratio, ratio_again = first["ratio_to_copy"], again["ratio_to_copy"]
    rss, rss_again = first["peak_rss_mb"], again["peak_rss_mb"]
    added_or_removed = again["added"] + again["removed"]
    return [
        ("import / COPY", ratio, f"<= {TARGET_RATIO}", ratio <= TARGET_RATIO),
        ("import: rows added", first["added"], RESIDENTS, first["added"] == RESIDENTS),
        ("import peak RSS (MB)", rss, f"<= {TARGET_RSS_MB}", rss <= TARGET_RSS_MB),
        ("re-import / COPY", ratio_again, f"<= {TARGET_RATIO}", ratio_again <= TARGET_RATIO),
        ("re-import: rows changed", again["changed"], changed, again["changed"] == changed),
        ("re-import: added + removed", added_or_removed, 0, added_or_removed == 0),
        ("re-import: versions opened", again["opened"], changed, again["opened"] == changed),
        ("re-import: versions closed", again["closed"], changed, again["closed"] == changed),
        ("re-import peak RSS (MB)", rss_again, f"<= {TARGET_RSS_MB}", rss_again <= TARGET_RSS_MB),
    ]


def report(figures: dict[str, Any]) -> None:
    """Print the table of figures against their targets."""
    first, again = figures["import"], figures["reimport"]
    rows: list[tuple[Any, ...]] = [
        ("plain COPY (s), before and after", figures["copy_seconds"], "", ""),
        (f"import {figures['residents']} rows, empty database (s)", first["seconds"], "", ""),
        ("re-import, 1% changed (s)", again["seconds"], "", ""),
    ]
    for name, value, target, passed in checks(figures):
        rows.append((name, value, target, verdict(passed)))
    for source, other in figures["other_imports"].items():
        rows.append((f"import {source}, {other['rows_read']} rows (s)", other["seconds"], "", ""))
    header = ("figure", "value", "target", "verdict")
    print_table("Import: population file against a plain COPY", rows, header)


def main() -> None:
    """Measure, print the table, write bench/results/import.json; fail when a target is missed."""
    with tempfile.TemporaryDirectory(prefix="bench_import_") as tmp:
        figures = measure(Path(tmp))
    figures["method"] = (
        "Timed from the parent: plain COPY = psycopg COPY FROM STDIN (FORMAT csv) of the file "
        "into a bare table (primary key on NIK) on a fresh database, then COMMIT; its mean "
        "before and after the imports is the reference. Imports = the `jamkesda import` child "
        "process from start to exit (start-up, reading, checking, writing, COMMIT); peak RSS "
        "from wait4(). The re-import moves TGL_DOMISILI of every hundredth row by a day."
    )
    report(figures)
    path = write_results("import", figures)
    print(f"\nwrote {path}")
    failed = [name for name, _value, _target, passed in checks(figures) if not passed]
    if failed:
        sys.exit(f"bench_import: targets missed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
