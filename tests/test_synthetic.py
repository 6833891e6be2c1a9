"""The synthetic Kukar data set: reproducible, valid and realistic import files."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from service.decision import Facts, Membership, Person, decide
from service.nik import parse_nik
from service.policy import load_policy
from service.synthetic import FACILITIES, Dataset, Kind, write_dataset

TODAY = date(2026, 11, 28)
RESIDENTS = 5000
WILAYAH = Path(__file__).resolve().parent.parent / "service" / "data" / "wilayah_kukar.csv"
SPEC_HEADERS = {
    "population": [
        "NIK",
        "NO_KK",
        "NAMA_LGKP",
        "TGL_LHR",
        "JENIS_KLMIN",
        "KODE_WILAYAH",
        "TGL_DOMISILI",
        "STATUS",
    ],
    "jamkesda": ["NIK", "NO_PESERTA", "STATUS", "TGL_MULAI", "TGL_AKHIR", "KELAS"],
    "jkn": ["NIK", "NO_KARTU", "STATUS", "SEGMEN"],
    "facilities": ["KODE", "NAMA", "JENIS", "KODE_WILAYAH", "MITRA_JAMKESDA"],
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """One data set of a few thousand people, written once for this module's tests."""
    return write_dataset(tmp_path_factory.mktemp("synthetic"), RESIDENTS, seed=7, today=TODAY)


def read(dataset: Dataset, source: str) -> list[dict[str, str]]:
    """The rows of one written file, by column name."""
    with dataset.files[source].open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def kukar_village_codes() -> set[str]:
    """The 10-digit codes of Kukar's villages in the shared reference list."""
    with WILAYAH.open(encoding="utf-8", newline="") as file:
        return {
            row["code"].replace(".", "")
            for row in csv.DictReader(file)
            if row["level"] == "village" and row["code"].startswith("64.02.")
        }


def optional_date(text: str) -> date | None:
    """A date column that may be empty."""
    return date.fromisoformat(text) if text else None


def facts_from_files(dataset: Dataset, nik: str) -> Facts:
    """What the three written files say about one NIK, as the decision reads it."""
    person = next((row for row in read(dataset, "population") if row["NIK"] == nik), None)
    member = next((row for row in read(dataset, "jamkesda") if row["NIK"] == nik), None)
    jkn = next((row for row in read(dataset, "jkn") if row["NIK"] == nik), None)
    return Facts(
        population_known=True,
        person=Person(
            name=person["NAMA_LGKP"],
            birth_date=date.fromisoformat(person["TGL_LHR"]),
            village_code=person["KODE_WILAYAH"],
            domiciled_since=optional_date(person["TGL_DOMISILI"]),
            status=person["STATUS"],
        )
        if person
        else None,
        jamkesda_known=True,
        membership=Membership(
            status=member["STATUS"],
            start=date.fromisoformat(member["TGL_MULAI"]),
            end=optional_date(member["TGL_AKHIR"]),
            kelas=member["KELAS"] or None,
        )
        if member
        else None,
        jkn_known=True,
        jkn_active=jkn is not None and jkn["STATUS"] == "AKTIF",
    )


def test_same_seed_and_day_write_byte_identical_files(tmp_path: Path) -> None:
    first = write_dataset(tmp_path / "a", 300, seed=11, today=TODAY)
    second = write_dataset(tmp_path / "b", 300, seed=11, today=TODAY)
    for source, path in first.files.items():
        assert path.read_bytes() == second.files[source].read_bytes(), source
    assert first.examples == second.examples


def test_another_seed_writes_other_people(tmp_path: Path) -> None:
    first = write_dataset(tmp_path / "a", 300, seed=11, today=TODAY)
    second = write_dataset(tmp_path / "b", 300, seed=12, today=TODAY)
    assert first.files["population"].read_bytes() != second.files["population"].read_bytes()


def test_fewer_residents_than_the_examples_need_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least"):
        write_dataset(tmp_path, 50, today=TODAY)


@pytest.mark.parametrize("source", SPEC_HEADERS)
def test_each_file_has_exactly_the_spec_columns(dataset: Dataset, source: str) -> None:
    with dataset.files[source].open(encoding="utf-8", newline="") as file:
        assert next(csv.reader(file)) == SPEC_HEADERS[source]


def test_population_has_the_requested_number_of_people(dataset: Dataset) -> None:
    assert len(read(dataset, "population")) == RESIDENTS == dataset.people


def test_every_nik_is_structurally_valid_and_unique(dataset: Dataset) -> None:
    niks = [row["NIK"] for row in read(dataset, "population")]
    for nik in niks:
        parse_nik(nik)
    assert len(set(niks)) == len(niks)


@pytest.mark.parametrize("source", ["jamkesda", "jkn"])
def test_membership_lists_name_each_registered_person_once(dataset: Dataset, source: str) -> None:
    registered = {row["NIK"] for row in read(dataset, "population")}
    niks = [row["NIK"] for row in read(dataset, source)]
    assert len(set(niks)) == len(niks)
    assert set(niks) <= registered


def test_women_have_forty_added_to_the_nik_birth_day(dataset: Dataset) -> None:
    for row in read(dataset, "population"):
        day = int(row["NIK"][6:8])
        assert (day > 40) == (row["JENIS_KLMIN"] == "PEREMPUAN"), row


def test_nik_encodes_the_birth_date_except_for_a_few_corrected_ones(dataset: Dataset) -> None:
    rows = read(dataset, "population")
    matching = 0
    for row in rows:
        born = date.fromisoformat(row["TGL_LHR"])
        day = int(row["NIK"][6:8]) % 40 or 40
        matching += (day, row["NIK"][8:10], row["NIK"][10:12]) == (
            born.day,
            f"{born.month:02d}",
            f"{born.year % 100:02d}",
        )
    assert matching / len(rows) > 0.99


def test_both_sexes_and_ages_from_babies_to_ninety(dataset: Dataset) -> None:
    rows = read(dataset, "population")
    ages = [(TODAY - date.fromisoformat(row["TGL_LHR"])).days / 365.25 for row in rows]
    assert min(ages) < 1
    assert 80 < max(ages) <= 91
    sexes = Counter(row["JENIS_KLMIN"] for row in rows)
    assert set(sexes) == {"LAKI-LAKI", "PEREMPUAN"}
    assert 0.4 < sexes["PEREMPUAN"] / len(rows) < 0.6


def test_kukar_residents_live_in_real_kukar_villages_of_all_districts(dataset: Dataset) -> None:
    villages = kukar_village_codes()
    codes = [row["KODE_WILAYAH"] for row in read(dataset, "population")]
    in_kukar = [code for code in codes if code.startswith("6402")]
    assert set(in_kukar) <= villages
    assert len({code[:6] for code in in_kukar}) == 20
    assert len(in_kukar) / len(codes) > 0.97


def test_nik_region_is_mostly_home_district_and_sometimes_elsewhere(dataset: Dataset) -> None:
    rows = read(dataset, "population")
    home = sum(row["NIK"][:6] == row["KODE_WILAYAH"][:6] for row in rows)
    from_outside = sum(not row["NIK"].startswith("6402") for row in rows)
    assert home / len(rows) > 0.5
    assert 0.1 < from_outside / len(rows) < 0.5


def test_families_share_one_sixteen_digit_family_card(dataset: Dataset) -> None:
    cards = [row["NO_KK"] for row in read(dataset, "population")]
    assert all(len(card) == 16 and card.isdigit() for card in cards)
    # Each family is written together, so a card's rows are consecutive.
    runs = [card for index, card in enumerate(cards) if index == 0 or cards[index - 1] != card]
    assert len(runs) == len(set(runs)) == dataset.families
    assert 2.5 < RESIDENTS / dataset.families < 4.5


def test_about_two_thirds_have_an_active_jkn_card(dataset: Dataset) -> None:
    active = sum(row["STATUS"] == "AKTIF" for row in read(dataset, "jkn"))
    assert active == dataset.jkn_active
    assert 0.6 < active / RESIDENTS < 0.73


def test_facilities_are_32_puskesmas_and_5_partner_hospitals(dataset: Dataset) -> None:
    rows = read(dataset, "facilities")
    kinds = Counter(row["JENIS"] for row in rows)
    assert kinds == {"PUSKESMAS": 32, "RUMAH_SAKIT": 5}
    assert all(len(row["KODE"]) == 7 and row["KODE"].isdigit() for row in rows)
    assert len({row["KODE"] for row in rows}) == len(rows)
    assert all(row["MITRA_JAMKESDA"] == "Y" for row in rows)
    assert {row["KODE_WILAYAH"] for row in rows} <= kukar_village_codes()
    assert all(row["NAMA"].startswith("Puskesmas ") for row in rows if row["JENIS"] == "PUSKESMAS")
    assert "RSUD A.M. Parikesit" in {row["NAMA"] for row in rows}
    assert [entry.code for entry in FACILITIES] == [row["KODE"] for row in rows]


def test_there_is_one_example_of_every_kind(dataset: Dataset) -> None:
    assert [example.kind for example in dataset.examples] == list(Kind)
    assert len({example.nik for example in dataset.examples}) == len(Kind)


def test_the_unknown_example_nik_is_valid_but_not_in_any_file(dataset: Dataset) -> None:
    (unknown,) = [e.nik for e in dataset.examples if e.kind is Kind.UNKNOWN_NIK]
    parse_nik(unknown)
    for source in ("population", "jamkesda", "jkn"):
        assert unknown not in {row["NIK"] for row in read(dataset, source)}


@pytest.mark.parametrize("kind", list(Kind))
def test_each_example_gets_its_expected_decision_from_the_written_facts(
    dataset: Dataset, kind: Kind
) -> None:
    (example,) = [example for example in dataset.examples if example.kind is kind]
    decision = decide(facts_from_files(dataset, example.nik), load_policy(), TODAY)
    assert (decision.outcome, decision.reasons) == (example.outcome, example.reasons)


def test_example_of_a_nik_from_elsewhere_carries_a_samarinda_prefix(dataset: Dataset) -> None:
    (example,) = [e for e in dataset.examples if e.kind is Kind.NIK_FROM_ELSEWHERE]
    assert example.nik.startswith("6472")
