"""The four import sources: their columns, how a row becomes stored values, where it goes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from models import Base, Facility, JamkesdaRow, JknRow, PopulationRow
from service.imports import fields
from service.imports.csvfile import CsvRow
from service.imports.fields import FieldError
from service.imports.report import Problem

T = TypeVar("T")
# The stored values of one row, by model attribute name.
Record = dict[str, object]


@dataclass
class RowReader:
    """Reads one row's values column by column, collecting every problem instead of stopping."""

    row: CsvRow
    problems: list[Problem] = field(default_factory=list)

    def get(self, column: str, parse: Callable[[str], T]) -> T | None:
        """The parsed value of ``column``, or None after noting why it is bad."""
        try:
            return parse(self.row.values[column])
        except FieldError as exc:
            self.fail(column, str(exc))
            return None

    def fail(self, column: str, reason: str) -> None:
        """Note a problem of this row in ``column``."""
        self.problems.append(Problem(self.row.line, column, reason))

    def failed(self, column: str) -> bool:
        """Whether a problem was already noted in ``column``."""
        return any(problem.column == column for problem in self.problems)


@dataclass(frozen=True)
class Source:
    """An import source: its file's columns and the table its rows are stored in."""

    name: str
    model: type[Base]
    columns: tuple[str, ...]
    # The model attributes a row sets; the first is the key (NIK or facility code).
    fields: tuple[str, ...]
    parse: Callable[[RowReader], Record]
    # Population, Jamkesda and JKN files are full snapshots with history; facilities are upserts.
    full_snapshot: bool = True

    @property
    def key_column(self) -> str:
        """The column that identifies a row: each value may appear once in a file."""
        return self.columns[0]


def _population(row: RowReader) -> Record:
    """A person's row of the Disdukcapil extract."""
    status = row.get("STATUS", fields.choice(fields.same("HIDUP", "MATI", "PINDAH")))
    domiciled_since = row.get("TGL_DOMISILI", fields.optional_date)
    # Residency is counted from TGL_DOMISILI, so a living resident without it cannot be decided.
    if status == "HIDUP" and domiciled_since is None and not row.failed("TGL_DOMISILI"):
        row.fail("TGL_DOMISILI", "a value is required when STATUS is HIDUP")
    sexes = {"LAKI-LAKI": "L", "PEREMPUAN": "P", "L": "L", "P": "P"}
    return {
        "nik": row.get("NIK", fields.nik),
        "no_kk": row.get("NO_KK", fields.digits(16)),
        "name": row.get("NAMA_LGKP", fields.text(200)),
        "birth_date": row.get("TGL_LHR", fields.calendar_date),
        "sex": row.get("JENIS_KLMIN", fields.choice(sexes)),
        "village_code": row.get("KODE_WILAYAH", fields.village_code),
        "domiciled_since": domiciled_since,
        "status": status,
    }


def _jamkesda(row: RowReader) -> Record:
    """A person's Jamkesda membership."""
    start = row.get("TGL_MULAI", fields.calendar_date)
    end = row.get("TGL_AKHIR", fields.optional_date)
    if start is not None and end is not None and end < start:
        row.fail("TGL_AKHIR", f"{end.isoformat()} is before TGL_MULAI {start.isoformat()}")
    classes = {"I": "I", "II": "II", "III": "III", "1": "I", "2": "II", "3": "III"}
    return {
        "nik": row.get("NIK", fields.nik),
        "member_no": row.get("NO_PESERTA", fields.text(64)),
        "status": row.get("STATUS", fields.choice(fields.same("AKTIF", "NONAKTIF"))),
        "start_date": start,
        "end_date": end,
        # Empty means the policy's default class, applied when deciding, so it is stored as NULL.
        "kelas": row.get("KELAS", fields.optional(fields.choice(classes))),
    }


def _jkn(row: RowReader) -> Record:
    """A person's JKN participation."""
    return {
        "nik": row.get("NIK", fields.nik),
        "card_no": row.get("NO_KARTU", fields.text(64)),
        "status": row.get("STATUS", fields.choice(fields.same("AKTIF", "TIDAK AKTIF"))),
        "segment": row.get("SEGMEN", fields.free_text(64)),
    }


def _facility(row: RowReader) -> Record:
    """A puskesmas, hospital or clinic."""
    kinds = {**fields.same("PUSKESMAS", "RUMAH_SAKIT", "KLINIK"), "RUMAH SAKIT": "RUMAH_SAKIT"}
    return {
        "code": row.get("KODE", fields.text(32)),
        "name": row.get("NAMA", fields.text(200)),
        "kind": row.get("JENIS", fields.choice(kinds)),
        "village_code": row.get("KODE_WILAYAH", fields.village_code),
        "jamkesda_partner": row.get("MITRA_JAMKESDA", fields.choice({"Y": "Y", "N": "N"})) == "Y",
    }


POPULATION = Source(
    "population",
    PopulationRow,
    (
        "NIK",
        "NO_KK",
        "NAMA_LGKP",
        "TGL_LHR",
        "JENIS_KLMIN",
        "KODE_WILAYAH",
        "TGL_DOMISILI",
        "STATUS",
    ),
    (
        "nik",
        "no_kk",
        "name",
        "birth_date",
        "sex",
        "village_code",
        "domiciled_since",
        "status",
    ),
    _population,
)
JAMKESDA = Source(
    "jamkesda",
    JamkesdaRow,
    ("NIK", "NO_PESERTA", "STATUS", "TGL_MULAI", "TGL_AKHIR", "KELAS"),
    ("nik", "member_no", "status", "start_date", "end_date", "kelas"),
    _jamkesda,
)
JKN = Source(
    "jkn",
    JknRow,
    ("NIK", "NO_KARTU", "STATUS", "SEGMEN"),
    ("nik", "card_no", "status", "segment"),
    _jkn,
)
FACILITIES = Source(
    "facilities",
    Facility,
    ("KODE", "NAMA", "JENIS", "KODE_WILAYAH", "MITRA_JAMKESDA"),
    ("code", "name", "kind", "village_code", "jamkesda_partner"),
    _facility,
    full_snapshot=False,
)
SOURCES = {source.name: source for source in (POPULATION, JAMKESDA, JKN, FACILITIES)}
SOURCE_NAMES = tuple(SOURCES)
