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
from collections.abc import Mapping
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
from service.imports.sources import SOURCES as IMPORTS

# The columns each import expects (SPEC §7), from the importer itself: one definition.
HEADERS: dict[str, tuple[str, ...]] = {name: source.columns for name, source in IMPORTS.items()}
# The order of import: clients are bound to facilities, so facilities come first.
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
# Household shapes (weights in percent): at most seven people, so example families fit.
_SHAPES = ("alone", "couple", "single parent", "couple with children", "three generations")
_SHAPE_WEIGHTS = tuple(accumulate((10, 15, 10, 60, 5)))
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

    def __init__(self, files: Mapping[str, IO[str]]) -> None:
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
        regions = [
            *self.districts,
            *(r + f"{d:02d}" for r, n, _ in _ORIGINS for d in range(1, n + 1)),
        ]
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
        # Multiplying by a prime larger than the number of days permutes the issue days, so
        # (issue day, serial) differs for every family.
        offset = (self.families * 1_000_003) % self.kk_days
        serial = self.families // self.kk_days + 1
        issued = _KK_EPOCH + timedelta(days=offset)
        return f"{district}{issued:%d%m%y}{serial:04d}"

    def household(self, newborn: bool) -> list[_Member]:
        """The birth dates and sexes of one family, its head first."""
        rng = self.rng
        shape = "couple" if newborn else rng.choices(_SHAPES, cum_weights=_SHAPE_WEIGHTS)[0]
        if shape == "alone":
            age = rng.randint(19, 40) if rng.random() < 0.6 else rng.randint(60, 89)
            return [_Member(self.birth(age), rng.random() < 0.5)]
        if shape == "single parent":
            parent_age = rng.randint(25, 60)
            members = [_Member(self.birth(parent_age), rng.random() < 0.75)]
        else:
            head_age = rng.randint(20, 35) if newborn else rng.randint(20, 75)
            spouse_age = max(18, min(85, head_age + rng.randint(-8, 4)))
            wife_heads = rng.random() < 0.12
            members = [
                _Member(self.birth(head_age), wife_heads),
                _Member(self.birth(spouse_age), not wife_heads),
            ]
            parent_age = head_age if wife_heads else spouse_age
        if newborn:
            return [*members, _Member(self.today - timedelta(days=21), rng.random() < 0.5)]
        if shape != "couple":
            count = (
                1
                if parent_age > 55
                else rng.choices((1, 2, 3, 4), cum_weights=(30, 65, 87, 100))[0]
            )
            for _ in range(count):
                age = parent_age - rng.randint(18, min(42, parent_age))
                members.append(_Member(self.birth(age), rng.random() < 0.5))
        if shape == "three generations":
            age = min(89, parent_age + rng.randint(20, 35))
            members.append(_Member(self.birth(age), rng.random() < 0.6))
        return members

    def birth_region(self, district: str, birth: date) -> str:
        """The district where a Kukar-born person's NIK was issued (the parent before a split)."""
        if self.rng.random() < 0.08:
            return self.rng.choice(self.districts)
        parent, since = _SPLIT_DISTRICTS.get(district, (district, _KK_EPOCH))
        return parent if birth < since else district

    def origin(self) -> str:
        """A district outside Kukar where a newcomer's NIK was issued."""
        regency = self.rng.choices(self.origins, cum_weights=self.origin_weights)[0]
        return f"{regency}{self.rng.randint(1, self.origin_districts[regency]):02d}"

    def outside_village(self, regency: str | None = None) -> str:
        """A village code of a neighbouring city or regency."""
        regency = regency or self.rng.choice(_OUTSIDE_REGENCIES)
        return f"{regency}{self.rng.randint(1, 3):02d}{self.rng.randint(1001, 1008)}"

    def family(self, kind: Kind | None, room: int) -> _Member | None:
        """Write one family; return its member of ``kind``, if any.

        A random family is cut to ``room`` people; an example family is always written whole.
        """
        rng, today = self.rng, self.today
        district = rng.choices(self.districts, cum_weights=self.district_weights)[0]
        village = rng.choice(self.villages[district])
        moved_out = kind is Kind.MOVED_OUT or (kind is None and rng.random() < 0.01)
        if kind is Kind.LIVES_OUTSIDE:
            village = self.outside_village("6472")
        elif kind is None and not moved_out and rng.random() < 0.005:
            village = self.outside_village()
        members = self.household(newborn=kind is Kind.NEWBORN)
        if kind is None:
            members = members[:room]
        example = None if kind is None else members[-1 if kind is Kind.NEWBORN else 0]
        migrant = kind in (Kind.RECENT_MOVER, Kind.NIK_FROM_ELSEWHERE) or (
            kind is None and rng.random() < 0.35
        )
        origin, moved_in = "", today
        if kind is Kind.NIK_FROM_ELSEWHERE:
            origin = f"6472{rng.randint(1, 10):02d}"
        elif migrant:
            origin = self.origin()
        if kind is Kind.RECENT_MOVER:
            moved_in = today - timedelta(days=30)
        elif migrant:
            # Some time after the head came of age; at least a year ago for the example.
            adult = members[0].birth + timedelta(days=18 * 365)
            latest = today - timedelta(days=365 if kind is Kind.NIK_FROM_ELSEWHERE else 1)
            moved_in = adult + timedelta(days=rng.randrange(max(1, (latest - adult).days)))
        for member in members:
            if migrant and member.birth < moved_in:
                region, member.domiciled_since = origin, moved_in
            else:
                region, member.domiciled_since = (
                    self.birth_region(district, member.birth),
                    member.birth,
                )
            member.nik = self.nik(region, member.birth, member.female)
            old = (today - member.birth).days > 65 * 365
            if moved_out:
                member.status = "PINDAH"
            elif member is not example and rng.random() < (0.05 if old else 0.002):
                member.status = "MATI"
        if example is not None and kind is Kind.DECEASED:
            example.status = "MATI"
        self.write_family(members, self.no_kk(district), village, kind, example)
        self.families += 1
        return example

    def write_family(
        self,
        members: list[_Member],
        no_kk: str,
        village: str,
        kind: Kind | None,
        example: _Member | None,
    ) -> None:
        """Stream the population, Jamkesda and JKN rows of one family."""
        rng, out = self.rng, self.out
        has_jkn, jkn_paid = rng.random() < 0.75, rng.random() < 0.89
        segment = rng.choices(_SEGMENTS, cum_weights=_SEGMENT_WEIGHTS)[0]
        if village.startswith("6402"):
            out.villages.add(village)
        for member in members:
            given = rng.choice(_FEMALE if member.female else _MALE)
            if rng.random() < 0.7:
                given += " " + rng.choice(_FEMALE_SECOND if member.female else _MALE_SECOND)
            birth, since = member.birth, member.domiciled_since
            if member is not example and rng.random() < 0.001:
                # Registries correct a birth date without changing the NIK (SPEC §7).
                birth = min(self.today, birth + timedelta(days=rng.choice((-2, -1, 1, 2))))
                since = birth if since == member.birth else since
            out.rows["population"].writerow(
                (member.nik, no_kk, given, birth.isoformat(),
                 "PEREMPUAN" if member.female else "LAKI-LAKI", village,
                 since.isoformat() if since else "", member.status)
            )  # fmt: skip
            out.people += 1
            if member is example:
                jkn = "AKTIF" if kind is Kind.JKN else None
            elif has_jkn:
                jkn = "AKTIF" if jkn_paid and member.status != "MATI" else "TIDAK AKTIF"
            else:
                jkn = None
            if jkn is not None:
                card = (out.jkn * 7_919_393 + 1_357_911) % 10**10
                out.rows["jkn"].writerow((member.nik, f"000{card:010d}", jkn, segment))
                out.jkn += 1
                out.jkn_active += jkn == "AKTIF"
            if member is example and kind is not Kind.JKN:
                membership = self.example_membership(kind, member)
            else:
                membership = self.membership(member, covered=jkn == "AKTIF")
            if membership is not None:
                start, end, status, kelas = membership
                number = f"JKD-{start.year}-{out.jamkesda + 1:07d}"
                out.rows["jamkesda"].writerow(
                    (
                        member.nik,
                        number,
                        status,
                        start.isoformat(),
                        end.isoformat() if end else "",
                        kelas,
                    )
                )
                out.jamkesda += 1

    def membership(
        self, member: _Member, covered: bool
    ) -> tuple[date, date | None, str, str] | None:
        """A random Jamkesda membership (start, end, status, class), or None when not enrolled."""
        rng, today = self.rng, self.today
        if rng.random() >= (0.12 if covered else 0.9):
            return None
        since = member.domiciled_since or member.birth
        newcomer = since != member.birth
        earliest = max(_PROGRAM_START, since + timedelta(days=90) if newcomer else since)
        if rng.random() < 0.01:
            start = today + timedelta(days=rng.randint(1, 60))
        elif earliest > today:
            return None
        else:
            start = earliest + timedelta(days=rng.randrange((today - earliest).days + 1))
        status = "NONAKTIF" if rng.random() < 0.05 else "AKTIF"
        draw = rng.random()
        end: date | None = None
        if 0.6 <= draw < 0.95:
            end = date(max(today.year, start.year) + rng.randint(0, 1), 12, 31)
        elif draw >= 0.95 and today > start:
            end = start + timedelta(days=rng.randrange((today - start).days))
        kelas = rng.choices(("", "III", "II"), cum_weights=(75, 97, 100))[0]
        return start, end, status, kelas

    def example_membership(
        self, kind: Kind | None, member: _Member
    ) -> tuple[date, date | None, str, str] | None:
        """The membership that gives an example person the answer of their kind."""
        today, since = self.today, member.domiciled_since or member.birth
        if kind is Kind.NOT_ENROLLED:
            return None
        if kind is Kind.LAPSED:
            end = today - timedelta(days=self.rng.randint(10, 200))
            return end - timedelta(days=self.rng.randint(365, 1500)), end, "AKTIF", ""
        if kind is Kind.NOT_YET_STARTED:
            return today + timedelta(days=30), None, "AKTIF", ""
        if kind is Kind.RECENT_MOVER:
            return today - timedelta(days=20), None, "AKTIF", ""
        if kind is Kind.NEWBORN:
            return since, None, "AKTIF", ""
        start = max(_PROGRAM_START, since + timedelta(days=90))
        start = start + timedelta(days=self.rng.randrange(max(1, (today - start).days - 30)))
        return start, date(today.year, 12, 31), "AKTIF", "III"


def _write_facilities(path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(HEADERS["facilities"])
        for facility in FACILITIES:
            writer.writerow(
                (facility.code, facility.name, facility.kind, facility.village_code, "Y")
            )


def write_dataset(
    folder: Path, residents: int, seed: int = 2026, today: date | None = None
) -> Dataset:
    """Write the four import files of ``residents`` people into ``folder`` and describe them.

    The same seed and ``today`` (default: today in WITA) give byte-identical files.
    """
    if residents < MIN_RESIDENTS:
        raise ValueError(f"a synthetic data set needs at least {MIN_RESIDENTS} residents")
    today = today or clock.today(WITA)
    # Reproducible on purpose: a seeded generator, never used for anything secret.
    rng = random.Random(seed)  # noqa: S311
    folder.mkdir(parents=True, exist_ok=True)
    files = {source: folder / f"{source}.csv" for source in SOURCES}
    _write_facilities(files["facilities"])
    kinds = [kind for kind in Kind if kind is not Kind.UNKNOWN_NIK]
    # The example families sit among the first tenth of families; no family has more than
    # seven members, so they are all written whole before the population is complete.
    slots = dict(zip(rng.sample(range(residents // 10), len(kinds)), kinds, strict=True))
    niks: dict[Kind, str] = {}
    people = ("population", "jamkesda", "jkn")
    handles = {source: files[source].open("w", encoding="utf-8", newline="") for source in people}
    try:
        out = _Writer(handles)
        generator = _Generator(rng, today, out)
        while out.people < residents:
            kind = slots.get(generator.families)
            member = generator.family(kind, residents - out.people)
            if kind is not None and member is not None:
                niks[kind] = member.nik
        birth = generator.birth(rng.randint(20, 60))
        niks[Kind.UNKNOWN_NIK] = generator.nik("640206", birth, rng.random() < 0.5, reserve=False)
    finally:
        for handle in handles.values():
            handle.close()
    examples = tuple(Example(kind, niks[kind], *EXPECTED[kind]) for kind in Kind)
    return Dataset(
        today=today,
        seed=seed,
        files=files,
        people=out.people,
        families=generator.families,
        villages=len(out.villages),
        jamkesda_members=out.jamkesda,
        jkn_participants=out.jkn,
        jkn_active=out.jkn_active,
        facilities=FACILITIES,
        examples=examples,
    )
