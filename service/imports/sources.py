"""The four import sources: their columns, how a row becomes stored values, where it goes."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property

from sqlalchemy import Table

from models import Base, Facility, JamkesdaRow, JknRow, PopulationRow
from service.imports import fields
from service.imports.fields import remembered

# The column of the NIK's keyed hash in the population, Jamkesda and JKN tables.
NIK_HASH = "nik_hash"
# The stored values of one row, in the order of its source's fields.
Record = Sequence[object]
# A rule across columns: given a row's values and the columns already found bad, the
# (column, reason) of each further problem.
Check = Callable[[Record, Collection[str]], list[tuple[str, str]]]


@dataclass(frozen=True)
class Column:
    """One column of an import file: its header, the model attribute it sets, its parser."""

    header: str
    field: str
    parse: Callable[[str], object]


def _at(layout: tuple[Column, ...], *names: str) -> tuple[int, ...]:
    """Where the fields ``names`` sit in a row's values."""
    order = [column.field for column in layout]
    return tuple(order.index(name) for name in names)


def _no_check(_values: Record, _failed: Collection[str]) -> list[tuple[str, str]]:
    """No rule across columns."""
    return []


@dataclass(frozen=True)
class Source:
    """An import source: its file's columns and the table its rows are stored in."""

    name: str
    model: type[Base]
    layout: tuple[Column, ...]
    check: Check = _no_check
    # Population, Jamkesda and JKN files are full snapshots with history; facilities are upserts.
    full_snapshot: bool = True

    @property
    def columns(self) -> tuple[str, ...]:
        """The file's required columns; the first is the key (NIK or facility code)."""
        return tuple(column.header for column in self.layout)

    @property
    def fields(self) -> tuple[str, ...]:
        """The model attributes a row sets, in the order of ``columns``."""
        return tuple(column.field for column in self.layout)

    @property
    def stored_fields(self) -> tuple[str, ...]:
        """What a stored row holds from the file: its fields, and for people the NIK's hash.

        ``nik_hash`` (``service.nik.nik_hash`` of the NIK under NIK_HASH_KEY) is how a
        replay finds a record's person; the importer computes it for each row it stores.
        """
        return (*self.fields, NIK_HASH) if self.full_snapshot else self.fields

    @cached_property
    def parsers(self) -> tuple[Callable[[str], object], ...]:
        """The parser of each column, in the order of ``columns``."""
        return tuple(column.parse for column in self.layout)

    @property
    def table(self) -> Table:
        """The table the rows are stored in."""
        return self.model.__table__  # type: ignore[return-value]

    @property
    def row_id(self) -> str:
        """The primary key of a stored row: a version's id, or a facility's code."""
        return str(self.table.primary_key.columns.values()[0].name)

    @property
    def key_column(self) -> str:
        """The column that identifies a row: each value may appear once in a file."""
        return self.layout[0].header


_status = remembered(fields.choice(fields.same("HIDUP", "MATI", "PINDAH")))
_sex = remembered(fields.choice({"LAKI-LAKI": "L", "PEREMPUAN": "P", "L": "L", "P": "P"}))
_date = remembered(fields.calendar_date)
_optional_date = remembered(fields.optional_date)
_village = remembered(fields.village_code)
_POPULATION = (
    Column("NIK", "nik", fields.nik),
    Column("NO_KK", "no_kk", fields.digits(16)),
    Column("NAMA_LGKP", "name", fields.text(200)),
    Column("TGL_LHR", "birth_date", _date),
    Column("JENIS_KLMIN", "sex", _sex),
    Column("KODE_WILAYAH", "village_code", _village),
    Column("TGL_DOMISILI", "domiciled_since", _optional_date),
    Column("STATUS", "status", _status),
)
_DOMICILED, _STATUS = _at(_POPULATION, "domiciled_since", "status")


def _population(values: Record, failed: Collection[str]) -> list[tuple[str, str]]:
    """Residency is counted from TGL_DOMISILI, so a living resident without it is undecidable."""
    if values[_STATUS] == "HIDUP" and values[_DOMICILED] is None and "TGL_DOMISILI" not in failed:
        return [("TGL_DOMISILI", "a value is required when STATUS is HIDUP")]
    return []


_classes = {"I": "I", "II": "II", "III": "III", "1": "I", "2": "II", "3": "III"}
_JAMKESDA = (
    Column("NIK", "nik", fields.nik),
    Column("NO_PESERTA", "member_no", fields.text(64)),
    Column("STATUS", "status", remembered(fields.choice(fields.same("AKTIF", "NONAKTIF")))),
    Column("TGL_MULAI", "start_date", _date),
    Column("TGL_AKHIR", "end_date", _optional_date),
    # Empty means the policy's default class, applied when deciding, so it is stored as NULL.
    Column("KELAS", "kelas", remembered(fields.optional(fields.choice(_classes)))),
)
_START, _END = _at(_JAMKESDA, "start_date", "end_date")


def _jamkesda(values: Record, _failed: Collection[str]) -> list[tuple[str, str]]:
    """A membership cannot end before it starts."""
    start, end = values[_START], values[_END]
    if isinstance(start, date) and isinstance(end, date) and end < start:
        return [("TGL_AKHIR", f"{end.isoformat()} is before TGL_MULAI {start.isoformat()}")]
    return []


_JKN = (
    Column("NIK", "nik", fields.nik),
    Column("NO_KARTU", "card_no", fields.text(64)),
    Column("STATUS", "status", remembered(fields.choice(fields.same("AKTIF", "TIDAK AKTIF")))),
    Column("SEGMEN", "segment", remembered(fields.free_text(64))),
)
_kinds = {**fields.same("PUSKESMAS", "RUMAH_SAKIT", "KLINIK"), "RUMAH SAKIT": "RUMAH_SAKIT"}
_yes_no = fields.choice({"Y": "Y", "N": "N"})
_FACILITIES = (
    Column("KODE", "code", fields.text(32)),
    Column("NAMA", "name", fields.text(200)),
    Column("JENIS", "kind", fields.choice(_kinds)),
    Column("KODE_WILAYAH", "village_code", fields.village_code),
    Column("MITRA_JAMKESDA", "jamkesda_partner", lambda value: _yes_no(value) == "Y"),
)

POPULATION = Source("population", PopulationRow, _POPULATION, _population)
JAMKESDA = Source("jamkesda", JamkesdaRow, _JAMKESDA, _jamkesda)
JKN = Source("jkn", JknRow, _JKN)
FACILITIES = Source("facilities", Facility, _FACILITIES, full_snapshot=False)
SOURCES = {source.name: source for source in (POPULATION, JAMKESDA, JKN, FACILITIES)}
SOURCE_NAMES = tuple(SOURCES)
