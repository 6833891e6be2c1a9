"""Snapshots and history: diffs against the data in force, re-imports, older files, facilities."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from models import Facility, JamkesdaRow, JknRow, PopulationRow, Snapshot
from tests.test_imports import (
    facility,
    jkn_member,
    membership,
    nik,
    person,
    run_import,
    write_csv,
)

NOV_1 = date(2026, 11, 1)
NOV_15 = date(2026, 11, 15)
NOV_25 = date(2026, 11, 25)


def facts_at(engine: Engine, model: Any, snapshot_id: int) -> dict[str, Any]:
    """The rows valid at a snapshot, by NIK, as the decision code reads them."""
    with Session(engine) as session:
        rows = session.scalars(
            select(model).where(
                model.valid_from <= snapshot_id,
                or_(model.valid_to.is_(None), model.valid_to > snapshot_id),
            )
        ).all()
    return {row.nik: row for row in rows}


def in_force(engine: Engine, source: str) -> int | None:
    """The snapshot in force as the decision code finds it: the highest id that came into force."""
    with Session(engine) as session:
        return session.scalar(
            select(Snapshot.id)
            .where(Snapshot.source == source, Snapshot.came_into_force.is_(True))
            .order_by(Snapshot.id.desc())
            .limit(1)
        )


def snapshot(engine: Engine, snapshot_id: int | None) -> Snapshot:
    """One snapshot row, read in its own session."""
    with Session(engine, expire_on_commit=False) as session:
        found = session.get(Snapshot, snapshot_id)
    assert found is not None
    return found


def test_first_import_adds_every_row_and_records_the_snapshot(
    engine: Engine, tmp_path: Path
) -> None:
    """The snapshot row keeps counts, file name, digest, dates and whether it is in force."""
    path = write_csv(tmp_path / "penduduk-2026-11.csv", [person(1), person(2)])
    result = run_import(engine, "population", path, as_of=NOV_1)
    assert result.came_into_force
    stored = snapshot(engine, result.snapshot_id)
    assert (stored.source, stored.as_of, stored.filename) == ("population", NOV_1, path.name)
    assert stored.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (stored.rows, stored.added, stored.changed, stored.removed, stored.unchanged) == (
        2,
        2,
        0,
        0,
        0,
    )
    assert stored.came_into_force
    assert stored.imported_at is not None
    assert in_force(engine, "population") == result.snapshot_id


def test_new_snapshot_counts_added_changed_removed_and_unchanged(
    engine: Engine, tmp_path: Path
) -> None:
    """Diffed by NIK against the rows in force."""
    run_import(
        engine,
        "population",
        write_csv(tmp_path / "a.csv", [person(1), person(2), person(3)]),
        as_of=NOV_1,
    )
    rows = [person(1), person(2, STATUS="PINDAH", TGL_DOMISILI=""), person(4)]
    result = run_import(engine, "population", write_csv(tmp_path / "b.csv", rows), as_of=NOV_15)
    assert (result.rows_read, result.added, result.changed, result.removed, result.unchanged) == (
        3,
        1,
        1,
        1,
        1,
    )
    stored = snapshot(engine, result.snapshot_id)
    assert (stored.rows, stored.added, stored.changed, stored.removed, stored.unchanged) == (
        3,
        1,
        1,
        1,
        1,
    )


def test_history_gives_the_old_values_at_the_old_snapshot(engine: Engine, tmp_path: Path) -> None:
    """A replay reads the facts as they were: changed and removed rows keep their old version."""
    first = run_import(
        engine,
        "population",
        write_csv(tmp_path / "a.csv", [person(1), person(2), person(3)]),
        as_of=NOV_1,
    )
    rows = [person(1), person(2, KODE_WILAYAH="64.72.01.1001"), person(4)]
    second = run_import(engine, "population", write_csv(tmp_path / "b.csv", rows), as_of=NOV_15)
    assert first.snapshot_id is not None
    assert second.snapshot_id is not None

    then = facts_at(engine, PopulationRow, first.snapshot_id)
    now = facts_at(engine, PopulationRow, second.snapshot_id)
    assert sorted(then) == [nik(1), nik(2), nik(3)]
    assert sorted(now) == [nik(1), nik(2), nik(4)]
    assert then[nik(2)].village_code == "6402012001"
    assert now[nik(2)].village_code == "6472011001"
    # The unchanged row is one version serving both snapshots.
    assert then[nik(1)].id == now[nik(1)].id
    assert (then[nik(3)].valid_from, then[nik(3)].valid_to) == (
        first.snapshot_id,
        second.snapshot_id,
    )


def test_identical_file_changes_nothing_whatever_its_as_of(engine: Engine, tmp_path: Path) -> None:
    """The same bytes again are recognised by their digest, even under another date or name."""
    path = write_csv(tmp_path / "a.csv", [person(1), person(2)])
    first = run_import(engine, "population", path, as_of=NOV_1)
    copy = tmp_path / "renamed.csv"
    copy.write_bytes(path.read_bytes())
    again = run_import(engine, "population", copy, as_of=NOV_25)
    assert again.identical_to == first.snapshot_id
    assert again.snapshot_id is None
    assert not again.came_into_force
    assert (again.rows_read, again.added, again.changed, again.removed) == (2, 0, 0, 0)
    assert "nothing changed" in again.summary_lines()[0]
    with Session(engine) as session:
        assert session.scalars(select(Snapshot.as_of)).all() == [NOV_1]
        assert len(session.scalars(select(PopulationRow)).all()) == 2


def test_file_identical_to_any_earlier_snapshot_changes_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    """Re-sending last month's file after this month's does not bring last month back."""
    old = write_csv(tmp_path / "a.csv", [jkn_member(1)])
    first = run_import(engine, "jkn", old, as_of=NOV_1)
    second = run_import(engine, "jkn", write_csv(tmp_path / "b.csv", [jkn_member(2)]), as_of=NOV_15)
    again = run_import(engine, "jkn", old, as_of=NOV_25)
    assert again.identical_to == first.snapshot_id
    assert in_force(engine, "jkn") == second.snapshot_id


def test_older_dated_import_is_kept_as_history_not_in_force(engine: Engine, tmp_path: Path) -> None:
    """A late older file is stored in an empty interval; the facts stay as they were."""
    current = run_import(
        engine,
        "population",
        write_csv(tmp_path / "nov15.csv", [person(1), person(2)]),
        as_of=NOV_15,
    )
    old_rows = [person(1, NAMA_LGKP="Old Name"), person(3)]
    older = run_import(
        engine, "population", write_csv(tmp_path / "nov1.csv", old_rows), as_of=NOV_1
    )
    assert current.snapshot_id is not None
    assert older.snapshot_id is not None

    assert not older.came_into_force
    assert "kept as history only, not in force" in older.summary_lines()[0]
    # Counted against the data in force.
    assert (older.added, older.changed, older.removed, older.unchanged) == (1, 1, 1, 0)
    assert not snapshot(engine, older.snapshot_id).came_into_force
    assert in_force(engine, "population") == current.snapshot_id

    with Session(engine) as session:
        stored = session.scalars(
            select(PopulationRow).where(PopulationRow.valid_from == older.snapshot_id)
        ).all()
    assert sorted((row.nik, row.valid_to) for row in stored) == [
        (nik(1), older.snapshot_id),
        (nik(3), older.snapshot_id),
    ]
    facts = facts_at(engine, PopulationRow, older.snapshot_id)
    assert sorted(facts) == [nik(1), nik(2)]
    assert facts[nik(1)].name == "Siti Rahmah 1"


def test_import_after_a_history_only_one_diffs_against_the_data_in_force(
    engine: Engine, tmp_path: Path
) -> None:
    """The history-only rows are never current, so the next snapshot ignores them."""
    run_import(engine, "population", write_csv(tmp_path / "a.csv", [person(1)]), as_of=NOV_15)
    run_import(engine, "population", write_csv(tmp_path / "b.csv", [person(2)]), as_of=NOV_1)
    rows = [person(1), person(3)]
    latest = run_import(engine, "population", write_csv(tmp_path / "c.csv", rows), as_of=NOV_25)
    assert latest.came_into_force
    assert (latest.added, latest.changed, latest.removed, latest.unchanged) == (1, 0, 0, 1)
    assert latest.snapshot_id is not None
    assert sorted(facts_at(engine, PopulationRow, latest.snapshot_id)) == [nik(1), nik(3)]


def test_import_dated_the_same_day_as_the_one_in_force_replaces_it(
    engine: Engine, tmp_path: Path
) -> None:
    """Among snapshots of equal date the last imported is in force."""
    run_import(engine, "jkn", write_csv(tmp_path / "a.csv", [jkn_member(1)]), as_of=NOV_15)
    rows = [jkn_member(1, STATUS="TIDAK AKTIF")]
    second = run_import(engine, "jkn", write_csv(tmp_path / "b.csv", rows), as_of=NOV_15)
    assert second.came_into_force
    assert second.changed == 1
    assert in_force(engine, "jkn") == second.snapshot_id
    assert second.snapshot_id is not None
    assert facts_at(engine, JknRow, second.snapshot_id)[nik(1)].status == "TIDAK AKTIF"


def test_sources_keep_separate_histories(engine: Engine, tmp_path: Path) -> None:
    """A Jamkesda import neither diffs against nor closes population rows."""
    run_import(engine, "population", write_csv(tmp_path / "p.csv", [person(1)]), as_of=NOV_15)
    result = run_import(
        engine, "jamkesda", write_csv(tmp_path / "j.csv", [membership(2)]), as_of=NOV_1
    )
    assert result.came_into_force
    assert (result.added, result.removed) == (1, 0)
    with Session(engine) as session:
        assert session.scalars(select(PopulationRow.valid_to)).all() == [None]


def test_jamkesda_snapshot_versions_a_changed_membership(engine: Engine, tmp_path: Path) -> None:
    """A membership that ends is a new version; the old one stays readable at its snapshot."""
    first = run_import(
        engine,
        "jamkesda",
        write_csv(tmp_path / "a.csv", [membership(1, TGL_AKHIR="", KELAS="")]),
        as_of=NOV_1,
    )
    rows = [membership(1, STATUS="NONAKTIF", TGL_AKHIR="2026-11-10", KELAS="")]
    second = run_import(engine, "jamkesda", write_csv(tmp_path / "b.csv", rows), as_of=NOV_15)
    assert second.changed == 1
    assert first.snapshot_id is not None
    assert second.snapshot_id is not None
    old = facts_at(engine, JamkesdaRow, first.snapshot_id)[nik(1)]
    new = facts_at(engine, JamkesdaRow, second.snapshot_id)[nik(1)]
    assert (old.status, old.end_date, old.kelas) == ("AKTIF", None, None)
    assert (new.status, new.end_date, new.kelas) == ("NONAKTIF", date(2026, 11, 10), None)


def test_facilities_are_upserted_by_code(engine: Engine, tmp_path: Path) -> None:
    """Added, changed and unchanged by code; a facility absent from the file is kept."""
    first = run_import(
        engine,
        "facilities",
        write_csv(tmp_path / "a.csv", [facility("A"), facility("B"), facility("C")]),
        as_of=NOV_1,
    )
    rows = [facility("A"), facility("B", NAMA="Puskesmas Baru", MITRA_JAMKESDA="N"), facility("D")]
    second = run_import(engine, "facilities", write_csv(tmp_path / "b.csv", rows), as_of=NOV_15)
    assert (second.added, second.changed, second.removed, second.unchanged) == (1, 1, 0, 1)
    assert second.came_into_force
    stored = snapshot(engine, second.snapshot_id)
    assert (stored.source, stored.rows, stored.removed) == ("facilities", 3, 0)
    with Session(engine) as session:
        facilities = {row.code: row for row in session.scalars(select(Facility))}
    assert sorted(facilities) == ["A", "B", "C", "D"]
    assert (facilities["B"].name, facilities["B"].jamkesda_partner) == ("Puskesmas Baru", False)
    assert facilities["A"].snapshot_id == first.snapshot_id
    assert facilities["B"].snapshot_id == second.snapshot_id
    assert facilities["C"].snapshot_id == first.snapshot_id
    assert facilities["D"].snapshot_id == second.snapshot_id


def test_summary_ends_with_the_counts_line(engine: Engine, tmp_path: Path) -> None:
    """rows read, added, changed, removed, unchanged, seconds — always last."""
    result = run_import(engine, "jkn", write_csv(tmp_path / "k.csv", [jkn_member(1)]))
    lines = result.summary_lines()
    assert lines[0] == f"jkn snapshot {result.snapshot_id} as of 2026-11-25 is now in force"
    assert lines[-1].startswith("rows read 1, added 1, changed 0, removed 0, unchanged 0, ")
    assert lines[-1].endswith(" s")
