"""Compare a new snapshot with the rows in force, by key (pure): the one place of the diff."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from service.imports.sources import Record

# The primary key of a stored row: a version id, or a facility's code.
RowId = TypeVar("RowId")


@dataclass
class Diff(Generic[RowId]):
    """What a new snapshot adds, changes and removes; ids are those of the rows in force."""

    added: list[Record] = field(default_factory=list)
    changed: list[tuple[RowId, Record]] = field(default_factory=list)
    removed: list[RowId] = field(default_factory=list)
    unchanged: int = 0
    # Rows in force whose new row was skipped as invalid: they stay, and count as unchanged.
    kept: int = 0


def diff(
    current: Mapping[str, tuple[RowId, Record]],
    incoming: Mapping[str, Record],
    keep: Collection[str] = (),
) -> Diff[RowId]:
    """Compare ``incoming`` (by key) with ``current`` (key → row id and values).

    A key in ``keep`` (its row in the file was bad and skipped) is never removed: a skipped
    row must not make a person disappear, which would deny care for a typing error.
    """
    result: Diff[RowId] = Diff()
    for key, record in incoming.items():
        stored = current.get(key)
        if stored is None:
            result.added.append(record)
        elif stored[1] == record:
            result.unchanged += 1
        else:
            result.changed.append((stored[0], record))
    for key, (row_id, _values) in current.items():
        if key in incoming:
            continue
        if key in keep:
            result.kept += 1
            result.unchanged += 1
        else:
            result.removed.append(row_id)
    return result
