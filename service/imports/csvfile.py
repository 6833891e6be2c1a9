"""The one CSV reader of the imports: UTF-8 (BOM allowed), `,` or `;`, any header case."""

from __future__ import annotations

import codecs
import csv
import hashlib
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import TextIO

from service.imports.report import ImportRejected, Problem, ProblemReport

_SPACES = re.compile(r"\s+")
# Bytes read at a time while the file is checked and digested.
_BLOCK = 1 << 20
# One data row: the line it starts on, and the required columns' values in order.
Row = tuple[int, tuple[str, ...]]


def column_name(header: str) -> str:
    """A header cell as a column name: case and surrounding spaces ignored, inner spaces ``_``."""
    return _SPACES.sub("_", header.strip().upper())


def fingerprint(path: Path) -> str:
    """The file's SHA-256, or a rejection saying on which line it stops being UTF-8."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines_before = 0
    with path.open("rb") as file:
        while chunk := file.read(_BLOCK):
            digest.update(chunk)
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                # The decoder keeps at most the start of one character from the previous chunk,
                # never a line break, so the error's offset counts lines within this chunk.
                raise _not_utf8(lines_before + exc.object.count(b"\n", 0, exc.start) + 1) from exc
            lines_before += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise _not_utf8(lines_before + 1) from exc
    return digest.hexdigest()


def _not_utf8(line: int) -> ImportRejected:
    """The rejection of a file that is not UTF-8 from ``line`` on."""
    problem = Problem(line, None, "this line is not UTF-8 text; save the file as CSV UTF-8")
    return ImportRejected("the file is not UTF-8 text", [problem])


def _positions(fields: list[str], required: Sequence[str]) -> list[int]:
    """Each required column's position, or a rejection naming what is wrong with the header."""
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
    return [names.index(column) for column in required]


def _picker(positions: list[int]) -> Callable[[list[str]], tuple[str, ...]]:
    """A function taking the values at ``positions`` out of a record, as a tuple."""
    if len(positions) == 1:
        return lambda fields: (fields[positions[0]],)
    return itemgetter(*positions)


class CsvStream:
    """The data rows of an open file, read one at a time; rows of the wrong shape are noted."""

    def __init__(self, file: TextIO, required: Sequence[str]) -> None:
        """Read the header: reject the file when it is empty or lacks a required column."""
        first = file.readline()
        if not first:
            raise ImportRejected("the file is empty", [Problem(1, None, "the file is empty")])
        # The delimiter is the one the header line uses most: spreadsheets write `;` or `,`.
        delimiter = ";" if first.count(";") > first.count(",") else ","
        self._reader = csv.reader(itertools.chain([first], file), delimiter=delimiter)
        # The problems of the file's rows, this reader's and those its readers add.
        self.problems = ProblemReport(required)
        self.rows_read = 0
        header = self._next() or []
        # A header ending in empty cells (a trailing delimiter) has no more columns than its names.
        while header and not header[-1].strip():
            header.pop()
        self._width = len(header)
        self._positions = _positions(header, required)

    def _next(self) -> list[str] | None:
        """The next record of the file, or None at its end."""
        try:
            return next(self._reader, None)
        except csv.Error as exc:
            raise self._unreadable(exc) from exc

    def _unreadable(self, exc: csv.Error) -> ImportRejected:
        """The rejection of a file whose next line is not CSV."""
        problem = Problem(self._reader.line_num + 1, None, f"this line is not readable CSV ({exc})")
        return ImportRejected("the file is not readable CSV", [problem])

    def rows(self) -> Iterator[Row]:
        """Each data row of the right shape, its values unstripped; blank lines are not rows."""
        reader, width, pick = self._reader, self._width, _picker(self._positions)
        last = reader.line_num
        try:
            for fields in reader:
                line, last = last + 1, reader.line_num
                # Looking past the first cell only when it is blank keeps this cheap.
                if not fields or (not fields[0].strip() and not "".join(fields).strip()):
                    continue
                self.rows_read += 1
                # Spreadsheets often end rows with empty cells past the header; those are harmless.
                while len(fields) > width and not fields[-1].strip():
                    fields.pop()
                if len(fields) != width:
                    reason = (
                        f"the row has {len(fields)} fields but the header has {width}; "
                        "check the delimiter and the quotes"
                    )
                    self.problems.add_row([Problem(line, None, reason)])
                    continue
                yield line, pick(fields)
        except csv.Error as exc:
            raise self._unreadable(exc) from exc


@contextmanager
def open_csv(path: Path, required: Sequence[str]) -> Iterator[CsvStream]:
    """Open ``path`` (checked as UTF-8 by ``fingerprint``) and read its header."""
    with path.open(encoding="utf-8-sig", newline="") as file:
        yield CsvStream(file, required)


def no_data_rows() -> ImportRejected:
    """The rejection of a file whose header is followed by nothing."""
    return ImportRejected("the file has no data rows", [Problem(1, None, "no data rows")])


def count_rows(path: Path, required: Sequence[str]) -> int:
    """How many data rows the file has, good or bad (blank lines are not rows)."""
    with open_csv(path, required) as stream:
        for _row in stream.rows():
            pass
        return stream.rows_read
