"""What an import reports: each bad row's problem, a rejection, the result and its summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


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


class ImportRejected(Exception):
    """The file cannot be imported and nothing was changed; ``problems`` lists every bad row."""

    def __init__(
        self,
        reason: str,
        problems: Sequence[Problem],
        rows_read: int = 0,
        seconds: float = 0.0,
    ) -> None:
        """Keep the reason, the problems in file order, and what was read before rejecting."""
        super().__init__(reason)
        self.reason = reason
        self.problems = tuple(sorted(problems, key=lambda problem: problem.line))
        self.rows_read = rows_read
        self.seconds = seconds

    def report_lines(self) -> list[str]:
        """Every problem, one a line, then why the file was rejected and the summary line."""
        return [
            *(str(problem) for problem in self.problems),
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
    problems: tuple[Problem, ...] = ()
    # The earlier snapshot of the same source with the same bytes, when there is one.
    identical_to: int | None = None
    came_into_force: bool = False
    # People whose row was skipped as invalid and who keep their current row (not removed).
    kept_for_skipped: int = 0

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
        if self.problems:
            skipped = len({problem.line for problem in self.problems})
            lines.append(f"skipped {skipped} invalid rows (listed above)")
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
