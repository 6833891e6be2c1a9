"""``jamkesda import``: summary, report of bad rows, and exit codes 0, 1 and 2."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import PopulationRow, Snapshot
from service import clock
from service.imports.command import import_command
from tests.test_imports import facility, person, write_csv

COUNTS_LINE = re.compile(
    r"rows read (\d+), added (\d+), changed (\d+), removed (\d+), unchanged (\d+), \d+\.\d\d s"
)


def invoke(env: dict[str, str], *args: str) -> Result:
    """Run the command in-process with the test environment."""
    return CliRunner().invoke(import_command, list(args), env=env, catch_exceptions=False)


def counts(line: str) -> tuple[int, ...]:
    """The numbers of a summary counts line."""
    match = COUNTS_LINE.fullmatch(line)
    assert match, line
    return tuple(int(number) for number in match.groups())


def test_import_prints_the_summary_and_exits_0(
    engine: Engine, env: dict[str, str], tmp_path: Path
) -> None:
    """The last line gives rows read, added, changed, removed, unchanged and seconds."""
    path = write_csv(tmp_path / "p.csv", [person(1), person(2)])
    result = invoke(env, "population", str(path), "--as-of", "2026-11-01")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "as of 2026-11-01 is now in force" in lines[0]
    assert counts(lines[-1]) == (2, 2, 0, 0, 0)
    with Session(engine) as session:
        assert session.scalars(select(Snapshot.as_of)).all() == [date(2026, 11, 1)]


def test_as_of_defaults_to_today_in_wita(
    engine: Engine, env: dict[str, str], tmp_path: Path
) -> None:
    """Without --as-of the file is dated today in Kukar's time zone."""
    result = invoke(env, "facilities", str(write_csv(tmp_path / "f.csv", [facility()])))
    assert result.exit_code == 0, result.stderr
    with Session(engine) as session:
        as_of = session.scalars(select(Snapshot.as_of)).one()
    assert as_of == clock.today(ZoneInfo("Asia/Makassar"))


def test_source_name_is_case_insensitive(
    engine: Engine, env: dict[str, str], tmp_path: Path
) -> None:
    """``JKN`` and ``jkn`` are the same source."""
    path = tmp_path / "k.csv"
    path.write_text("NIK,NO_KARTU,STATUS,SEGMEN\n6402014101900001,1,AKTIF,PPU\n")
    result = invoke(env, "JKN", str(path), "--as-of", "2026-11-01")
    assert result.exit_code == 0, result.stderr
    with Session(engine) as session:
        assert session.scalars(select(Snapshot.source)).one() == "jkn"


def test_bad_rows_are_reported_on_stderr_and_exit_1(
    engine: Engine, env: dict[str, str], tmp_path: Path
) -> None:
    """Every bad row, one a line, and nothing imported."""
    rows = [person(1), person(2, TGL_LHR="1990-02-30"), person(3, STATUS="HILANG")]
    result = invoke(env, "population", str(write_csv(tmp_path / "p.csv", rows)))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "line 3, column TGL_LHR: '1990-02-30' is not a real calendar date"
    assert lines[1] == "line 4, column STATUS: 'HILANG' is not one of HIDUP, MATI, PINDAH"
    assert lines[2] == "file rejected, nothing changed: 2 of 3 rows are invalid"
    assert counts(lines[3]) == (3, 0, 0, 0, 0)
    assert result.stdout == ""
    with Session(engine) as session:
        assert session.scalars(select(Snapshot)).all() == []
        assert session.scalars(select(PopulationRow)).all() == []


def test_skip_invalid_reports_skipped_rows_and_exits_0(
    engine: Engine, env: dict[str, str], tmp_path: Path
) -> None:
    """The skipped rows go to stderr, the summary to stdout."""
    rows = [person(1), person(2, NO_KK="12")]
    path = write_csv(tmp_path / "p.csv", rows)
    result = invoke(env, "population", str(path), "--skip-invalid", "--as-of", "2026-11-01")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "skipped line 3, column NO_KK: must be 16 digits\n"
    lines = result.stdout.splitlines()
    assert "skipped 1 invalid rows (listed above)" in lines
    assert counts(lines[-1]) == (2, 1, 0, 0, 0)


def test_identical_reimport_says_so(engine: Engine, env: dict[str, str], tmp_path: Path) -> None:
    """The same file under a new date changes nothing, and the operator is told."""
    path = write_csv(tmp_path / "p.csv", [person(1)])
    assert invoke(env, "population", str(path), "--as-of", "2026-11-01").exit_code == 0
    result = invoke(env, "population", str(path), "--as-of", "2026-11-20")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(
        r"identical to population snapshot \d+ imported earlier: nothing changed", lines[0]
    )
    assert counts(lines[-1]) == (1, 0, 0, 0, 0)


def test_older_dated_import_says_it_is_kept_as_history(
    engine: Engine, env: dict[str, str], tmp_path: Path
) -> None:
    """An import dated before the snapshot in force is stored but does not replace it."""
    newer = write_csv(tmp_path / "a.csv", [person(1)])
    assert invoke(env, "population", str(newer), "--as-of", "2026-11-20").exit_code == 0
    older = write_csv(tmp_path / "b.csv", [person(2)])
    result = invoke(env, "population", str(older), "--as-of", "2026-11-01")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "is dated before the snapshot in force: kept as history only, not in force" in lines[0]
    assert counts(lines[-1]) == (1, 1, 0, 1, 0)


@pytest.mark.parametrize(
    "args",
    [
        ["people", "{file}"],
        ["population", "{missing}"],
        ["population", "{file}", "--as-of", "01-11-2026"],
        ["population", "{file}", "--as-of", "2026-02-30"],
        ["population", "{file}", "--as-of", "20261101"],
        ["population", "{file}", "--as-of", "{tomorrow}"],
        ["population"],
        ["population", "{file}", "--unknown"],
    ],
)
def test_bad_usage_exits_2_and_imports_nothing(
    engine: Engine, env: dict[str, str], tmp_path: Path, args: list[str]
) -> None:
    """Unknown source, missing file, a bad or future --as-of, a missing argument."""
    file = write_csv(tmp_path / "p.csv", [person(1)])
    tomorrow = clock.today(ZoneInfo("Asia/Makassar")) + timedelta(days=1)
    values = {"file": str(file), "missing": str(tmp_path / "nope.csv"), "tomorrow": str(tomorrow)}
    result = invoke(env, *(arg.format(**values) for arg in args))
    assert result.exit_code == 2
    with Session(engine) as session:
        assert session.scalars(select(Snapshot)).all() == []


def test_command_line_process_exit_codes(
    engine: Engine, env: dict[str, str], tmp_path: Path
) -> None:
    """A real process: 0 on success, 1 on bad data, 2 on bad usage."""
    run = [sys.executable, "-c", "from service.imports.command import import_command as c; c()"]
    good = write_csv(tmp_path / "good.csv", [facility("A")])
    bad = write_csv(tmp_path / "bad.csv", [facility("B", JENIS="APOTEK")])

    def status(*args: str) -> subprocess.CompletedProcess[str]:
        """Run the command with ``args``."""
        return subprocess.run(
            [*run, *args], env=env, capture_output=True, text=True, timeout=60, check=False
        )

    ok = status("facilities", str(good), "--as-of", "2026-11-01")
    assert ok.returncode == 0, ok.stderr
    assert counts(ok.stdout.splitlines()[-1]) == (1, 1, 0, 0, 0)
    rejected = status("facilities", str(bad))
    assert rejected.returncode == 1
    assert rejected.stderr.startswith("line 2, column JENIS: 'APOTEK' is not one of")
    assert status("hospitals", str(good)).returncode == 2


def test_unreadable_file_exits_2(
    engine: Engine, env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file the operator may not read is a usage error, not a crash."""
    path = write_csv(tmp_path / "p.csv", [person(1)])
    opened = Path.open

    def refuse(self: Path, *args: Any, **kwargs: Any) -> Any:
        """Fail like a file without read permission, for this file only."""
        if self == path:
            raise PermissionError(13, "Permission denied")
        return opened(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    result = invoke(env, "population", str(path))
    assert result.exit_code == 2
    assert result.stderr == f"error: cannot read {path}: Permission denied\n"
