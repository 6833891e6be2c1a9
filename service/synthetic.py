"""A synthetic Kukar data set: the four import files of SPEC §7 and example NIKs (seeded).

Nothing here is real personal data. People are spread over the real districts and
villages of Kabupaten Kutai Kartanegara (``service/data/wilayah_kukar.csv``); names,
dates, family cards and memberships are drawn from a seeded random generator, so one
seed and one ``today`` always give byte-identical files. Rows are streamed to the
files: the only structure that grows with the population is a fixed-size table of NIK
serial counters.
"""

from __future__ import annotations

import csv
import random
from array import array
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from importlib import resources
from itertools import accumulate
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

from service import clock
from service.decision import Outcome, Reason

HEADERS: dict[str, tuple[str, ...]] = {
    "population": (
        "NIK",
        "NO_KK",
        "NAMA_LGKP",
        "TGL_LHR",
        "JENIS_KLMIN",
        "KODE_WILAYAH",
        "TGL_DOMISILI",
        "STATUS",
    ),
    "jamkesda": ("NIK", "NO_PESERTA", "STATUS", "TGL_MULAI", "TGL_AKHIR", "KELAS"),
    "jkn": ("NIK", "NO_KARTU", "STATUS", "SEGMEN"),
    "facilities": ("KODE", "NAMA", "JENIS", "KODE_WILAYAH", "MITRA_JAMKESDA"),
}
# The demo and the import command read the files in this order: clients need facilities.
SOURCES = ("facilities", "population", "jamkesda", "jkn")
MIN_RESIDENTS = 200
WITA = ZoneInfo("Asia/Makassar")


class Kind(StrEnum):
    """A kind of person the demo shows, each with the answer the bundled policy gives."""

    ELIGIBLE = "eligible"
    JKN = "jkn"
    DECEASED = "deceased"
    MOVED_OUT = "moved-out"
    LIVES_OUTSIDE = "lives-outside"
    RECENT_MOVER = "recent-mover"
    NEWBORN = "newborn"
    LAPSED = "lapsed"
    NOT_YET_STARTED = "not-yet-started"
    NOT_ENROLLED = "not-enrolled"
    NIK_FROM_ELSEWHERE = "nik-from-elsewhere"
    UNKNOWN_NIK = "unknown-nik"

    @property
    def label(self) -> str:
        """What is special about this person, in a few words."""
        return _LABELS[self]


_LABELS = {
    Kind.ELIGIBLE: "resident with an active Jamkesda membership",
    Kind.JKN: "resident with an active JKN (BPJS) card",
    Kind.DECEASED: "deceased (STATUS MATI)",
    Kind.MOVED_OUT: "moved out of Kukar (STATUS PINDAH)",
    Kind.LIVES_OUTSIDE: "domiciled in Samarinda, outside Kukar",
    Kind.RECENT_MOVER: "moved to Kukar 30 days ago",
    Kind.NEWBORN: "newborn, 3 weeks old, domiciled since birth",
    Kind.LAPSED: "Jamkesda membership ended (TGL_AKHIR passed)",
    Kind.NOT_YET_STARTED: "Jamkesda membership starts in 30 days",
    Kind.NOT_ENROLLED: "resident not enrolled in Jamkesda",
    Kind.NIK_FROM_ELSEWHERE: "NIK issued in Samarinda (6472), lives in Kukar",
    Kind.UNKNOWN_NIK: "valid NIK that is not in the registry",
}
_NOT_ELIGIBLE = Outcome.NOT_ELIGIBLE
EXPECTED: dict[Kind, tuple[Outcome, tuple[Reason, ...]]] = {
    Kind.ELIGIBLE: (Outcome.ELIGIBLE, ()),
    Kind.JKN: (Outcome.COVERED_BY_JKN, (Reason.JKN_ACTIVE,)),
    Kind.DECEASED: (_NOT_ELIGIBLE, (Reason.DECEASED,)),
    Kind.MOVED_OUT: (_NOT_ELIGIBLE, (Reason.NOT_RESIDENT,)),
    Kind.LIVES_OUTSIDE: (_NOT_ELIGIBLE, (Reason.NOT_RESIDENT,)),
    Kind.RECENT_MOVER: (_NOT_ELIGIBLE, (Reason.RESIDENCY_TOO_SHORT,)),
    Kind.NEWBORN: (Outcome.ELIGIBLE, ()),
    Kind.LAPSED: (_NOT_ELIGIBLE, (Reason.JAMKESDA_INACTIVE,)),
    Kind.NOT_YET_STARTED: (_NOT_ELIGIBLE, (Reason.JAMKESDA_INACTIVE,)),
    Kind.NOT_ENROLLED: (_NOT_ELIGIBLE, (Reason.JAMKESDA_NOT_ENROLLED,)),
    Kind.NIK_FROM_ELSEWHERE: (Outcome.ELIGIBLE, ()),
    Kind.UNKNOWN_NIK: (_NOT_ELIGIBLE, (Reason.NIK_NOT_FOUND,)),
}


@dataclass(frozen=True)
class Example:
    """One person of a kind, and what a check on ``Dataset.today`` should answer."""

    kind: Kind
    nik: str
    outcome: Outcome
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class FacilityEntry:
    """A facility written to ``facilities.csv``."""

    code: str
    name: str
    kind: str  # PUSKESMAS or RUMAH_SAKIT
    village_code: str


@dataclass(frozen=True)
class Dataset:
    """What ``write_dataset`` wrote: the files, their sizes and the example NIKs."""

    today: date
    seed: int
    files: dict[str, Path]  # by import source
    people: int
    families: int
    villages: int
    jamkesda_members: int
    jkn_participants: int
    jkn_active: int
    facilities: tuple[FacilityEntry, ...]
    examples: tuple[Example, ...]


# Approximate population of each district, in thousands: where people are drawn.
_DISTRICT_WEIGHTS = {
    "01": 19, "02": 55, "03": 73, "04": 46, "05": 50, "06": 114, "07": 41, "08": 21, "09": 11,
    "10": 22, "11": 41, "12": 10, "13": 40, "14": 41, "15": 21, "16": 71, "17": 27, "18": 9,
    "19": 14, "20": 25,
}  # fmt: skip
# Where the NIKs of people who moved to Kukar were first issued: regency, its number of
# districts drawn from, weight. Mostly East Kalimantan, South Kalimantan, South Sulawesi, Java.
_ORIGINS = (
    ("6472", 10, 25), ("6471", 6, 10), ("6474", 3, 5), ("6408", 8, 4), ("6407", 6, 3),
    ("6401", 6, 3), ("6371", 5, 6), ("6303", 8, 4), ("7308", 10, 6), ("7313", 8, 5),
    ("7371", 10, 4), ("7315", 6, 3), ("3507", 10, 4), ("3578", 10, 3), ("3509", 10, 3),
    ("3510", 10, 2), ("3374", 10, 2), ("3309", 8, 2), ("5203", 8, 3),
)  # fmt: skip
# Villages outside the regency for people on the extract who live elsewhere.
_OUTSIDE_REGENCIES = ("6472", "6471", "6474", "6408")
_SPLIT_DISTRICTS = {"640219": ("640208", date(2021, 1, 1)), "640220": ("640213", date(2022, 1, 1))}
_PROGRAM_START = date(2018, 1, 1)
_KK_EPOCH = date(2005, 1, 1)

_MALE = (
    "AHMAD", "MUHAMMAD", "ABDUL", "AGUS", "BUDI", "RUDI", "HENDRA", "ANDI", "SYAHRANI", "IRWAN",
    "JOKO", "SUPRIADI", "BAMBANG", "DEDI", "EKO", "FAJAR", "HERMAN", "IMAM", "RAHMAT", "RIZKY",
    "SURYADI", "YUSUF", "ARIF", "DANI", "HASAN", "ILHAM", "AJI", "AWANG", "DAENG", "GUSTI",
    "ADITYA", "BAYU", "FIRMAN", "HARIS", "KURNIAWAN", "SLAMET", "SAMSUL", "TAUFIK", "WAHYU",
)  # fmt: skip
_FEMALE = (
    "SITI", "NUR", "DEWI", "SRI", "RINA", "WATI", "AISYAH", "FITRI", "NURHAYATI", "RAHMAWATI",
    "YULIANTI", "ANI", "ENDANG", "HALIMAH", "INDAH", "KARTINI", "LINDA", "MAYA", "NOVI", "PUTRI",
    "RATNA", "SARI", "SUSANTI", "TUTI", "WIDYA", "YANTI", "DAYANG", "NORMA", "FATIMAH", "ZAHRA",
    "ANISA", "DIAN", "EKA", "HASNAH", "MARLINA", "NURUL", "RAHMA", "SALMAH", "WULAN",
)  # fmt: skip
_MALE_SECOND = (
    "SAPUTRA", "HIDAYAT", "PRATAMA", "RAHMAN", "WIJAYA", "SETIAWAN", "NUGROHO", "SANTOSO",
    "SUSANTO", "HAKIM", "FAUZI", "RAMADHAN", "HARAHAP", "IDRIS", "MUSTAFA", "SYAHRIR",
)  # fmt: skip
_FEMALE_SECOND = (
    "LESTARI", "RAHAYU", "WAHYUNI", "HANDAYANI", "PERTIWI", "SAFITRI", "AMALIA", "NINGSIH",
    "PUSPITA", "KURNIASIH", "MAHARANI", "ANGGRAINI", "NURJANAH", "SUSILAWATI",
)  # fmt: skip
_SEGMENTS = ("PBI APBN", "PBI APBD", "PPU", "PBPU", "BP")
_SEGMENT_WEIGHTS = tuple(accumulate((40, 20, 25, 12, 3)))

# 32 puskesmas named after the district or village they serve, and 5 hospitals.
_PUSKESMAS = (
    ("Tenggarong", "6402061005"), ("Mangkurawang", "6402061010"), ("Loa Ipuh", "6402061002"),
    ("Timbau", "6402061004"), ("Tenggarong Seberang", "6402162001"), ("Separi", "6402162006"),
    ("Teluk Dalam", "6402162013"), ("Loa Kulu", "6402022004"), ("Jembayan", "6402022003"),
    ("Loa Janan", "6402032003"), ("Loa Duri", "6402032007"), ("Anggana", "6402042005"),
    ("Sungai Meriam", "6402042006"), ("Muara Badak", "6402052004"), ("Badak Baru", "6402052007"),
    ("Marang Kayu", "6402172001"), ("Samboja", "6402131010"), ("Handil Baru", "6402131012"),
    ("Sungai Merdeka", "6402201002"), ("Muara Jawa", "6402141001"), ("Sanga Sanga", "6402151003"),
    ("Sebulu", "6402072005"), ("Senoni", "6402072010"), ("Muara Kaman", "6402112001"),
    ("Muara Siran", "6402112007"), ("Kota Bangun", "6402082006"),
    ("Kota Bangun Darat", "6402192004"), ("Kenohan", "6402092007"),
    ("Muara Muntai", "6402012008"), ("Muara Wis", "6402182001"),
    ("Kembang Janggut", "6402102004"), ("Tabang", "6402122012"),
)  # fmt: skip
_HOSPITALS = (
    ("RSUD A.M. Parikesit", "6402061004"),
    ("RSUD Aji Batara Agung Dewa Sakti", "6402131010"),
    ("RSUD Dayaku Raja", "6402082006"),
    ("RSUD Muara Badak", "6402052004"),
    ("RS Pratama Kembang Janggut", "6402102004"),
)
FACILITIES = tuple(
    FacilityEntry(f"10400{number:02d}", f"Puskesmas {place}", "PUSKESMAS", village)
    for number, (place, village) in enumerate(_PUSKESMAS, start=1)
) + tuple(
    FacilityEntry(f"64020{number:02d}", name, "RUMAH_SAKIT", village)
    for number, (name, village) in enumerate(_HOSPITALS, start=11)
)


def kukar_villages() -> dict[str, list[str]]:
    """The 10-digit codes of Kukar's villages, by 6-digit district code (the bundled list)."""
    text = resources.files("service").joinpath("data/wilayah_kukar.csv").read_text("utf-8")
    villages: dict[str, list[str]] = {}
    for row in csv.DictReader(text.splitlines()):
        if row["level"] == "village" and row["code"].startswith("64.02."):
            code = row["code"].replace(".", "")
            villages.setdefault(code[:6], []).append(code)
    return villages


@dataclass
class _Member:
    """A person being written: what the population row says about them."""

    birth: date
    female: bool
    nik: str = ""
    domiciled_since: date | None = None
    status: str = "HIDUP"


class _Writer:
    """The three person files, written row by row, and what has been written."""

    def __init__(self, files: dict[str, IO[str]]) -> None:
        self.rows = {source: csv.writer(files[source], lineterminator="\n") for source in files}
        for source, writer in self.rows.items():
            writer.writerow(HEADERS[source])
        self.people = self.jamkesda = self.jkn = self.jkn_active = 0
        self.villages: set[str] = set()


class _Generator:
    """Draws families one after the other and streams their rows."""

    def __init__(self, rng: random.Random, today: date, out: _Writer) -> None:
        self.rng, self.today, self.out = rng, today, out
        self.villages = kukar_villages()
        self.districts = sorted(self.villages)
        self.district_weights = tuple(accumulate(_DISTRICT_WEIGHTS[d[4:]] for d in self.districts))
        self.origins = tuple(regency for regency, _, _ in _ORIGINS)
        self.origin_weights = tuple(accumulate(weight for _, _, weight in _ORIGINS))
        self.origin_districts = {regency: count for regency, count, _ in _ORIGINS}
        regions = [*self.districts, *(r + f"{d:02d}" for r, n, _ in _ORIGINS for d in range(1, n + 1))]
        self.region_index = {region: index for index, region in enumerate(regions)}
        # One serial counter per (region, birth day, sex): NIKs are unique by construction.
        self.first_day = today - timedelta(days=92 * 366)
        self.days = (today - self.first_day).days + 1
        self.serials = array("H", bytes(2 * len(regions) * self.days * 2))
        self.kk_days = (today - _KK_EPOCH).days
        self.families = 0

    def birth(self, age: int) -> date:
        """A birth date of someone ``age`` years old today."""
        return self.today - timedelta(days=age * 365 + age // 4 + self.rng.randrange(1, 365))

    def nik(self, region: str, birth: date, female: bool, *, reserve: bool = True) -> str:
        """The next free NIK of a region, birth date and sex."""
        cell = ((self.region_index[region] * self.days) + (birth - self.first_day).days) * 2
        cell += female
        serial = self.serials[cell] + 1
        if serial > 9999:
            raise RuntimeError(f"more than 9999 NIKs for {region} on {birth}")
        if reserve:
            self.serials[cell] = serial
        day = birth.day + 40 if female else birth.day
        return f"{region}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}"

    def no_kk(self, district: str) -> str:
        """A family card number: the district, an issue date and a serial, unique per family."""
        # 7919 is a prime larger than the number of days, so the issue day permutes the families.
        offset, serial = (self.families * 7919) % self.kk_days, self.families // self.kk_days + 1
        issued = _KK_EPOCH + timedelta(days=offset)
        return f"{district}{issued:%d%m%y}{serial:04d}"

    def household(self, newborn: bool) -> list[_Member]:
        """Ages and sexes of one family, its head first."""
        rng = self.rng
        kind = rng.random()
        if newborn:
            kind = 0.5
        if kind < 0.10:
            age = rng.randint(19, 40) if rng.random() < 0.6 else rng.randint(60, 89)
            return [_Member(self.birth(age), rng.random() < 0.5)]
        head_age = rng.randint(20, 35) if newborn else rng.randint(20, 75)
        if 0.25 <= kind < 0.35:
            parent = _Member(self.birth(rng.randint(25, 60)), rng.random() < 0.75)
            members, mother_age = [parent], self.today.year - parent.birth.year
        else:
            head_female = rng.random() < 0.12
            spouse_age = max(18, min(85, head_age + rng.randint(-8, 4)))
            members = [
                _Member(self.birth(head_age), head_female),
                _Member(self.birth(spouse_age), not head_female),
            ]
            mother_age = spouse_age if not head_female else head_age
        if 0.10 <= kind < 0.25:
            return members
        if not newborn:
            count = rng.choices((1, 2, 3, 4), cum_weights=(30, 65, 87, 100))[0]
            oldest = max(0, min(mother_age - 18, 25))
            members += [_Member(self.birth(rng.randint(0, oldest)), rng.random() < 0.5) for _ in range(count)]
        if kind >= 0.95:
            members.append(_Member(self.birth(rng.randint(60, 89)), rng.random() < 0.6))
        if newborn:
            members.append(_Member(self.today - timedelta(days=21), rng.random() < 0.5))
        return members
