"""The people of the synthetic Kukar: families drawn one after another, streamed as rows."""

from __future__ import annotations

import csv
import random
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate
from typing import IO

from service.imports.sources import SOURCES as IMPORTS
from service.synthetic.kinds import Kind
from service.synthetic.kukar import (
    DISTRICT_WEIGHTS,
    FEMALE,
    FEMALE_SECOND,
    KK_EPOCH,
    MALE,
    MALE_SECOND,
    ORIGINS,
    OUTSIDE_REGENCIES,
    PROGRAM_START,
    SEGMENT_WEIGHTS,
    SEGMENTS,
    SHAPE_WEIGHTS,
    SHAPES,
    SPLIT_DISTRICTS,
    kukar_villages,
)

# The columns each import expects (SPEC §7), from the importer itself: one definition.
HEADERS: dict[str, tuple[str, ...]] = {name: source.columns for name, source in IMPORTS.items()}


@dataclass
class Member:
    """A person being written: what the population row says about them."""

    birth: date
    female: bool
    nik: str = ""
    domiciled_since: date | None = None
    status: str = "HIDUP"


class PersonFiles:
    """The three person files, written row by row, and what has been written."""

    def __init__(self, files: Mapping[str, IO[str]]) -> None:
        self.rows = {source: csv.writer(files[source], lineterminator="\n") for source in files}
        for source, writer in self.rows.items():
            writer.writerow(HEADERS[source])
        self.people = self.jamkesda = self.jkn = self.jkn_active = 0
        self.villages: set[str] = set()


class FamilyGenerator:
    """Draws families one after the other and streams their rows."""

    def __init__(self, rng: random.Random, today: date, out: PersonFiles) -> None:
        self.rng, self.today, self.out = rng, today, out
        self.villages = kukar_villages()
        self.districts = sorted(self.villages)
        self.district_weights = tuple(accumulate(DISTRICT_WEIGHTS[d[4:]] for d in self.districts))
        self.origins = tuple(regency for regency, _, _ in ORIGINS)
        self.origin_weights = tuple(accumulate(weight for _, _, weight in ORIGINS))
        self.origin_districts = {regency: count for regency, count, _ in ORIGINS}
        regions = [
            *self.districts,
            *(r + f"{d:02d}" for r, n, _ in ORIGINS for d in range(1, n + 1)),
        ]
        self.region_index = {region: index for index, region in enumerate(regions)}
        # One serial counter per (region, birth day, sex): NIKs are unique by construction.
        self.first_day = today - timedelta(days=92 * 366)
        self.days = (today - self.first_day).days + 1
        self.serials = array("H", bytes(2 * len(regions) * self.days * 2))
        self.kk_days = (today - KK_EPOCH).days
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
        issued = KK_EPOCH + timedelta(days=offset)
        return f"{district}{issued:%d%m%y}{serial:04d}"

    def household(self, newborn: bool) -> list[Member]:
        """The birth dates and sexes of one family, its head first."""
        rng = self.rng
        shape = "couple" if newborn else rng.choices(SHAPES, cum_weights=SHAPE_WEIGHTS)[0]
        if shape == "alone":
            age = rng.randint(19, 40) if rng.random() < 0.6 else rng.randint(60, 89)
            return [Member(self.birth(age), rng.random() < 0.5)]
        if shape == "single parent":
            parent_age = rng.randint(25, 60)
            members = [Member(self.birth(parent_age), rng.random() < 0.75)]
        else:
            head_age = rng.randint(20, 35) if newborn else rng.randint(20, 75)
            spouse_age = max(18, min(85, head_age + rng.randint(-8, 4)))
            wife_heads = rng.random() < 0.12
            members = [
                Member(self.birth(head_age), wife_heads),
                Member(self.birth(spouse_age), not wife_heads),
            ]
            parent_age = head_age if wife_heads else spouse_age
        if newborn:
            return [*members, Member(self.today - timedelta(days=21), rng.random() < 0.5)]
        if shape != "couple":
            count = (
                1
                if parent_age > 55
                else rng.choices((1, 2, 3, 4), cum_weights=(30, 65, 87, 100))[0]
            )
            for _ in range(count):
                age = parent_age - rng.randint(18, min(42, parent_age))
                members.append(Member(self.birth(age), rng.random() < 0.5))
        if shape == "three generations":
            age = min(89, parent_age + rng.randint(20, 35))
            members.append(Member(self.birth(age), rng.random() < 0.6))
        return members

    def birth_region(self, district: str, birth: date) -> str:
        """The district where a Kukar-born person's NIK was issued (the parent before a split)."""
        if self.rng.random() < 0.08:
            return self.rng.choice(self.districts)
        parent, since = SPLIT_DISTRICTS.get(district, (district, KK_EPOCH))
        return parent if birth < since else district

    def origin(self) -> str:
        """A district outside Kukar where a newcomer's NIK was issued."""
        regency = self.rng.choices(self.origins, cum_weights=self.origin_weights)[0]
        return f"{regency}{self.rng.randint(1, self.origin_districts[regency]):02d}"

    def outside_village(self, regency: str | None = None) -> str:
        """A village code of a neighbouring city or regency."""
        regency = regency or self.rng.choice(OUTSIDE_REGENCIES)
        return f"{regency}{self.rng.randint(1, 3):02d}{self.rng.randint(1001, 1008)}"

    def family(self, kind: Kind | None, room: int) -> Member | None:
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
        members: list[Member],
        no_kk: str,
        village: str,
        kind: Kind | None,
        example: Member | None,
    ) -> None:
        """Stream the population, Jamkesda and JKN rows of one family."""
        rng, out = self.rng, self.out
        has_jkn, jkn_paid = rng.random() < 0.75, rng.random() < 0.89
        segment = rng.choices(SEGMENTS, cum_weights=SEGMENT_WEIGHTS)[0]
        if village.startswith("6402"):
            out.villages.add(village)
        for member in members:
            given = rng.choice(FEMALE if member.female else MALE)
            if rng.random() < 0.7:
                given += " " + rng.choice(FEMALE_SECOND if member.female else MALE_SECOND)
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
        self, member: Member, covered: bool
    ) -> tuple[date, date | None, str, str] | None:
        """A random Jamkesda membership (start, end, status, class), or None when not enrolled."""
        rng, today = self.rng, self.today
        if rng.random() >= (0.12 if covered else 0.9):
            return None
        since = member.domiciled_since or member.birth
        newcomer = since != member.birth
        earliest = max(PROGRAM_START, since + timedelta(days=90) if newcomer else since)
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
        self, kind: Kind | None, member: Member
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
        start = max(PROGRAM_START, since + timedelta(days=90))
        start = start + timedelta(days=self.rng.randrange(max(1, (today - start).days - 30)))
        return start, date(today.year, 12, 31), "AKTIF", "III"
