"""Compare a new snapshot's rows with the rows in force, by key, in SQL: the one diff."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    FromClause,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from service.imports.sources import Source
from service.imports.staging import Scratch

ADDED, CHANGED, REMOVED = "added", "changed", "removed"


@dataclass(frozen=True)
class Counts:
    """What a new snapshot adds, changes, removes and leaves, against the rows in force."""

    added: int
    changed: int
    removed: int
    # Rows in force whose new row was skipped as invalid count as unchanged (and as kept).
    unchanged: int
    kept: int

    @property
    def rows(self) -> int:
        """The rows the snapshot holds: its good rows and the rows kept for its skipped ones."""
        return self.added + self.changed + self.unchanged


def in_force(source: Source) -> tuple[FromClause, ColumnElement[bool]]:
    """The stored rows of ``source`` (as ``in_force``) and the condition of those in force.

    For a full snapshot these are the versions not yet closed (``valid_to`` NULL): exactly the
    facts at the snapshot in force, since history-only rows are always closed.
    """
    stored = source.table.alias("in_force")
    return stored, stored.c.valid_to.is_(None) if source.full_snapshot else true()


def _differs(source: Source, new: FromClause, stored: FromClause) -> ColumnElement[bool]:
    """Whether a new row and a stored row of the same key differ in any column of the file."""
    return or_(*(new.c[name].is_distinct_from(stored.c[name]) for name in source.fields[1:]))


def find_changes(
    session: Session,
    source: Source,
    new: FromClause,
    scratch: Scratch,
    good: int,
    list_removed: bool,
) -> Counts:
    """Store in ``scratch.changes`` how ``new`` (``good`` rows) differs from the rows in force.

    Added and changed rows are stored whole; removed keys only with ``list_removed``. A key
    in ``scratch.skipped`` (its row in the file was bad) is never removed: a skipped row must
    not make a person disappear, which would deny care for a typing error.
    """
    stored, current = in_force(source)
    key = source.fields[0]
    changes, skipped = scratch.changes, scratch.skipped
    joined = new.outerjoin(stored, and_(stored.c[key] == new.c[key], current))
    change = case((stored.c[key].is_(None), ADDED), else_=CHANGED)
    row_id = stored.c[source.row_id]
    differing = select(change, row_id, *(new.c[name] for name in source.fields))
    differing = differing.select_from(joined).where(
        or_(stored.c[key].is_(None), _differs(source, new, stored))
    )
    columns = ["change", "in_force", *source.fields]
    session.execute(insert(changes).from_select(columns, differing))
    by_change = select(changes.c.change, func.count()).group_by(changes.c.change)
    found: dict[str, int] = {change: count for change, count in session.execute(by_change)}
    added, changed = found.get(ADDED, 0), found.get(CHANGED, 0)
    matched = good - added
    if not source.full_snapshot:
        # Facilities are upserts: one missing from the file stays, so nothing is removed.
        return Counts(added, changed, 0, matched - changed, 0)
    count_in_force = session.scalar(select(func.count()).select_from(stored).where(current)) or 0
    kept = 0
    if session.scalar(select(exists().select_from(skipped))):
        kept_rows = stored.join(skipped, skipped.c[key] == stored.c[key])
        kept = session.scalar(select(func.count()).select_from(kept_rows).where(current)) or 0
    removed = count_in_force - matched - kept
    if removed and list_removed:
        gone = ~exists().where(new.c[key] == stored.c[key])
        not_skipped = ~exists().where(skipped.c[key] == stored.c[key])
        keys = select(literal(REMOVED), row_id, stored.c[key]).where(current, gone, not_skipped)
        session.execute(insert(changes).from_select(["change", "in_force", key], keys))
    return Counts(added, changed, removed, matched - changed + kept, kept)
