"""The import use case: read, validate, compare and write one file, or reject it whole.

Each row version of a population, Jamkesda or JKN file is stored with its NIK's keyed hash
(``nik_hash``, under NIK_HASH_KEY), which replays look people up by: hashed as the file is
read when its rows are written straight away, else only for the versions the snapshot adds
or changes. An import is refused (``RehashNeeded``) while the registry's hashes are under
another key: see ``service.registry_key``.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import cast

from sqlalchemy import ColumnElement, FromClause, Table, select, text
from sqlalchemy.orm import Session

from models import Snapshot
from service import clock
from service.imports.apply import (
    delete_skipped,
    has_rows_in_force,
    hash_new_versions,
    identical_snapshot,
    snapshot_in_force,
    write_facilities,
    write_versions,
)
from service.imports.bulk import keys_built_after
from service.imports.csvfile import count_rows, fingerprint, no_data_rows, open_csv
from service.imports.diff import Counts, find_changes
from service.imports.report import ImportRejected, ImportResult, ProblemReport
from service.imports.sources import SOURCES, Source
from service.imports.staging import Scratch, create_scratch, drop_scratch, prepare_for_diff
from service.imports.validate import check_rows, report_duplicates
from service.imports.writer import WriteRow, row_writer
from service.nik import nik_hasher
from service.registry_key import claim_key_for_import

# The snapshots table keeps the file's name in a column of this width.
_FILENAME_LENGTH = 255


@dataclass(frozen=True)
class _Target:
    """Where an import writes the file's good rows as it reads them."""

    table: Table
    columns: tuple[str, ...]
    # The values that follow a row's own in ``columns``.
    extra: tuple[object, ...]
    # Those rows once written, under the source's field names.
    new: FromClause
    # Which rows of ``table`` this import wrote (None: all of them).
    written: ColumnElement[bool] | None
    # Whether the rows are written as the snapshot's versions, with nothing left to compare.
    direct: bool


def _target(session: Session, spec: Source, scratch: Scratch, snapshot: Snapshot) -> _Target:
    """Write straight into the source's table when every good row will be a new version.

    That is so when the snapshot is kept as history only (its rows are stored in the empty
    interval ``valid_from = valid_to``), or when no row is in force to compare with: the
    first import. The rows are then written once, while the file is read, instead of being
    staged and copied again. Otherwise they are staged and compared with the rows in force.
    """
    if not spec.full_snapshot or (snapshot.came_into_force and has_rows_in_force(session, spec)):
        return _Target(scratch.rows, spec.fields, (), scratch.rows, None, False)
    stored = spec.table
    written = stored.c.valid_from == snapshot.id
    new = select(*(stored.c[name] for name in spec.fields)).where(written).subquery("new")
    valid_to = None if snapshot.came_into_force else snapshot.id
    # Each row is written with its NIK's hash, appended by ``_with_nik_hash``.
    columns = (*spec.stored_fields, "valid_from", "valid_to")
    return _Target(stored, columns, (snapshot.id, valid_to), new, written, True)


def _rejected(
    reason: str, problems: ProblemReport, rows_read: int, started: float
) -> ImportRejected:
    """The rejection of the file, with what was read before rejecting it."""
    return ImportRejected(reason, problems, rows_read, time.perf_counter() - started)


def _compare_and_write(
    session: Session,
    spec: Source,
    target: _Target,
    scratch: Scratch,
    snapshot: Snapshot,
    good: int,
    hash_key: bytes,
) -> Counts:
    """Count the snapshot's changes against the rows in force, and write those not yet written."""
    if target.direct and snapshot.came_into_force:
        # Nothing was in force: every good row is new, and is already stored in force.
        return Counts(added=good, changed=0, removed=0, unchanged=0, kept=0)
    if target.direct:
        return find_changes(session, spec, target.new, scratch, good, list_removed=False)
    prepare_for_diff(session, scratch, spec.fields[0])
    counts = find_changes(session, spec, target.new, scratch, good, list_removed=True)
    if spec.full_snapshot:
        hash_new_versions(session, scratch.changes, scratch.hashes, hash_key)
        write_versions(session, spec, scratch.changes, snapshot.id)
    else:
        write_facilities(session, spec, scratch.changes, snapshot.id)
    return counts


def _with_nik_hash(write: WriteRow, hash_key: bytes) -> WriteRow:
    """``write``, given each row with its NIK's keyed hash appended."""
    hashed = nik_hasher(hash_key)

    def write_with_hash(values: list[object]) -> None:
        """Append the hash of the row's NIK (its first value), then write the row."""
        values.append(hashed(cast(str, values[0])))
        write(values)

    return write_with_hash


def import_file(
    session: Session,
    source: str,
    path: Path,
    as_of: date,
    skip_invalid: bool = False,
    *,
    hash_key: bytes,
) -> ImportResult:
    """Import ``path`` as the ``source`` snapshot as of ``as_of``; the caller commits.

    Raises ``ImportRejected`` when the file is bad; the caller then rolls its transaction
    back (``unit_of_work`` does), which leaves everything as it was. With ``skip_invalid``
    the good rows are imported and the bad ones listed in the result. ``hash_key`` is
    NIK_HASH_KEY; ``RehashNeeded`` is raised, before anything is read, when the registry
    was hashed under another key.
    """
    started = time.perf_counter()
    spec = SOURCES.get(source)
    if spec is None:
        raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    if spec.full_snapshot:
        claim_key_for_import(session, hash_key)
    sha256 = fingerprint(path)
    earlier = identical_snapshot(session, spec, sha256)
    if earlier is not None:
        return ImportResult(
            source=spec.name,
            as_of=as_of,
            snapshot_id=None,
            rows_read=count_rows(path, spec.columns),
            added=0,
            changed=0,
            removed=0,
            unchanged=0,
            seconds=time.perf_counter() - started,
            identical_to=earlier,
        )

    in_force = snapshot_in_force(session, spec)
    snapshot = Snapshot(
        source=spec.name,
        as_of=as_of,
        imported_at=clock.now(),
        filename=path.name[:_FILENAME_LENGTH],
        sha256=sha256,
        rows=0,
        added=0,
        changed=0,
        removed=0,
        unchanged=0,
        # Among snapshots of equal date the last imported is in force (SPEC §4); facilities
        # have no history, so each of their imports takes effect.
        came_into_force=not spec.full_snapshot or in_force is None or as_of >= in_force.as_of,
    )
    # The rows written below point to the snapshot, so it is stored first.
    session.add(snapshot)
    session.flush()
    scratch = create_scratch(session, spec)
    target = _target(session, spec, scratch, snapshot)
    with (
        open_csv(path, spec.columns) as stream,
        keys_built_after(session, target.table) if target.direct else nullcontext(False) as bulk,
        # A second thread pays off only while PostgreSQL checks foreign keys row by row.
        row_writer(
            session, target.table, target.columns, target.extra, target.direct and not bulk
        ) as write,
    ):
        if target.direct:
            write = _with_nik_hash(write, hash_key)
        checked = check_rows(spec, stream, write, keep_skipped_keys=skip_invalid)
    if not checked.rows_read:
        raise no_data_rows()
    problems = checked.problems
    repeated = report_duplicates(path, spec, checked.repeated, problems)
    if problems and not skip_invalid:
        reason = f"{problems.bad_rows} of {checked.rows_read} rows are invalid"
        raise _rejected(reason, problems, checked.rows_read, started)

    key = spec.fields[0]
    with row_writer(session, scratch.skipped, (key,)) as write:
        for skipped_key in checked.skipped_keys.unique(checked.repeated, repeated):
            write([skipped_key])
    good = checked.good
    if repeated:
        # Every row of a repeated key is bad, but the good-looking ones were already written.
        good -= delete_skipped(session, target.table, key, scratch.skipped, target.written)
    if not good:
        raise _rejected("no valid rows remain", problems, checked.rows_read, started)

    counts = _compare_and_write(session, spec, target, scratch, snapshot, good, hash_key)
    drop_scratch(session, scratch)
    if session.get_bind().dialect.name == "postgresql":
        # Checks look facts up through the planner: fresh statistics keep those look-ups
        # fast right after a large import, before autovacuum (if any) gets to the table.
        session.execute(text(f"ANALYZE {spec.model.__tablename__}"))
    snapshot.rows, snapshot.added, snapshot.changed = counts.rows, counts.added, counts.changed
    snapshot.removed, snapshot.unchanged = counts.removed, counts.unchanged
    session.flush()
    return ImportResult(
        source=spec.name,
        as_of=as_of,
        snapshot_id=snapshot.id,
        rows_read=checked.rows_read,
        added=counts.added,
        changed=counts.changed,
        removed=counts.removed,
        unchanged=counts.unchanged,
        seconds=time.perf_counter() - started,
        found=problems,
        came_into_force=snapshot.came_into_force,
        kept_for_skipped=counts.kept,
    )
