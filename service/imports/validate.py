"""Validate each row of a file as it streams past, and find the keys that appear twice."""

from __future__ import annotations

import json
import tempfile
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from operator import call
from pathlib import Path

from service.imports.csvfile import CsvStream, open_csv
from service.imports.fields import FieldError
from service.imports.report import Problem, ProblemReport
from service.imports.sources import Source

# A report naming every line of a key repeated thousands of times would bury the other rows.
_LINES_SHOWN = 10


class SkippedKeys:
    """The keys of a file's bad rows, spooled to an unnamed temporary file as they are read.

    Held in a set, a million skipped NIKs took about 110 MB; on disk they take 19 MB and
    the memory stays flat. A key is skipped twice only if it is on two lines of the file,
    so only the keys whose hash is repeated need a set to be given once each.
    """

    def __init__(self) -> None:
        """No file until the first key."""
        self._file: tempfile.SpooledTemporaryFile[str] | None = None

    def add(self, key: str) -> None:
        """Spool ``key`` (JSON, so that a code holding a line break stays one line)."""
        if self._file is None:
            # Up to 1 MiB stays in memory: a file with a few bad rows never touches the disk.
            # It stays open across calls and is closed by ``unique`` (or with the object).
            self._file = tempfile.SpooledTemporaryFile(1 << 20, "w+", encoding="utf-8")  # noqa: SIM115
        self._file.write(json.dumps(key) + "\n")

    def unique(self, repeated_hashes: set[int], repeated_keys: set[str]) -> Iterator[str]:
        """Each skipped key once, then each repeated key not skipped; the spool is closed."""
        twice: set[str] = set(repeated_keys)
        if self._file is not None:
            with self._file as file:
                file.seek(0)
                for line in file:
                    key = json.loads(line)
                    if hash(key) in repeated_hashes:
                        twice.add(key)
                    else:
                        yield key
            self._file = None
        yield from twice


@dataclass(frozen=True)
class Checked:
    """What reading a file found; its good rows were handed on as they were read."""

    rows_read: int
    good: int
    # Bounded: the first problems and a count of each kind (a file may have millions).
    problems: ProblemReport
    # Keys (NIK or code) read from bad rows: those rows are skipped, their key is known.
    # Kept only when bad rows are skipped: a rejected file needs none of them.
    skipped_keys: SkippedKeys
    # The hashes of keys read more than once (or, rarely, of different keys that collide).
    repeated: set[int]


def parse_row(
    source: Source, line: int, cells: Sequence[str]
) -> tuple[list[object], list[Problem]]:
    """A row's stored values (None where bad) and its problems."""
    try:
        # Nearly every row is good: one pass without bookkeeping, looped in C, is the fastest.
        values = list(map(call, source.parsers, map(str.strip, cells)))
    except FieldError:
        return _parse_bad_row(source, line, cells)
    return values, [Problem(line, column, reason) for column, reason in source.check(values, ())]


def _parse_bad_row(
    source: Source, line: int, cells: Sequence[str]
) -> tuple[list[object], list[Problem]]:
    """A row with a bad value: every column's problem, and the problems across columns."""
    values: list[object] = []
    problems: list[Problem] = []
    for column, cell in zip(source.layout, cells, strict=True):
        try:
            values.append(column.parse(cell.strip()))
        except FieldError as exc:
            values.append(None)
            problems.append(Problem(line, column.header, str(exc)))
    failed = {problem.column for problem in problems if problem.column}
    for header, reason in source.check(values, failed):
        problems.append(Problem(line, header, reason))
    return values, problems


def check_rows(
    source: Source,
    stream: CsvStream,
    write: Callable[[list[object]], None],
    keep_skipped_keys: bool = True,
) -> Checked:
    """Parse every row of ``stream``, handing each good row to ``write`` as it is read.

    Keys are remembered by their hash only: for 807,000 NIKs a set of hashes takes about
    70 MB, of the NIKs themselves about 90 MB. A repeated hash is resolved into the lines
    of each repeated key by ``report_duplicates``, which reads the file again. Problems go
    to the stream's report, which keeps the first ones and counts the rest.
    """
    seen: set[int] = set()
    repeated: set[int] = set()
    problems = stream.problems
    skipped = SkippedKeys()
    good = 0
    for line, cells in stream.rows():
        values, row_problems = parse_row(source, line, cells)
        key = values[0]
        if not row_problems:
            write(values)
            good += 1
        else:
            problems.add_row(row_problems)
            if keep_skipped_keys and isinstance(key, str):
                skipped.add(key)
        if isinstance(key, str):
            digest = hash(key)
            if digest in seen:
                repeated.add(digest)
            else:
                seen.add(digest)
    return Checked(stream.rows_read, good, problems, skipped, repeated)


def report_duplicates(
    path: Path, source: Source, repeated: set[int], problems: ProblemReport
) -> set[str]:
    """Report each line of a key that appears on several lines; return those keys.

    Which of the rows is right cannot be known, so every one of them is a problem. A line
    number takes 4 bytes (``array``), so even a file of one key repeated a million times
    stays small; a row that was bad already is not counted again among the bad rows.
    """
    if not repeated:
        return set()
    parse_key = source.layout[0].parse
    lines: dict[str, array[int]] = {}
    # The lines, by key, of rows that had no other problem.
    clean: dict[str, int] = {}
    with open_csv(path, source.columns) as stream:
        for line, cells in stream.rows():
            try:
                key = parse_key(cells[0].strip())
            except FieldError:
                continue
            if isinstance(key, str) and hash(key) in repeated:
                lines.setdefault(key, array("I")).append(line)
                if not parse_row(source, line, cells)[1]:
                    clean[key] = clean.get(key, 0) + 1
    keys = {key for key, found in lines.items() if len(found) > 1}
    for key in keys:
        _report_repeated(source.key_column, lines[key], problems)
        problems.count_bad_rows(clean.get(key, 0))
    return keys


def _report_repeated(column: str, lines: Sequence[int], problems: ProblemReport) -> None:
    """One problem per line of a repeated key, each naming the first lines it is on."""
    shown = ", ".join(str(line) for line in lines[:_LINES_SHOWN])
    more = f" and {len(lines) - _LINES_SHOWN} more" if len(lines) > _LINES_SHOWN else ""
    reason = f"the same {column} appears {len(lines)} times in the file (lines {shown}{more})"
    for line in lines:
        problems.add(Problem(line, column, reason))
