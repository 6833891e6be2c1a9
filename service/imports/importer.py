"""The import use case: read, validate, compare and write one file, or reject it whole."""

from __future__ import annotations

import hashlib
import time
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from models import Snapshot
from service import clock
from service.imports.apply import (
    current_rows,
    identical_snapshot,
    snapshot_in_force,
    write_facilities,
    write_versions,
)
from service.imports.csvfile import read_table
from service.imports.diff import diff
from service.imports.report import ImportRejected, ImportResult
from service.imports.sources import SOURCES
from service.imports.validate import Validated, validate

# The snapshots table keeps the file's name in a column of this width.
_FILENAME_LENGTH = 255


def _rejection(checked: Validated, rows_read: int, skip_invalid: bool) -> str | None:
    """Why the validated file may not be imported, or None when it may."""
    if checked.problems and not skip_invalid:
        bad = len({problem.line for problem in checked.problems})
        return f"{bad} of {rows_read} rows are invalid"
    if not checked.records:
        return "no valid rows remain"
    return None


def import_file(
    session: Session, source: str, path: Path, as_of: date, skip_invalid: bool = False
) -> ImportResult:
    """Import ``path`` as the ``source`` snapshot as of ``as_of``; the caller commits.

    Raises ``ImportRejected`` when the file is bad: nothing has changed then. With
    ``skip_invalid`` the good rows are imported and the bad ones listed in the result.
    """
    started = time.perf_counter()
    spec = SOURCES.get(source)
    if spec is None:
        raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    data = path.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    table = read_table(data, spec.columns)

    earlier = identical_snapshot(session, spec, sha256)
    if earlier is not None:
        return ImportResult(
            source=spec.name,
            as_of=as_of,
            snapshot_id=None,
            rows_read=table.rows_read,
            added=0,
            changed=0,
            removed=0,
            unchanged=0,
            seconds=time.perf_counter() - started,
            identical_to=earlier,
        )

    checked = validate(spec, table)
    reason = _rejection(checked, table.rows_read, skip_invalid)
    if reason is not None:
        seconds = time.perf_counter() - started
        raise ImportRejected(reason, checked.problems, table.rows_read, seconds)

    in_force = snapshot_in_force(session, spec)
    # Among snapshots of equal date the last imported is in force (SPEC §4); facilities have
    # no history, so each of their imports takes effect.
    comes_into_force = not spec.full_snapshot or in_force is None or as_of >= in_force.as_of
    # Facilities are upserts: one missing from the file stays, so nothing counts as removed.
    keep = checked.skipped_keys if spec.full_snapshot else set()
    changes = diff(current_rows(session, spec), checked.records, keep=keep)
    removed = len(changes.removed) if spec.full_snapshot else 0
    snapshot = Snapshot(
        source=spec.name,
        as_of=as_of,
        imported_at=clock.now(),
        filename=path.name[:_FILENAME_LENGTH],
        sha256=sha256,
        rows=len(checked.records) + changes.kept,
        added=len(changes.added),
        changed=len(changes.changed),
        removed=removed,
        unchanged=changes.unchanged,
        came_into_force=comes_into_force,
    )
    session.add(snapshot)
    session.flush()
    if spec.full_snapshot:
        write_versions(session, spec, snapshot.id, changes, checked.records, comes_into_force)
    else:
        write_facilities(session, snapshot.id, changes)
    return ImportResult(
        source=spec.name,
        as_of=as_of,
        snapshot_id=snapshot.id,
        rows_read=table.rows_read,
        added=snapshot.added,
        changed=snapshot.changed,
        removed=snapshot.removed,
        unchanged=snapshot.unchanged,
        seconds=time.perf_counter() - started,
        problems=tuple(checked.problems),
        came_into_force=comes_into_force,
        kept_for_skipped=changes.kept,
    )
