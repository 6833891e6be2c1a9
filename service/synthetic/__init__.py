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
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from service import clock
from service.synthetic.kinds import EXPECTED, Example, Kind
from service.synthetic.kukar import FACILITIES, FacilityEntry, kukar_villages
from service.synthetic.people import HEADERS, FamilyGenerator, PersonFiles

__all__ = [
    "EXPECTED",
    "FACILITIES",
    "HEADERS",
    "MIN_RESIDENTS",
    "SOURCES",
    "WITA",
    "Dataset",
    "Example",
    "FacilityEntry",
    "Kind",
    "kukar_villages",
    "write_dataset",
]

# The order of import: clients are bound to facilities, so facilities come first.
SOURCES = ("facilities", "population", "jamkesda", "jkn")
MIN_RESIDENTS = 200
WITA = ZoneInfo("Asia/Makassar")


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
        out = PersonFiles(handles)
        generator = FamilyGenerator(rng, today, out)
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
