"""Imports read as a stream and compared in SQL: repeated keys, one-column changes, chunks."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import JamkesdaRow, JknRow, PopulationRow, Snapshot
from service.imports import csvfile, import_file, writer
from tests.test_import_history import facts_at
from tests.test_imports import (
    TEST_KEY,
    jkn_member,
    membership,
    nik,
    person,
    rejection,
    run_import,
    snapshot_count,
    write_csv,
)

NOV_1 = date(2026, 11, 1)
NOV_15 = date(2026, 11, 15)


def current(engine: Engine, model: Any = PopulationRow) -> dict[str, Any]:
    """The rows in force, by NIK."""
    with Session(engine) as session:
        rows = session.scalars(select(model).where(model.valid_to.is_(None))).all()
    return {row.nik: row for row in rows}


def test_key_repeated_more_than_ten_times_names_ten_lines(engine: Engine, tmp_path: Path) -> None:
    """Every occurrence is reported; the reason lists the first ten lines and counts the rest."""
    rows = [person(1) for _ in range(12)]
    problems = rejection(engine, "population", write_csv(tmp_path / "p.csv", rows)).problems
    assert [problem.line for problem in problems] == list(range(2, 14))
    assert problems[0].reason == (
        "the same NIK appears 12 times in the file (lines 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 "
        "and 2 more)"
    )


def test_repeated_key_on_a_row_with_another_bad_value_reports_both(
    engine: Engine, tmp_path: Path
) -> None:
    """A bad row still counts as an occurrence of its NIK, reported before its other problems."""
    rows = [person(1), person(1, TGL_LHR="x")]
    problems = rejection(engine, "population", write_csv(tmp_path / "p.csv", rows)).problems
    assert [(problem.line, problem.column) for problem in problems] == [
        (2, "NIK"),
        (3, "NIK"),
        (3, "TGL_LHR"),
    ]


def test_skip_invalid_skips_every_row_of_a_repeated_key_and_keeps_its_row_in_force(
    engine: Engine, tmp_path: Path
) -> None:
    """Neither repeated row is imported; the person keeps the row already in force."""
    run_import(
        engine, "population", write_csv(tmp_path / "a.csv", [person(1), person(2), person(3)])
    )
    rows = [person(1, NAMA_LGKP="New"), person(2, NAMA_LGKP="X"), person(2), person(4)]
    result = run_import(
        engine,
        "population",
        write_csv(tmp_path / "b.csv", rows),
        as_of=date(2026, 11, 26),
        skip_invalid=True,
    )
    assert [problem.line for problem in result.problems] == [3, 4]
    assert (result.added, result.changed, result.removed, result.unchanged) == (1, 1, 1, 1)
    assert result.kept_for_skipped == 1
    rows_now = current(engine)
    assert sorted(rows_now) == [nik(1), nik(2), nik(4)]
    assert (rows_now[nik(1)].name, rows_now[nik(2)].name) == ("New", "Siti Rahmah 2")


def test_skip_invalid_skips_every_row_of_a_repeated_key_in_a_first_import(
    engine: Engine, tmp_path: Path
) -> None:
    """With nothing in force rows go straight to their table; the repeated ones are taken out."""
    rows = [person(1), person(2), person(1, NAMA_LGKP="Other")]
    result = run_import(
        engine, "population", write_csv(tmp_path / "p.csv", rows), skip_invalid=True
    )
    assert (result.added, result.rows_read, len(result.problems)) == (1, 3, 2)
    assert sorted(current(engine)) == [nik(2)]
    with Session(engine) as session:
        assert session.scalars(select(Snapshot.rows)).one() == 1


def test_only_repeated_rows_with_skip_invalid_leave_nothing_to_import(
    engine: Engine, tmp_path: Path
) -> None:
    """Rows written before their key was found repeated do not make an empty import valid."""
    path = write_csv(tmp_path / "p.csv", [person(1), person(1)])
    assert rejection(engine, "population", path, skip_invalid=True).reason == (
        "no valid rows remain"
    )
    assert snapshot_count(engine) == 0


ONE_COLUMN_CHANGES = [
    ("population", person(1), person(1, NO_KK="6402010101090002"), "no_kk"),
    ("population", person(1), person(1, NAMA_LGKP="Siti R."), "name"),
    ("population", person(1), person(1, TGL_LHR="1990-01-02"), "birth_date"),
    ("population", person(1), person(1, JENIS_KLMIN="L"), "sex"),
    ("population", person(1), person(1, KODE_WILAYAH="6402012002"), "village_code"),
    ("population", person(1), person(1, TGL_DOMISILI="2020-01-01"), "domiciled_since"),
    (
        "population",
        person(1, STATUS="MATI", TGL_DOMISILI=""),
        person(1, STATUS="MATI", TGL_DOMISILI="2020-01-01"),
        "domiciled_since",
    ),
    (
        "population",
        person(1, STATUS="PINDAH"),
        person(1, STATUS="PINDAH", TGL_DOMISILI=""),
        "domiciled_since",
    ),
    ("population", person(1), person(1, STATUS="PINDAH"), "status"),
    ("jamkesda", membership(1), membership(1, NO_PESERTA="JKD-9"), "member_no"),
    ("jamkesda", membership(1), membership(1, STATUS="NONAKTIF"), "status"),
    ("jamkesda", membership(1), membership(1, TGL_MULAI="2025-01-02"), "start_date"),
    ("jamkesda", membership(1, TGL_AKHIR=""), membership(1), "end_date"),
    ("jamkesda", membership(1), membership(1, TGL_AKHIR=""), "end_date"),
    ("jamkesda", membership(1, KELAS=""), membership(1), "kelas"),
    ("jamkesda", membership(1), membership(1, KELAS=""), "kelas"),
    ("jkn", jkn_member(1), jkn_member(1, NO_KARTU="0002"), "card_no"),
    ("jkn", jkn_member(1), jkn_member(1, STATUS="TIDAK AKTIF"), "status"),
    ("jkn", jkn_member(1, SEGMEN=""), jkn_member(1), "segment"),
    ("jkn", jkn_member(1), jkn_member(1, SEGMEN=""), "segment"),
]
MODELS = {"population": PopulationRow, "jamkesda": JamkesdaRow, "jkn": JknRow}
# A second, unchanged row of each source.
OTHER = {"population": person(2), "jamkesda": membership(2), "jkn": jkn_member(2)}


@pytest.mark.parametrize(("source", "old", "new", "attribute"), ONE_COLUMN_CHANGES)
def test_a_row_differing_in_one_column_is_a_new_version(
    engine: Engine,
    tmp_path: Path,
    source: str,
    old: dict[str, str],
    new: dict[str, str],
    attribute: str,
) -> None:
    """Every stored column is compared, an empty (NULL) value against a value too."""
    other = OTHER[source]
    first = run_import(engine, source, write_csv(tmp_path / "a.csv", [old, other]), NOV_1)
    second = run_import(engine, source, write_csv(tmp_path / "b.csv", [new, other]), NOV_15)
    assert (second.changed, second.unchanged, second.added, second.removed) == (1, 1, 0, 0)
    assert first.snapshot_id is not None
    assert second.snapshot_id is not None
    model = MODELS[source]
    before = facts_at(engine, model, first.snapshot_id)[nik(1)]
    after = facts_at(engine, model, second.snapshot_id)[nik(1)]
    assert getattr(before, attribute) != getattr(after, attribute)
    assert (before.valid_to, after.valid_from, after.valid_to) == (
        second.snapshot_id,
        second.snapshot_id,
        None,
    )


def test_the_same_values_written_differently_are_unchanged(engine: Engine, tmp_path: Path) -> None:
    """Rows are compared as stored, not as typed: no new version for another spelling."""
    run_import(engine, "population", write_csv(tmp_path / "a.csv", [person(1)]), NOV_1)
    respelled = person(
        1,
        NIK="6402 0141 0190 0001",
        JENIS_KLMIN="perempuan",
        KODE_WILAYAH="6402012001",
        TGL_LHR="01/01/1990",
        STATUS="hidup",
    )
    result = run_import(engine, "population", write_csv(tmp_path / "b.csv", [respelled]), NOV_15)
    assert (result.changed, result.unchanged) == (0, 1)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(PopulationRow)) == 1


def test_older_dated_import_with_skipped_rows_keeps_their_people(
    engine: Engine, tmp_path: Path
) -> None:
    """Counted against the data in force, a skipped row's person counts as kept, not removed."""
    run_import(engine, "population", write_csv(tmp_path / "a.csv", [person(1), person(2)]), NOV_15)
    rows = [person(1, NAMA_LGKP="Old"), person(2, TGL_LHR="bad")]
    older = run_import(
        engine, "population", write_csv(tmp_path / "b.csv", rows), NOV_1, skip_invalid=True
    )
    assert not older.came_into_force
    assert (older.changed, older.removed, older.unchanged, older.kept_for_skipped) == (1, 0, 1, 1)
    with Session(engine) as session:
        stored = session.scalars(
            select(PopulationRow.nik).where(PopulationRow.valid_from == older.snapshot_id)
        ).all()
    assert stored == [nik(1)]
    assert sorted(current(engine)) == [nik(1), nik(2)]


def test_rows_written_in_many_chunks_import_and_compare_alike(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small chunks and batches make every write path run several times."""
    monkeypatch.setattr(writer, "_CHUNK", 2)
    monkeypatch.setattr(writer, "_BATCH", 2)
    everyone = [person(n) for n in range(1, 8)]
    first = run_import(engine, "population", write_csv(tmp_path / "a.csv", everyone), NOV_1)
    assert first.added == 7
    rows = [person(n) for n in range(1, 7)] + [person(8)]
    rows[2] = person(3, NAMA_LGKP="Changed")
    second = run_import(engine, "population", write_csv(tmp_path / "b.csv", rows), NOV_15)
    assert (second.added, second.changed, second.removed, second.unchanged) == (1, 1, 1, 5)
    now = current(engine)
    assert sorted(now) == sorted(nik(n) for n in (1, 2, 3, 4, 5, 6, 8))
    assert now[nik(3)].name == "Changed"


def test_unreadable_line_after_rows_were_sent_changes_nothing(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows already written when a later line turns out unreadable are rolled back."""
    monkeypatch.setattr(writer, "_CHUNK", 2)
    monkeypatch.setattr(writer, "_BATCH", 2)
    path = write_csv(tmp_path / "p.csv", [person(n) for n in range(1, 6)])
    with path.open("a", encoding="utf-8") as file:
        file.write(f'{nik(6)},6402010101090001,"{"A" * 200_000}",1990-01-01,P,6402012001,,MATI\n')
    rejected = rejection(engine, "population", path)
    assert rejected.reason == "the file is not readable CSV"
    assert "field larger than field limit" in rejected.problems[0].reason
    assert snapshot_count(engine) == 0
    assert current(engine) == {}


def test_unreadable_line_in_a_reimport_leaves_the_rows_in_force(
    engine: Engine, tmp_path: Path
) -> None:
    """A re-import stages its rows; a late unreadable line still changes nothing."""
    run_import(engine, "population", write_csv(tmp_path / "a.csv", [person(1)]), NOV_1)
    path = write_csv(tmp_path / "b.csv", [person(1, NAMA_LGKP="New"), person(2)])
    with path.open("a", encoding="utf-8") as file:
        file.write(f'{nik(3)},6402010101090001,"{"A" * 200_000}",1990-01-01,P,6402012001,,MATI\n')
    assert rejection(engine, "population", path).reason == "the file is not readable CSV"
    assert snapshot_count(engine) == 1
    assert [row.name for row in current(engine).values()] == ["Siti Rahmah 1"]


def test_line_that_is_not_utf8_is_found_across_read_blocks(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is checked in blocks: a character split between two blocks is still good."""
    monkeypatch.setattr(csvfile, "_BLOCK", 5)
    path = tmp_path / "k.csv"
    text = f"NIK,NO_KARTU,STATUS,SEGMEN\n{nik(1)},1,AKTIF,Pérez Ñ\n{nik(2)},2,AKTIF,PPU\n"
    path.write_bytes(text.encode("utf-8") + f"{nik(3)},3,AKTIF,Pé".encode("cp1252") + b"\n")
    rejected = rejection(engine, "jkn", path)
    assert [(problem.line, problem.column) for problem in rejected.problems] == [(4, None)]


def test_several_imports_in_one_transaction(engine: Engine, tmp_path: Path) -> None:
    """Each import drops its temporary tables, so the next one in the same session can run."""
    with Session(engine) as session, session.begin():
        for source, path, as_of in (
            ("population", write_csv(tmp_path / "a.csv", [person(1)]), NOV_1),
            ("jkn", write_csv(tmp_path / "b.csv", [jkn_member(1)]), NOV_1),
        ):
            import_file(session, source, path, as_of, hash_key=TEST_KEY)
        rows = [person(1, NAMA_LGKP="Later")]
        path = write_csv(tmp_path / "c.csv", rows)
        again = import_file(session, "population", path, NOV_15, hash_key=TEST_KEY)
    assert again.changed == 1
    assert current(engine)[nik(1)].name == "Later"
