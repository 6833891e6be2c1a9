"""Import files (SPEC §7): reading the CSV, validating every column, rejecting or skipping."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import Facility, JamkesdaRow, JknRow, PopulationRow, Snapshot
from service.imports import ImportRejected, ImportResult, Problem, import_file
from service.imports.sources import SOURCES
from service.imports.validate import parse_row
from service.nik import parse_nik
from tests.factories import TEST_NIK_HASH_KEY

AS_OF = date(2026, 11, 25)
TEST_KEY = TEST_NIK_HASH_KEY.encode()


def nik(serial: int, day: int = 41, month: int = 1, year: int = 90) -> str:
    """A structurally valid Kukar NIK (a woman born on 1 January 1990 by default)."""
    value = f"640201{day:02d}{month:02d}{year:02d}{serial:04d}"
    return parse_nik(value).value


def person(serial: int = 1, /, **values: str) -> dict[str, str]:
    """A valid population row, with some values replaced."""
    return {
        "NIK": nik(serial),
        "NO_KK": "6402010101090001",
        "NAMA_LGKP": f"Siti Rahmah {serial}",
        "TGL_LHR": "1990-01-01",
        "JENIS_KLMIN": "P",
        "KODE_WILAYAH": "64.02.01.2001",
        "TGL_DOMISILI": "1990-01-01",
        "STATUS": "HIDUP",
        **values,
    }


def membership(serial: int = 1, /, **values: str) -> dict[str, str]:
    """A valid Jamkesda membership row, with some values replaced."""
    return {
        "NIK": nik(serial),
        "NO_PESERTA": f"JKD-{serial:06d}",
        "STATUS": "AKTIF",
        "TGL_MULAI": "2025-01-01",
        "TGL_AKHIR": "2026-12-31",
        "KELAS": "III",
        **values,
    }


def jkn_member(serial: int = 1, /, **values: str) -> dict[str, str]:
    """A valid JKN participant row, with some values replaced."""
    return {
        "NIK": nik(serial),
        "NO_KARTU": f"0001{serial:09d}",
        "STATUS": "AKTIF",
        "SEGMEN": "PBI APBN",
        **values,
    }


def facility(code: str = "1040001", /, **values: str) -> dict[str, str]:
    """A valid facility row, with some values replaced."""
    return {
        "KODE": code,
        "NAMA": f"Puskesmas {code}",
        "JENIS": "PUSKESMAS",
        "KODE_WILAYAH": "6402012001",
        "MITRA_JAMKESDA": "Y",
        **values,
    }


def write_csv(
    path: Path,
    rows: list[dict[str, str]],
    delimiter: str = ",",
    bom: bool = False,
    header: list[str] | None = None,
) -> Path:
    """Write ``rows`` as a CSV file under the header (default: the first row's keys)."""
    names = header if header is not None else list(rows[0])
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as file:
        writer = csv.writer(file, delimiter=delimiter)
        writer.writerow(names)
        for row in rows:
            writer.writerow(row.values())
    return path


def run_import(
    engine: Engine,
    source: str,
    path: Path,
    as_of: date = AS_OF,
    skip_invalid: bool = False,
) -> ImportResult:
    """Import a file in its own committed unit of work, hashing NIKs under the test key."""
    with Session(engine) as session, session.begin():
        return import_file(session, source, path, as_of, skip_invalid, hash_key=TEST_KEY)


def rejection(
    engine: Engine, source: str, path: Path, skip_invalid: bool = False
) -> ImportRejected:
    """The rejection of a file that must not be imported."""
    with pytest.raises(ImportRejected) as info:
        run_import(engine, source, path, skip_invalid=skip_invalid)
    return info.value


def snapshot_count(engine: Engine) -> int:
    """How many imports are recorded."""
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Snapshot)) or 0


def test_every_source_sets_each_stored_column_of_its_table() -> None:
    """The diff compares the declared fields, so they and the NIK's hash must be every column."""
    rows = {
        "population": person(),
        "jamkesda": membership(),
        "jkn": jkn_member(),
        "facilities": facility(),
    }
    bookkeeping = {"id", "valid_from", "valid_to", "snapshot_id"}
    for name, source in SOURCES.items():
        stored = {column.key for column in source.model.__table__.columns} - bookkeeping
        assert sorted(source.stored_fields) == sorted(stored)
        assert source.stored_fields[: len(source.fields)] == source.fields
        values, problems = parse_row(source, 2, [rows[name][column] for column in source.columns])
        assert problems == []
        assert len(values) == len(source.fields)
        assert None not in values[:1]


def test_population_row_is_stored_with_canonical_values(engine: Engine, tmp_path: Path) -> None:
    """Sex becomes L/P and a dotted village code becomes 10 digits."""
    path = write_csv(tmp_path / "penduduk.csv", [person(JENIS_KLMIN="perempuan")])
    result = run_import(engine, "population", path)
    assert (result.rows_read, result.added) == (1, 1)
    with Session(engine) as session:
        row = session.scalars(select(PopulationRow)).one()
    assert (row.nik, row.no_kk, row.name) == (nik(1), "6402010101090001", "Siti Rahmah 1")
    assert (row.sex, row.village_code, row.status) == ("P", "6402012001", "HIDUP")
    assert (row.birth_date, row.domiciled_since) == (date(1990, 1, 1), date(1990, 1, 1))
    assert (row.valid_from, row.valid_to) == (result.snapshot_id, None)


@pytest.mark.parametrize(
    ("column", "value", "stored"),
    [
        ("NIK", "6402 0141 0190 0001", "6402014101900001"),
        ("JENIS_KLMIN", "LAKI-LAKI", "L"),
        ("JENIS_KLMIN", "laki-laki", "L"),
        ("JENIS_KLMIN", "l", "L"),
        ("JENIS_KLMIN", "Perempuan", "P"),
        ("KODE_WILAYAH", "6402012001", "6402012001"),
        ("KODE_WILAYAH", "99.99.99.9999", "9999999999"),
        ("STATUS", "pindah", "PINDAH"),
        ("STATUS", "Mati", "MATI"),
        ("TGL_LHR", "2024-02-29", date(2024, 2, 29)),
        ("TGL_LHR", "29-02-2024", date(2024, 2, 29)),
        ("TGL_LHR", "29/02/2024", date(2024, 2, 29)),
        ("TGL_LHR", "1/2/1990", date(1990, 2, 1)),
    ],
)
def test_population_accepts_each_spelling_and_stores_it_canonically(
    engine: Engine, tmp_path: Path, column: str, value: str, stored: object
) -> None:
    """Enumerations ignore case, village codes may be dotted, dates come in three formats."""
    path = write_csv(tmp_path / "penduduk.csv", [person(**{column: value})])
    run_import(engine, "population", path)
    attribute = {
        "NIK": "nik",
        "JENIS_KLMIN": "sex",
        "KODE_WILAYAH": "village_code",
        "STATUS": "status",
        "TGL_LHR": "birth_date",
    }[column]
    with Session(engine) as session:
        assert getattr(session.scalars(select(PopulationRow)).one(), attribute) == stored


def test_nik_whose_birth_date_and_sex_differ_from_the_row_is_accepted(
    engine: Engine, tmp_path: Path
) -> None:
    """Registries correct TGL_LHR and JENIS_KLMIN without changing the NIK."""
    row = person(NIK=nik(1, day=41, month=1, year=90), TGL_LHR="1985-07-12", JENIS_KLMIN="L")
    result = run_import(engine, "population", write_csv(tmp_path / "p.csv", [row]))
    assert result.added == 1


@pytest.mark.parametrize("status", ["MATI", "PINDAH"])
def test_domicile_date_may_be_empty_unless_alive(
    engine: Engine, tmp_path: Path, status: str
) -> None:
    """TGL_DOMISILI is required only when STATUS is HIDUP."""
    path = write_csv(tmp_path / "p.csv", [person(STATUS=status, TGL_DOMISILI="")])
    run_import(engine, "population", path)
    with Session(engine) as session:
        assert session.scalars(select(PopulationRow.domiciled_since)).one() is None


BAD_POPULATION = [
    ("NIK", "", "a value is required"),
    ("NIK", "640201410190001", "16 digits"),
    ("NIK", "0002014101900001", "province code"),
    ("NIK", "6402018101900001", "birth day"),
    ("NIK", "6402014113900001", "birth month"),
    ("NIK", "6402013102900001", "not a real calendar date"),
    ("NIK", "6402014101900000", "serial number"),
    ("NO_KK", "640201010109000", "must be 16 digits"),
    ("NO_KK", "64020101010900AB", "must be 16 digits"),
    ("NO_KK", "", "a value is required"),
    ("NAMA_LGKP", "", "a value is required"),
    ("NAMA_LGKP", "A" * 201, "at most 200"),
    ("TGL_LHR", "", "a value is required"),
    ("TGL_LHR", "1990-02-30", "not a real calendar date"),
    ("TGL_LHR", "30/02/1990", "not a real calendar date"),
    ("TGL_LHR", "31-04-1990", "not a real calendar date"),
    ("TGL_LHR", "1 Januari 1990", "not a date"),
    ("TGL_LHR", "1990/01/01", "not a date"),
    ("TGL_LHR", "01-01/1990", "not a date"),
    ("JENIS_KLMIN", "", "a value is required"),
    ("JENIS_KLMIN", "W", "is not one of LAKI-LAKI, PEREMPUAN, L, P"),
    ("KODE_WILAYAH", "", "a value is required"),
    ("KODE_WILAYAH", "64.02.01", "not a village code"),
    ("KODE_WILAYAH", "640201200", "not a village code"),
    ("KODE_WILAYAH", "64-02-01-2001", "not a village code"),
    ("TGL_DOMISILI", "", "required when STATUS is HIDUP"),
    ("TGL_DOMISILI", "2020-13-01", "not a real calendar date"),
    ("STATUS", "", "a value is required"),
    ("STATUS", "HILANG", "is not one of HIDUP, MATI, PINDAH"),
]


@pytest.mark.parametrize(("column", "value", "reason"), BAD_POPULATION)
def test_bad_population_value_rejects_the_file_naming_line_and_column(
    engine: Engine, tmp_path: Path, column: str, value: str, reason: str
) -> None:
    """Each column's rule: the report gives the line (header is 1), the column and why."""
    rows = [person(1), person(2, **{column: value})]
    problems = rejection(engine, "population", write_csv(tmp_path / "p.csv", rows)).problems
    assert [(problem.line, problem.column) for problem in problems] == [(3, column)]
    assert reason in problems[0].reason
    assert snapshot_count(engine) == 0


def test_bad_nik_is_not_repeated_in_the_report(engine: Engine, tmp_path: Path) -> None:
    """The report may end up in logs: it names the line, not the person's number."""
    bad = "6402014101900000"
    problems = rejection(
        engine, "population", write_csv(tmp_path / "p.csv", [person(NIK=bad)])
    ).problems
    assert bad not in str(problems[0])


@pytest.mark.parametrize(
    ("values", "attribute", "stored"),
    [
        ({"KELAS": ""}, "kelas", None),
        ({"KELAS": "2"}, "kelas", "II"),
        ({"KELAS": "iii"}, "kelas", "III"),
        ({"KELAS": "1"}, "kelas", "I"),
        ({"TGL_AKHIR": ""}, "end_date", None),
        ({"TGL_AKHIR": "2025-01-01"}, "end_date", date(2025, 1, 1)),
        ({"STATUS": "nonaktif"}, "status", "NONAKTIF"),
        ({"TGL_MULAI": "01/03/2025"}, "start_date", date(2025, 3, 1)),
    ],
)
def test_jamkesda_row_is_stored_canonically(
    engine: Engine, tmp_path: Path, values: dict[str, str], attribute: str, stored: object
) -> None:
    """An empty class is NULL (the policy default applies), 1/2/3 mean I/II/III."""
    run_import(engine, "jamkesda", write_csv(tmp_path / "j.csv", [membership(**values)]))
    with Session(engine) as session:
        assert getattr(session.scalars(select(JamkesdaRow)).one(), attribute) == stored


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("NIK", "12345", "16 digits"),
        ("NO_PESERTA", "", "a value is required"),
        ("NO_PESERTA", "9" * 65, "at most 64"),
        ("STATUS", "AKTIV", "is not one of AKTIF, NONAKTIF"),
        ("STATUS", "TIDAK AKTIF", "is not one of AKTIF, NONAKTIF"),
        ("TGL_MULAI", "", "a value is required"),
        ("TGL_MULAI", "2025-02-29", "not a real calendar date"),
        ("TGL_AKHIR", "31/12/24", "not a date"),
        ("TGL_AKHIR", "2024-12-31", "is before TGL_MULAI 2025-01-01"),
        ("KELAS", "IV", "is not one of I, II, III, 1, 2, 3"),
        ("KELAS", "VIP", "is not one of"),
    ],
)
def test_bad_jamkesda_value_rejects_the_file(
    engine: Engine, tmp_path: Path, column: str, value: str, reason: str
) -> None:
    """Each Jamkesda column's rule, reported with its line and column."""
    path = write_csv(tmp_path / "j.csv", [membership(**{column: value})])
    problems = rejection(engine, "jamkesda", path).problems
    assert [(problem.line, problem.column) for problem in problems] == [(2, column)]
    assert reason in problems[0].reason


@pytest.mark.parametrize(
    ("values", "attribute", "stored"),
    [
        ({"STATUS": "tidak  aktif"}, "status", "TIDAK AKTIF"),
        ({"STATUS": "Aktif"}, "status", "AKTIF"),
        ({"SEGMEN": "PBPU"}, "segment", "PBPU"),
        ({"SEGMEN": ""}, "segment", ""),
    ],
)
def test_jkn_row_is_stored_canonically(
    engine: Engine, tmp_path: Path, values: dict[str, str], attribute: str, stored: object
) -> None:
    """JKN status ignores case and spacing; the segment is free text."""
    run_import(engine, "jkn", write_csv(tmp_path / "k.csv", [jkn_member(**values)]))
    with Session(engine) as session:
        assert getattr(session.scalars(select(JknRow)).one(), attribute) == stored


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("NIK", "6402014101900000", "serial number"),
        ("NO_KARTU", "", "a value is required"),
        ("STATUS", "NONAKTIF", "is not one of AKTIF, TIDAK AKTIF"),
        ("SEGMEN", "X" * 65, "at most 64"),
    ],
)
def test_bad_jkn_value_rejects_the_file(
    engine: Engine, tmp_path: Path, column: str, value: str, reason: str
) -> None:
    """Each JKN column's rule, reported with its line and column."""
    path = write_csv(tmp_path / "k.csv", [jkn_member(**{column: value})])
    problems = rejection(engine, "jkn", path).problems
    assert [(problem.line, problem.column) for problem in problems] == [(2, column)]
    assert reason in problems[0].reason


def test_facility_row_is_stored_canonically(engine: Engine, tmp_path: Path) -> None:
    """Kinds and the partner flag ignore case; the village code is stored as 10 digits."""
    rows = [
        facility("1040001", JENIS="puskesmas", MITRA_JAMKESDA="y", KODE_WILAYAH="64.02.01.2001"),
        facility("RS-AM-PARIKESIT", JENIS="Rumah Sakit", MITRA_JAMKESDA="N"),
        facility("K-77", JENIS="KLINIK", MITRA_JAMKESDA="n"),
    ]
    run_import(engine, "facilities", write_csv(tmp_path / "f.csv", rows))
    with Session(engine) as session:
        stored = {
            row.code: (row.kind, row.jamkesda_partner, row.village_code)
            for row in session.scalars(select(Facility))
        }
    assert stored == {
        "1040001": ("PUSKESMAS", True, "6402012001"),
        "RS-AM-PARIKESIT": ("RUMAH_SAKIT", False, "6402012001"),
        "K-77": ("KLINIK", False, "6402012001"),
    }


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("KODE", "", "a value is required"),
        ("KODE", "K" * 33, "at most 32"),
        ("NAMA", "", "a value is required"),
        ("JENIS", "APOTEK", "is not one of PUSKESMAS, RUMAH_SAKIT, KLINIK"),
        ("KODE_WILAYAH", "6402", "not a village code"),
        ("MITRA_JAMKESDA", "YA", "is not one of Y, N"),
        ("MITRA_JAMKESDA", "", "a value is required"),
    ],
)
def test_bad_facility_value_rejects_the_file(
    engine: Engine, tmp_path: Path, column: str, value: str, reason: str
) -> None:
    """Each facility column's rule, reported with its line and column."""
    path = write_csv(tmp_path / "f.csv", [facility(**{column: value})])
    problems = rejection(engine, "facilities", path).problems
    assert [(problem.line, problem.column) for problem in problems] == [(2, column)]
    assert reason in problems[0].reason


def test_report_lists_every_bad_row_and_every_bad_column(engine: Engine, tmp_path: Path) -> None:
    """One bad row rejects the file, and the operator sees all of them at once."""
    rows = [
        person(1),
        person(2, TGL_LHR="1990-02-30", STATUS="HILANG"),
        person(3),
        person(4, NO_KK="123"),
        person(5, JENIS_KLMIN="X"),
    ]
    rejected = rejection(engine, "population", write_csv(tmp_path / "p.csv", rows))
    assert [(problem.line, problem.column) for problem in rejected.problems] == [
        (3, "TGL_LHR"),
        (3, "STATUS"),
        (5, "NO_KK"),
        (6, "JENIS_KLMIN"),
    ]
    assert rejected.reason == "3 of 5 rows are invalid"
    assert rejected.rows_read == 5
    assert str(rejected.problems[2]) == "line 5, column NO_KK: must be 16 digits"


def test_nik_twice_in_a_file_makes_every_occurrence_bad(engine: Engine, tmp_path: Path) -> None:
    """Which of two rows is right cannot be known, so neither is imported."""
    rows = [person(1), person(2), person(1, NAMA_LGKP="Other"), person(3), person(1)]
    problems = rejection(engine, "population", write_csv(tmp_path / "p.csv", rows)).problems
    assert [(problem.line, problem.column) for problem in problems] == [
        (2, "NIK"),
        (4, "NIK"),
        (6, "NIK"),
    ]
    assert "appears 3 times in the file (lines 2, 4, 6)" in problems[0].reason


def test_nik_written_with_and_without_spaces_is_the_same_nik(
    engine: Engine, tmp_path: Path
) -> None:
    """Duplicates are found on the NIK's digits, not on how it was typed."""
    rows = [person(1), person(2, NIK="6402 0141 0190 0001")]
    problems = rejection(engine, "population", write_csv(tmp_path / "p.csv", rows)).problems
    assert [problem.line for problem in problems] == [2, 3]


def test_facility_code_twice_in_a_file_makes_every_occurrence_bad(
    engine: Engine, tmp_path: Path
) -> None:
    """A facility code identifies one facility."""
    rows = [facility("A"), facility("B"), facility("A", NAMA="Other")]
    problems = rejection(engine, "facilities", write_csv(tmp_path / "f.csv", rows)).problems
    assert [(problem.line, problem.column) for problem in problems] == [(2, "KODE"), (4, "KODE")]


def test_rejected_file_leaves_the_data_unchanged(engine: Engine, tmp_path: Path) -> None:
    """Nothing is written when any row is bad, not even the good rows or a snapshot."""
    first = run_import(engine, "population", write_csv(tmp_path / "a.csv", [person(1)]))
    bad = [person(1, NAMA_LGKP="Changed"), person(2), person(3, TGL_LHR="x")]
    rejection(engine, "population", write_csv(tmp_path / "b.csv", bad))
    with Session(engine) as session:
        rows = session.execute(select(PopulationRow.nik, PopulationRow.name)).all()
        snapshots = session.scalars(select(Snapshot.id)).all()
    assert [tuple(row) for row in rows] == [(nik(1), "Siti Rahmah 1")]
    assert snapshots == [first.snapshot_id]


def test_skip_invalid_imports_the_good_rows_and_reports_the_rest(
    engine: Engine, tmp_path: Path
) -> None:
    """With --skip-invalid the bad rows are listed in the result and the rest is imported."""
    rows = [person(1), person(2, TGL_LHR="x"), person(3), person(4, NIK="1")]
    result = run_import(
        engine, "population", write_csv(tmp_path / "p.csv", rows), skip_invalid=True
    )
    assert (result.rows_read, result.added) == (4, 2)
    assert [(problem.line, problem.column) for problem in result.problems] == [
        (3, "TGL_LHR"),
        (5, "NIK"),
    ]
    with Session(engine) as session:
        assert set(session.scalars(select(PopulationRow.nik))) == {nik(1), nik(3)}
        assert session.scalars(select(Snapshot.rows)).one() == 2


def test_skipped_row_does_not_remove_the_person_in_force(engine: Engine, tmp_path: Path) -> None:
    """A typing error in a new row must not make a known resident disappear."""
    run_import(engine, "population", write_csv(tmp_path / "a.csv", [person(1), person(2)]))
    rows = [person(1), person(2, TGL_LHR="bad")]
    result = run_import(
        engine,
        "population",
        write_csv(tmp_path / "b.csv", rows),
        as_of=date(2026, 11, 26),
        skip_invalid=True,
    )
    assert (result.removed, result.unchanged, result.kept_for_skipped) == (0, 2, 1)
    with Session(engine) as session:
        current = session.scalars(
            select(PopulationRow.nik).where(PopulationRow.valid_to.is_(None))
        ).all()
    assert sorted(current) == [nik(1), nik(2)]


def test_skip_invalid_with_no_good_row_left_rejects_the_file(
    engine: Engine, tmp_path: Path
) -> None:
    """An import of nothing would remove everyone, so it is refused."""
    path = write_csv(tmp_path / "p.csv", [person(1, STATUS="?"), person(2, NIK="0")])
    rejected = rejection(engine, "population", path, skip_invalid=True)
    assert rejected.reason == "no valid rows remain"
    assert len(rejected.problems) == 2
    assert snapshot_count(engine) == 0


def test_bom_semicolons_and_mixed_case_headers_are_read(engine: Engine, tmp_path: Path) -> None:
    """Spreadsheets in Indonesian locales write `;`, often with a BOM and their own casing."""
    header = [" nik", "No_Kk ", "nama_lgkp", "Tgl_Lhr", "jenis_klmin", "Kode_Wilayah"]
    header += ["tgl_domisili", "Status"]
    path = write_csv(
        tmp_path / "p.csv",
        [person(1, NAMA_LGKP="Rahmah; binti Ali")],
        delimiter=";",
        bom=True,
        header=header,
    )
    run_import(engine, "population", path)
    with Session(engine) as session:
        row = session.scalars(select(PopulationRow)).one()
    assert (row.nik, row.name) == (nik(1), "Rahmah; binti Ali")


def test_columns_may_come_in_any_order_with_extra_columns_ignored(
    engine: Engine, tmp_path: Path
) -> None:
    """Only the named columns matter."""
    path = tmp_path / "p.csv"
    path.write_text(
        "STATUS,KETERANGAN,NIK,TGL_DOMISILI,KODE_WILAYAH,JENIS_KLMIN,TGL_LHR,NAMA_LGKP,NO_KK\n"
        f"HIDUP,catatan,{nik(1)},2000-01-01,6402012001,L,1980-05-05,Budi,6402010101090001\n",
        encoding="utf-8",
    )
    run_import(engine, "population", path)
    with Session(engine) as session:
        row = session.scalars(select(PopulationRow)).one()
    assert (row.name, row.sex, row.birth_date) == ("Budi", "L", date(1980, 5, 5))


def test_blank_lines_and_trailing_delimiters_are_ignored(engine: Engine, tmp_path: Path) -> None:
    """Spreadsheets leave empty rows and empty cells at the end; line numbers still count them."""
    path = tmp_path / "k.csv"
    path.write_text(
        "NIK;NO_KARTU;STATUS;SEGMEN;\r\n"
        f"{nik(1)};0001;AKTIF;PPU;\r\n"
        "\r\n"
        ";;;;\r\n"
        f"{nik(2)};0002;AKTIF;PPU\r\n"
        f"{nik(3)};0003;RUSAK;PPU;;\r\n",
        encoding="utf-8",
    )
    problems = rejection(engine, "jkn", path).problems
    assert [(problem.line, problem.column) for problem in problems] == [(6, "STATUS")]


def test_row_with_more_values_than_the_header_is_bad(engine: Engine, tmp_path: Path) -> None:
    """A stray delimiter shifts values into the wrong columns, so the row is not guessed at."""
    path = tmp_path / "k.csv"
    path.write_text(
        f"NIK,NO_KARTU,STATUS,SEGMEN\n{nik(1)},0001,AKTIF,PBI APBN\n{nik(2)},0002,AKTIF,PBI,APBN\n"
        f"{nik(3)},0003,AKTIF\n",
        encoding="utf-8",
    )
    rejected = rejection(engine, "jkn", path)
    assert [(problem.line, problem.column) for problem in rejected.problems] == [
        (3, None),
        (4, None),
    ]
    assert "the row has 5 fields but the header has 4" in rejected.problems[0].reason
    assert rejected.rows_read == 3


def test_missing_required_column_rejects_the_whole_file(engine: Engine, tmp_path: Path) -> None:
    """Each missing column is named on the header line."""
    rows = [{key: value for key, value in person().items() if key not in {"NO_KK", "STATUS"}}]
    rejected = rejection(engine, "population", write_csv(tmp_path / "p.csv", rows))
    assert [(problem.line, problem.column) for problem in rejected.problems] == [
        (1, "NO_KK"),
        (1, "STATUS"),
    ]
    assert "required column NO_KK is missing" in rejected.problems[0].reason


def test_column_named_twice_in_the_header_rejects_the_file(engine: Engine, tmp_path: Path) -> None:
    """Which of the two columns holds the value cannot be known."""
    path = tmp_path / "k.csv"
    path.write_text(f"NIK,NO_KARTU,STATUS,SEGMEN,nik\n{nik(1)},1,AKTIF,PPU,{nik(2)}\n")
    problems = rejection(engine, "jkn", path).problems
    assert [(problem.line, problem.column) for problem in problems] == [(1, "NIK")]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty"),
        (b"\xef\xbb\xbf", "the file is empty"),
        (b"NIK,NO_KARTU,STATUS,SEGMEN\n", "the file has no data rows"),
        (b"NIK,NO_KARTU,STATUS,SEGMEN\r\n\r\n,,\r\n", "the file has no data rows"),
    ],
)
def test_file_without_data_rows_is_rejected(
    engine: Engine, tmp_path: Path, content: bytes, reason: str
) -> None:
    """An empty snapshot would remove everyone, so it is refused."""
    path = tmp_path / "k.csv"
    path.write_bytes(content)
    assert rejection(engine, "jkn", path).reason == reason


def test_file_that_is_not_utf8_is_rejected_at_its_line(engine: Engine, tmp_path: Path) -> None:
    """A file saved as Windows-1252 names the first line that is not UTF-8."""
    path = tmp_path / "p.csv"
    text = f"NIK,NO_KARTU,STATUS,SEGMEN\n{nik(1)},1,AKTIF,PPU\n{nik(2)},2,AKTIF,Pérez\n"
    path.write_bytes(text.encode("cp1252"))
    rejected = rejection(engine, "jkn", path)
    assert rejected.problems == (
        Problem(3, None, "this line is not UTF-8 text; save the file as CSV UTF-8"),
    )


def test_quoted_values_may_hold_delimiters_and_line_breaks(engine: Engine, tmp_path: Path) -> None:
    """Line numbers count physical lines, so a later bad row is still found in an editor."""
    path = tmp_path / "f.csv"
    path.write_text(
        "KODE,NAMA,JENIS,KODE_WILAYAH,MITRA_JAMKESDA\n"
        '1,"Puskesmas Loa Janan, Kukar",PUSKESMAS,6402012001,Y\n'
        '2,"Klinik\nPratama",KLINIK,6402012001,Y\n'
        "3,RS,RUMAH_SAKIT,6402012001,maybe\n",
        encoding="utf-8",
    )
    problems = rejection(engine, "facilities", path).problems
    assert [(problem.line, problem.column) for problem in problems] == [(5, "MITRA_JAMKESDA")]


def test_unknown_source_is_a_programming_error(engine: Engine, tmp_path: Path) -> None:
    """The command line offers only the four sources; anything else is a bug."""
    path = write_csv(tmp_path / "p.csv", [person()])
    with pytest.raises(ValueError, match="unknown source 'people'"):
        run_import(engine, "people", path)
