"""Validate each row of a file as it streams past, and find the keys that appear twice."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import call
from pathlib import Path

from service.imports.csvfile import CsvStream, open_csv
from service.imports.fields import FieldError
from service.imports.report import Problem
from service.imports.sources import Source

# A report naming every line of a key repeated thousands of times would bury the other rows.
_LINES_SHOWN = 10


@dataclass(frozen=True)
class Checked:
    """What reading a file found; its good rows were handed on as they were read."""

    rows_read: int
    good: int
    problems: list[Problem]
    # Keys (NIK or code) read from bad rows: those rows are skipped, their key is known.
    skipped_keys: set[str]
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


def check_rows(source: Source, stream: CsvStream, write: Callable[[list[object]], None]) -> Checked:
    """Parse every row of ``stream``, handing each good row to ``write`` as it is read.

    Keys are remembered by their hash only: for 807,000 NIKs a set of hashes takes about
    70 MB, of the NIKs themselves about 90 MB. A repeated hash is resolved into the lines
    of each repeated key by ``duplicates``, which reads the file again.
    """
    seen: set[int] = set()
    repeated: set[int] = set()
    problems: list[Problem] = []
    skipped: set[str] = set()
    good = 0
    for line, cells in stream.rows():
        values, row_problems = parse_row(source, line, cells)
        key = values[0]
        if not row_problems:
            write(values)
            good += 1
        elif isinstance(key, str):
            skipped.add(key)
        if isinstance(key, str):
            digest = hash(key)
            if digest in seen:
                repeated.add(digest)
            else:
                seen.add(digest)
        problems.extend(row_problems)
    problems.extend(stream.problems)
    return Checked(stream.rows_read, good, problems, skipped, repeated)


def duplicates(path: Path, source: Source, repeated: set[int]) -> dict[str, list[int]]:
    """Each key that appears on several lines of the file, with those lines."""
    if not repeated:
        return {}
    parse_key = source.layout[0].parse
    lines: dict[str, list[int]] = {}
    with open_csv(path, source.columns) as stream:
        for line, cells in stream.rows():
            try:
                key = parse_key(cells[0].strip())
            except FieldError:
                continue
            if isinstance(key, str) and hash(key) in repeated:
                lines.setdefault(key, []).append(line)
    return {key: found for key, found in lines.items() if len(found) > 1}


def duplicate_problems(source: Source, repeated_keys: dict[str, list[int]]) -> list[Problem]:
    """One problem per line of a repeated key: which of the rows is right cannot be known."""
    column = source.key_column
    problems: list[Problem] = []
    for lines in repeated_keys.values():
        shown = ", ".join(str(line) for line in lines[:_LINES_SHOWN])
        more = f" and {len(lines) - _LINES_SHOWN} more" if len(lines) > _LINES_SHOWN else ""
        reason = f"the same {column} appears {len(lines)} times in the file (lines {shown}{more})"
        problems.extend(Problem(line, column, reason) for line in lines)
    return problems


def in_file_order(source: Source, problems: list[Problem]) -> list[Problem]:
    """Problems by line, and within a line in the order of the file's columns."""
    order = {column: index for index, column in enumerate(source.columns)}
    return sorted(problems, key=lambda problem: (problem.line, order.get(problem.column or "", -1)))
