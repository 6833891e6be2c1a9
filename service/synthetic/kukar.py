"""Kukar as the synthetic data draws it: districts, villages, where migrants come from,
names, household shapes and the regency's facilities (none of it personal data)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from importlib import resources
from itertools import accumulate


@dataclass(frozen=True)
class FacilityEntry:
    """A facility written to ``facilities.csv``."""

    code: str
    name: str
    kind: str  # PUSKESMAS or RUMAH_SAKIT
    village_code: str


# Approximate population of each district, in thousands: where people are drawn.
DISTRICT_WEIGHTS = {
    "01": 19, "02": 55, "03": 73, "04": 46, "05": 50, "06": 114, "07": 41, "08": 21, "09": 11,
    "10": 22, "11": 41, "12": 10, "13": 40, "14": 41, "15": 21, "16": 71, "17": 27, "18": 9,
    "19": 14, "20": 25,
}  # fmt: skip
# Where the NIKs of people who moved to Kukar were first issued: regency, its number of
# districts drawn from, weight. Mostly East Kalimantan, South Kalimantan, South Sulawesi, Java.
ORIGINS = (
    ("6472", 10, 25), ("6471", 6, 10), ("6474", 3, 5), ("6408", 8, 4), ("6407", 6, 3),
    ("6401", 6, 3), ("6371", 5, 6), ("6303", 8, 4), ("7308", 10, 6), ("7313", 8, 5),
    ("7371", 10, 4), ("7315", 6, 3), ("3507", 10, 4), ("3578", 10, 3), ("3509", 10, 3),
    ("3510", 10, 2), ("3374", 10, 2), ("3309", 8, 2), ("5203", 8, 3),
)  # fmt: skip
# Villages outside the regency for people on the extract who live elsewhere.
OUTSIDE_REGENCIES = ("6472", "6471", "6474", "6408")
SPLIT_DISTRICTS = {"640219": ("640208", date(2021, 1, 1)), "640220": ("640213", date(2022, 1, 1))}
PROGRAM_START = date(2018, 1, 1)
KK_EPOCH = date(2005, 1, 1)

MALE = (
    "AHMAD", "MUHAMMAD", "ABDUL", "AGUS", "BUDI", "RUDI", "HENDRA", "ANDI", "SYAHRANI", "IRWAN",
    "JOKO", "SUPRIADI", "BAMBANG", "DEDI", "EKO", "FAJAR", "HERMAN", "IMAM", "RAHMAT", "RIZKY",
    "SURYADI", "YUSUF", "ARIF", "DANI", "HASAN", "ILHAM", "AJI", "AWANG", "DAENG", "GUSTI",
    "ADITYA", "BAYU", "FIRMAN", "HARIS", "KURNIAWAN", "SLAMET", "SAMSUL", "TAUFIK", "WAHYU",
)  # fmt: skip
FEMALE = (
    "SITI", "NUR", "DEWI", "SRI", "RINA", "WATI", "AISYAH", "FITRI", "NURHAYATI", "RAHMAWATI",
    "YULIANTI", "ANI", "ENDANG", "HALIMAH", "INDAH", "KARTINI", "LINDA", "MAYA", "NOVI", "PUTRI",
    "RATNA", "SARI", "SUSANTI", "TUTI", "WIDYA", "YANTI", "DAYANG", "NORMA", "FATIMAH", "ZAHRA",
    "ANISA", "DIAN", "EKA", "HASNAH", "MARLINA", "NURUL", "RAHMA", "SALMAH", "WULAN",
)  # fmt: skip
MALE_SECOND = (
    "SAPUTRA", "HIDAYAT", "PRATAMA", "RAHMAN", "WIJAYA", "SETIAWAN", "NUGROHO", "SANTOSO",
    "SUSANTO", "HAKIM", "FAUZI", "RAMADHAN", "HARAHAP", "IDRIS", "MUSTAFA", "SYAHRIR",
)  # fmt: skip
FEMALE_SECOND = (
    "LESTARI", "RAHAYU", "WAHYUNI", "HANDAYANI", "PERTIWI", "SAFITRI", "AMALIA", "NINGSIH",
    "PUSPITA", "KURNIASIH", "MAHARANI", "ANGGRAINI", "NURJANAH", "SUSILAWATI",
)  # fmt: skip
# Household shapes (weights in percent): at most seven people, so example families fit.
SHAPES = ("alone", "couple", "single parent", "couple with children", "three generations")
SHAPE_WEIGHTS = tuple(accumulate((10, 15, 10, 60, 5)))
SEGMENTS = ("PBI APBN", "PBI APBD", "PPU", "PBPU", "BP")
SEGMENT_WEIGHTS = tuple(accumulate((40, 20, 25, 12, 3)))

# 32 puskesmas named after the district or village they serve, and 5 hospitals.
PUSKESMAS = (
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
HOSPITALS = (
    ("RSUD A.M. Parikesit", "6402061004"),
    ("RSUD Aji Batara Agung Dewa Sakti", "6402131010"),
    ("RSUD Dayaku Raja", "6402082006"),
    ("RSUD Muara Badak", "6402052004"),
    ("RS Pratama Kembang Janggut", "6402102004"),
)
FACILITIES = tuple(
    FacilityEntry(f"10400{number:02d}", f"Puskesmas {place}", "PUSKESMAS", village)
    for number, (place, village) in enumerate(PUSKESMAS, start=1)
) + tuple(
    FacilityEntry(f"64020{number:02d}", name, "RUMAH_SAKIT", village)
    for number, (name, village) in enumerate(HOSPITALS, start=11)
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
