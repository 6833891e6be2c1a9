"""What an import reports: each bad row's problem, a rejection, the result and its summary."""

from __future__ import annotations

import functools
import heapq
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

# A report lists this many problems one by one, the first in the file; a file of a million
# bad rows must not make a report (and a memory) of millions of lines (issue 14, finding 11).
PROBLEMS_SHOWN = 1000
# How many kinds of problem are counted apart; past that (a reason holding a value that no
# pattern below takes out), the rest are counted together per column, so memory stays bounded.
KINDS_COUNTED = 200
OTHER_REASONS = "other reasons"
# The parts of a reason that belong to one row: a quoted value, a date, the lines a repeated
# key is on, and the counts of fields, occurrences or characters.
_ROW_PARTS = re.compile(
    r"(?P<value>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<date>\b[0-9]{4}-[0-9]{2}-[0-9]{2}\b)"
    r"|(?P<lines> \(lines [^)]*\))"
    r"|(?P<count>\b[0-9]+\b)(?= (?:fields|times|characters)\b)"
)
_PLACEHOLDERS = {"value": "<value>", "date": "<date>", "lines": "", "count": "<n>"}


@dataclass(frozen=True)
class Problem:
    """Why one row (or the file's header) cannot be imported; line 1 is the header line."""

    line: int
    column: str | None
    reason: str

    def __str__(self) -> str:
        """The report line an operator reads: ``line 12, column TGL_LHR: ...``."""
        where = (
            f"line {self.line}"
            if self.column is None
            else f"line {self.line}, column {self.column}"
        )
        return f"{where}: {self.reason}"


def counts_line(
    rows_read: int, added: int, changed: int, removed: int, unchanged: int, seconds: float
) -> str:
    """The summary line that ends every import, rejected ones included."""
    return (
        f"rows read {rows_read}, added {added}, changed {changed}, removed {removed}, "
        f"unchanged {unchanged}, {seconds:.2f} s"
    )


# A million bad rows often share a few hundred reasons: each is taken apart once.
@functools.lru_cache(maxsize=4096)
def kind_of(reason: str) -> str:
    """The reason without what belongs to its row: ``'x' is not a date`` -> ``<value> is ...``."""

    def placeholder(match: re.Match[str]) -> str:
        """What stands in for the row's own part."""
        return _PLACEHOLDERS[match.lastgroup or "value"]

    return _ROW_PARTS.sub(placeholder, reason)


class ProblemReport:
    """A file's problems in bounded memory: the first ``PROBLEMS_SHOWN`` in file order, whole,
    and a count of every problem by kind (its column and its reason without the row's values).

    Problems may come in any order (a repeated key is found by a second reading of the
    file): the kept ones are the smallest by line, then by the file's column order.
    """

    def __init__(self, columns: Sequence[str] = (), shown: int = PROBLEMS_SHOWN) -> None:
        """Order problems of one line by ``columns``, the file's required columns."""
        self._order = {column: index for index, column in enumerate(columns)}
        self._shown = shown
        # A max-heap of the smallest keys so far (keys negated), with the problem.
        self._kept: list[tuple[tuple[int, int, int], Problem]] = []
        self._kinds: Counter[tuple[str | None, str]] = Counter()
        self.total = 0
        self.bad_rows = 0

    def add(self, problem: Problem) -> None:
        """Count ``problem``, and keep it if it is among the first of the file."""
        self.total += 1
        self._count_kind(problem)
        key = (-problem.line, -self._order.get(problem.column or "", -1), -self.total)
        if len(self._kept) < self._shown:
            heapq.heappush(self._kept, (key, problem))
        elif key > self._kept[0][0]:
            heapq.heapreplace(self._kept, (key, problem))

    def add_row(self, problems: Iterable[Problem]) -> None:
        """Add the problems of one row, counting the row as bad if there are any."""
        before = self.total
        for problem in problems:
            self.add(problem)
        if self.total > before:
            self.bad_rows += 1

    def count_bad_rows(self, rows: int) -> None:
        """Count ``rows`` more bad rows, whose problems were added one by one."""
        self.bad_rows += rows

    def _count_kind(self, problem: Problem) -> None:
        """Count the problem under its kind, or under its column's other reasons when full."""
        kind = (problem.column, kind_of(problem.reason))
        if kind not in self._kinds and len(self._kinds) >= KINDS_COUNTED:
            kind = (problem.column, OTHER_REASONS)
        self._kinds[kind] += 1

    def __bool__(self) -> bool:
        """Whether any problem was found."""
        return self.total > 0

    def shown(self) -> tuple[Problem, ...]:
        """The problems kept whole, in file order."""
        return tuple(problem for _key, problem in sorted(self._kept, reverse=True))

    def kinds(self) -> list[tuple[str | None, str, int]]:
        """Each kind of problem with its count, the most frequent first."""
        return [(column, kind, count) for (column, kind), count in self._kinds.most_common()]

    def report_lines(self, prefix: str = "") -> list[str]:
        """The problems kept, one a line; past them, how many there were of each kind."""
        shown = self.shown()
        lines = [f"{prefix}{problem}" for problem in shown]
        if self.total > len(shown):
            lines.append(
                f"{len(shown)} of {self.total} problems shown above, the first in the file; "
                f"all {self.total} problems, in {self.bad_rows} rows, by kind:"
            )
            for column, kind, count in self.kinds():
                where = "" if column is None else f"column {column}: "
                lines.append(f"{count:>10}  {where}{kind}")
        return lines


def _report(problems: ProblemReport | Sequence[Problem]) -> ProblemReport:
    """``problems`` as a report; a sequence counts one bad row per distinct line."""
    if isinstance(problems, ProblemReport):
        return problems
    report = ProblemReport()
    for problem in problems:
        report.add(problem)
    report.count_bad_rows(len({problem.line for problem in problems}))
    return report


class ImportRejected(Exception):
    """The file cannot be imported and nothing was changed; ``found`` holds its problems."""

    def __init__(
        self,
        reason: str,
        problems: ProblemReport | Sequence[Problem],
        rows_read: int = 0,
        seconds: float = 0.0,
    ) -> None:
        """Keep the reason, the problems, and what was read before rejecting."""
        super().__init__(reason)
        self.reason = reason
        self.found = _report(problems)
        self.rows_read = rows_read
        self.seconds = seconds

    @property
    def problems(self) -> tuple[Problem, ...]:
        """The problems shown one by one, in file order (the first ``PROBLEMS_SHOWN``)."""
        return self.found.shown()

    def report_lines(self) -> list[str]:
        """The first problems, one a line, their counts by kind if there were more, then why
        the file was rejected and the summary line."""
        return [
            *self.found.report_lines(),
            f"file rejected, nothing changed: {self.reason}",
            counts_line(self.rows_read, 0, 0, 0, 0, self.seconds),
        ]


@dataclass(frozen=True)
class ImportResult:
    """What one import did; counts are against the data in force before it."""

    source: str
    as_of: date
    snapshot_id: int | None
    rows_read: int
    added: int
    changed: int
    removed: int
    unchanged: int
    seconds: float
    # The skipped rows' problems (with --skip-invalid): the first ones, and counts by kind.
    found: ProblemReport = field(default_factory=ProblemReport)
    # The earlier snapshot of the same source with the same bytes, when there is one.
    identical_to: int | None = None
    came_into_force: bool = False
    # People whose row was skipped as invalid and who keep their current row (not removed).
    kept_for_skipped: int = 0

    @property
    def problems(self) -> tuple[Problem, ...]:
        """The skipped rows' problems shown one by one, in file order."""
        return self.found.shown()

    def summary_lines(self) -> list[str]:
        """What the operator is told at the end, the counts line last."""
        lines = []
        if self.identical_to is not None:
            lines.append(
                f"identical to {self.source} snapshot {self.identical_to} imported earlier: "
                "nothing changed"
            )
        elif self.source == "facilities":
            lines.append(f"facility list recorded as snapshot {self.snapshot_id}")
        elif self.came_into_force:
            lines.append(
                f"{self.source} snapshot {self.snapshot_id} as of {self.as_of} is now in force"
            )
        else:
            lines.append(
                f"{self.source} snapshot {self.snapshot_id} as of {self.as_of} is dated before "
                "the snapshot in force: kept as history only, not in force"
            )
        if self.found:
            lines.append(f"skipped {self.found.bad_rows} invalid rows (listed above)")
        if self.kept_for_skipped:
            lines.append(
                f"{self.kept_for_skipped} people whose row was skipped keep their current row"
            )
        lines.append(
            counts_line(
                self.rows_read,
                self.added,
                self.changed,
                self.removed,
                self.unchanged,
                self.seconds,
            )
        )
        return lines
