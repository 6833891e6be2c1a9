"""Validate every row of a file before anything changes, and find keys that appear twice."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from service.imports.csvfile import CsvTable
from service.imports.report import Problem
from service.imports.sources import Record, RowReader, Source

# A report naming every line of a key repeated thousands of times would bury the other rows.
_LINES_SHOWN = 10


@dataclass(frozen=True)
class Validated:
    """The good rows by key, the problems of the bad ones, and the keys of bad rows."""

    records: dict[str, Record]
    problems: list[Problem]
    # Keys (NIK or code) read from bad rows: those rows are skipped, their key is known.
    skipped_keys: set[str]


def _duplicate_reason(column: str, lines: list[int]) -> str:
    """Why a key that appears on several lines makes each of those rows bad."""
    shown = ", ".join(str(line) for line in lines[:_LINES_SHOWN])
    more = f" and {len(lines) - _LINES_SHOWN} more" if len(lines) > _LINES_SHOWN else ""
    return f"the same {column} appears {len(lines)} times in the file (lines {shown}{more})"


def validate(source: Source, table: CsvTable) -> Validated:
    """Parse every row of ``table``; a row is good only when all its values and its key are."""
    parsed: list[tuple[int, Record, list[Problem]]] = []
    lines_by_key: defaultdict[str, list[int]] = defaultdict(list)
    for row in table.rows:
        reader = RowReader(row)
        record = source.parse(reader)
        key = record[source.fields[0]]
        if isinstance(key, str):
            lines_by_key[key].append(row.line)
        parsed.append((row.line, record, reader.problems))

    records: dict[str, Record] = {}
    problems = list(table.problems)
    skipped_keys: set[str] = set()
    order = {column: index for index, column in enumerate(source.columns)}
    for line, record, row_problems in parsed:
        key = record[source.fields[0]]
        if isinstance(key, str) and len(lines_by_key[key]) > 1:
            reason = _duplicate_reason(source.key_column, lines_by_key[key])
            row_problems.append(Problem(line, source.key_column, reason))
        if row_problems:
            problems.extend(sorted(row_problems, key=lambda p: order.get(p.column or "", -1)))
            if isinstance(key, str):
                skipped_keys.add(key)
        else:
            records[str(key)] = record
    problems.sort(key=lambda problem: problem.line)
    return Validated(records, problems, skipped_keys)
