"""The one CSV reader of the imports: UTF-8 (BOM allowed), `,` or `;`, any header case."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

from service.imports.report import ImportRejected, Problem

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class CsvRow:
    """One data row: where it starts in the file and its values by column name, stripped."""

    line: int
    values: dict[str, str]


@dataclass(frozen=True)
class CsvTable:
    """The data rows of a file, and the rows whose shape does not match the header."""

    rows: list[CsvRow]
    problems: list[Problem]

    @property
    def rows_read(self) -> int:
        """Every data row, good or bad (blank lines are not rows)."""
        return len(self.rows) + len({problem.line for problem in self.problems})


def column_name(header: str) -> str:
    """A header cell as a column name: case and surrounding spaces ignored, inner spaces ``_``."""
    return _SPACES.sub("_", header.strip().upper())


def decode(data: bytes) -> str:
    """The file's text, or a rejection saying where it is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        problem = Problem(line, None, "this line is not UTF-8 text; save the file as CSV UTF-8")
        raise ImportRejected("the file is not UTF-8 text", [problem]) from exc


def delimiter(text: str) -> str:
    """``;`` when the header line has more semicolons than commas, else ``,``."""
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def _header(fields: list[str], required: Sequence[str]) -> dict[str, int]:
    """Map each required column to its position, or reject the file naming what is wrong."""
    names = [column_name(field) for field in fields]
    problems = []
    for column in required:
        found = names.count(column)
        if found == 0:
            listed = ", ".join(name for name in names if name) or "nothing"
            reason = f"required column {column} is missing (the header has: {listed})"
            problems.append(Problem(1, column, reason))
        elif found > 1:
            problems.append(Problem(1, column, f"column {column} appears {found} times"))
    if problems:
        raise ImportRejected("the header does not have the required columns", problems)
    return {column: names.index(column) for column in required}


def read_table(data: bytes, required: Sequence[str]) -> CsvTable:
    """Read the file's rows; reject it when its encoding or header makes it unreadable."""
    text = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter(text))
    rows: list[CsvRow] = []
    problems: list[Problem] = []
    try:
        header = next(reader, None)
        if header is None:
            raise ImportRejected("the file is empty", [Problem(1, None, "the file is empty")])
        # A header ending in empty cells (a trailing delimiter) has no more columns than its names.
        while header and not header[-1].strip():
            header.pop()
        positions = _header(header, required)
        while True:
            line = reader.line_num + 1
            fields = next(reader, None)
            if fields is None:
                break
            if not any(field.strip() for field in fields):
                continue
            # Spreadsheets often end rows with empty cells past the header; those are harmless.
            while len(fields) > len(header) and not fields[-1].strip():
                fields.pop()
            if len(fields) != len(header):
                reason = (
                    f"the row has {len(fields)} fields but the header has {len(header)}; "
                    "check the delimiter and the quotes"
                )
                problems.append(Problem(line, None, reason))
                continue
            values = {column: fields[at].strip() for column, at in positions.items()}
            rows.append(CsvRow(line, values))
    except csv.Error as exc:
        problem = Problem(reader.line_num + 1, None, f"this line is not readable CSV ({exc})")
        raise ImportRejected("the file is not readable CSV", [problem]) from exc
    if not rows and not problems:
        raise ImportRejected("the file has no data rows", [Problem(1, None, "no data rows")])
    return CsvTable(rows, problems)
