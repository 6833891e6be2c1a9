"""Issue 14, finding 11: a file of a million bad rows is reported in bounded memory and lines.

Before the fix, every problem was kept and printed: a 94 MB file of one million bad rows
took 1.03 GB of memory and printed a two-million-line report. Now the report shows the
first 1,000 problems and counts all of them by kind.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import PopulationRow
from service.imports.report import (
    KINDS_COUNTED,
    OTHER_REASONS,
    PROBLEMS_SHOWN,
    Problem,
    ProblemReport,
    kind_of,
)
from tests.test_imports import person, rejection, run_import, write_csv

BAD_ROWS = 1_000_000
PEAK_RSS_LIMIT_MIB = 300
# --skip-invalid reads the same rows and then writes; a quarter of a million keeps the suite
# quick. Before the fix such a file took about 230 MiB (its problems and skipped keys), now
# the importer's own ~95 MiB and ~20 MiB of key hashes: the bound tells the two apart.
SKIPPED_ROWS = 250_000
SKIPPED_PEAK_RSS_LIMIT_MIB = 180
# The report: the first problems, a line announcing the counts, the kinds, the verdict.
REPORT_LINES_LIMIT = PROBLEMS_SHOWN + 100
POPULATION_HEADER = "NIK,NO_KK,NAMA_LGKP,TGL_LHR,JENIS_KLMIN,KODE_WILAYAH,TGL_DOMISILI,STATUS\n"
# A good row whose NIK (birth day 41: a woman) no bad row has.
GOOD_ROW = "6402014101900001,6402010101090001,Siti,1990-01-01,P,64.02.01.2001,1990-01-01,HIDUP\n"
# The jamkesda command run in a child Python that prints its own peak memory when it ends:
# VmHWM, the peak of its own address space. Not getrusage's ru_maxrss, which Linux keeps
# across execve and so would report the pytest process the child was forked from.
MEASURED_CLI = (
    "import atexit, sys\n"
    "from pathlib import Path\n"
    "from service.cli import main\n"
    "def peak():\n"
    "    for line in Path('/proc/self/status').read_text().splitlines():\n"
    "        if line.startswith('VmHWM:'):\n"
    "            print('peak_rss_kib', line.split()[1], file=sys.stderr)\n"
    "atexit.register(peak)\n"
    "sys.argv[0] = 'jamkesda'\n"
    "main()\n"
)
PEAK = re.compile(r"^peak_rss_kib (\d+)$")
linux_only = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="the peak is read from Linux's /proc"
)


def write_bad_population(path: Path, rows: int, good_row: str = "") -> Path:
    """``rows`` population rows, each with two bad values, written as they are made.

    Each row has its own valid NIK and a date that differs from row to row, so that the
    kinds of problem cannot be counted by their text alone.
    """
    with path.open("w", encoding="utf-8", newline="") as file:
        file.write(POPULATION_HEADER)
        for index in range(rows):
            serial, day = 1 + index % 9999, 1 + (index // 9999) % 28
            month = 1 + (index // (9999 * 28)) % 12
            file.write(
                f"640201{day:02d}{month:02d}90{serial:04d},6402010101090001,Siti Rahmah {index},"
                f"{day:02d}-13-1990,X,64.02.01.2001,1990-01-01,HIDUP\n"
            )
        file.write(good_row)
    return path


def run_measured(env: dict[str, str], *args: str) -> tuple[int, list[str], float]:
    """Run ``jamkesda ARGS`` in a child process: its exit code, report lines and peak MiB."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURED_CLI, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = done.stderr.splitlines()
    peak = PEAK.match(lines[-1]) if lines else None
    assert peak, done.stderr[-2000:]
    return done.returncode, lines[:-1], int(peak[1]) / 1024


def expected_kinds(rows: int) -> list[str]:
    """The counts by kind that end the report of ``write_bad_population``'s rows."""
    return [
        f"{rows:>10}  column TGL_LHR: <value> is not a real calendar date",
        f"{rows:>10}  column JENIS_KLMIN: <value> is not one of LAKI-LAKI, PEREMPUAN, L, P",
    ]


@linux_only
def test_a_million_bad_rows_are_rejected_in_bounded_memory_and_lines(
    engine: Engine, env: dict[str, str], tmp_path: Path
) -> None:
    """The issue's case: 97 MB, one million bad rows, two problems each (about 30 s)."""
    path = write_bad_population(tmp_path / "population.csv", BAD_ROWS, GOOD_ROW)
    code, report, peak_mib = run_measured(
        env, "import", "population", str(path), "--as-of", "2026-11-01"
    )

    assert code == 1, report[-5:]
    assert peak_mib < PEAK_RSS_LIMIT_MIB, f"peak {peak_mib:.0f} MiB"
    assert len(report) <= REPORT_LINES_LIMIT
    # The first problems of the file, whole and in file order; line 2 is the first data row.
    assert report[:2] == [
        "line 2, column TGL_LHR: '01-13-1990' is not a real calendar date",
        "line 2, column JENIS_KLMIN: 'X' is not one of LAKI-LAKI, PEREMPUAN, L, P",
    ]
    assert report[PROBLEMS_SHOWN - 1].startswith(f"line {PROBLEMS_SHOWN // 2 + 1}, ")
    total = 2 * BAD_ROWS
    assert report[PROBLEMS_SHOWN:] == [
        f"{PROBLEMS_SHOWN} of {total} problems shown above, the first in the file; "
        f"all {total} problems, in {BAD_ROWS} rows, by kind:",
        *expected_kinds(BAD_ROWS),
        f"file rejected, nothing changed: {BAD_ROWS} of {BAD_ROWS + 1} rows are invalid",
        report[-1],
    ]
    assert report[-1].startswith(f"rows read {BAD_ROWS + 1}, added 0,")
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(PopulationRow)) == 0


@linux_only
def test_skipped_rows_are_reported_in_bounded_memory_and_lines(
    engine: Engine, env: dict[str, str], tmp_path: Path
) -> None:
    """``--skip-invalid`` keeps the skipped rows' keys on disk, not in memory."""
    path = write_bad_population(tmp_path / "population.csv", SKIPPED_ROWS, GOOD_ROW)
    code, report, peak_mib = run_measured(
        env,
        "import",
        "population",
        str(path),
        "--as-of",
        "2026-11-01",
        "--skip-invalid",
    )

    assert code == 0, report[-5:]
    assert peak_mib < SKIPPED_PEAK_RSS_LIMIT_MIB, f"peak {peak_mib:.0f} MiB"
    assert len(report) <= REPORT_LINES_LIMIT
    assert report[0] == "skipped line 2, column TGL_LHR: '01-13-1990' is not a real calendar date"
    assert report[PROBLEMS_SHOWN + 1 :] == expected_kinds(SKIPPED_ROWS)
    with Session(engine) as session:
        assert session.scalars(select(PopulationRow.nik)).all() == [GOOD_ROW[:16]]


def test_the_report_keeps_the_first_problems_in_file_order_whatever_order_they_come_in() -> None:
    report = ProblemReport(("NIK", "TGL_LHR"), shown=3)
    for problem in (
        Problem(9, "NIK", "late"),
        Problem(4, "TGL_LHR", "'x' is not a date"),
        Problem(7, None, "the row has 3 fields but the header has 8"),
        Problem(4, "NIK", "the same NIK appears 2 times in the file (lines 4, 9)"),
        Problem(2, "TGL_LHR", "'y' is not a date"),
    ):
        report.add(problem)

    assert [(p.line, p.column) for p in report.shown()] == [
        (2, "TGL_LHR"),
        (4, "NIK"),
        (4, "TGL_LHR"),
    ]
    assert report.total == 5
    assert report.kinds() == [
        ("TGL_LHR", "<value> is not a date", 2),
        ("NIK", "late", 1),
        (None, "the row has <n> fields but the header has 8", 1),
        ("NIK", "the same NIK appears <n> times in the file", 1),
    ]


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("'31-13-1990' is not a real calendar date", "<value> is not a real calendar date"),
        ('"it\'s" is not one of HIDUP, MATI, PINDAH', "<value> is not one of HIDUP, MATI, PINDAH"),
        ("is 120 characters long; at most 100 fit", "is <n> characters long; at most 100 fit"),
        ("2026-01-01 is before TGL_MULAI 2026-02-01", "<date> is before TGL_MULAI <date>"),
        (
            "'x' is not a village code; write it 64.02.01.2001 or 6402012001",
            "<value> is not a village code; write it 64.02.01.2001 or 6402012001",
        ),
        ("must be 16 digits", "must be 16 digits"),
        (
            "not a valid NIK: its province code is not 11-99",
            "not a valid NIK: its province code is not 11-99",
        ),
    ],
)
def test_a_kind_is_the_reason_without_the_rows_own_values(reason: str, kind: str) -> None:
    assert kind_of(reason) == kind


def test_kinds_past_the_bound_are_counted_together_per_column() -> None:
    """A reason that keeps a value no pattern takes out cannot grow the counts without end."""
    report = ProblemReport(("NAMA_LGKP",))
    for line in range(2, KINDS_COUNTED + 12):
        report.add(Problem(line, "NAMA_LGKP", f"reason number {line}"))

    kinds = report.kinds()
    assert len(kinds) == KINDS_COUNTED + 1
    assert ("NAMA_LGKP", OTHER_REASONS, 10) in kinds
    assert sum(count for _column, _kind, count in kinds) == report.total == KINDS_COUNTED + 10


def test_a_bad_row_whose_key_is_repeated_counts_once_among_the_invalid_rows(
    engine: Engine, tmp_path: Path
) -> None:
    rows = [person(1), person(1, TGL_LHR="x"), person(2, TGL_LHR="x"), person(3)]
    rejected = rejection(engine, "population", write_csv(tmp_path / "p.csv", rows))
    assert rejected.reason == "3 of 4 rows are invalid"
    assert rejected.found.bad_rows == 3
    assert rejected.found.total == 4


def test_skipped_keys_are_given_once_each(engine: Engine, tmp_path: Path) -> None:
    """A key on two bad lines, and a key repeated on good lines, are both skipped once."""
    rows = [
        person(1, TGL_LHR="x"),
        person(1, STATUS="HILANG"),
        person(2),
        person(2),
        person(3, TGL_LHR="x"),
        person(4),
    ]
    result = run_import(
        engine, "population", write_csv(tmp_path / "p.csv", rows), skip_invalid=True
    )
    assert (result.added, result.found.bad_rows) == (1, 5)
