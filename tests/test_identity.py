"""Optional identity fields compared with the registry (SPEC §4): name and birth date."""

from __future__ import annotations

from datetime import date

import pytest

from service.decision import Person
from service.identity import Match, comparable_name, match_birth_date, match_name

REGISTERED = Person(
    name="Siti Nur'aini",
    birth_date=date(1990, 8, 15),
    village_code="6402012001",
    domiciled_since=date(2010, 1, 1),
    status="HIDUP",
)


@pytest.mark.parametrize(
    "given",
    [
        "Siti Nur'aini",
        "SITI NUR'AINI",
        "siti nuraini",
        "SITI NURAINI",
        "  Siti   Nur'aini  ",
        "Siti Nur-aini",
        "Siti Nur’aini",
        "S.I.T.I. Nur'aini",
        "SitiNuraini",
        "Siti\tNur'aini",
        "Siti, Nur'aini.",
    ],
)
def test_name_matches_ignoring_case_spacing_and_punctuation(given: str) -> None:
    assert match_name(given, REGISTERED) is Match.MATCH


@pytest.mark.parametrize(
    "given",
    [
        "Siti Nuraina",
        "Siti",
        "Nur'aini Siti",
        "Siti Nur'aini Binti Ahmad",
        "Sity Nur'aini",
        "",
    ],
)
def test_a_different_name_is_a_mismatch(given: str) -> None:
    assert match_name(given, REGISTERED) is Match.MISMATCH


def test_name_not_given_is_not_provided() -> None:
    assert match_name(None, REGISTERED) is Match.NOT_PROVIDED
    assert match_name(None, None) is Match.NOT_PROVIDED


def test_name_without_a_registry_row_is_a_mismatch() -> None:
    assert match_name("Siti Nur'aini", None) is Match.MISMATCH


def test_comparable_name_keeps_only_letters_and_digits_in_lower_case() -> None:
    assert comparable_name("  Siti  Nur'aini ") == "sitinuraini"
    assert comparable_name("MUH. ARIF-RAHMAN, S.Kep") == "muharifrahmanskep"


def test_birth_date_matches_only_exactly() -> None:
    assert match_birth_date(date(1990, 8, 15), REGISTERED) is Match.MATCH


@pytest.mark.parametrize(
    "given",
    [date(1990, 8, 16), date(1990, 8, 14), date(1990, 9, 15), date(1991, 8, 15), date(2090, 8, 15)],
)
def test_a_different_birth_date_is_a_mismatch(given: date) -> None:
    assert match_birth_date(given, REGISTERED) is Match.MISMATCH


def test_birth_date_not_given_is_not_provided() -> None:
    assert match_birth_date(None, REGISTERED) is Match.NOT_PROVIDED
    assert match_birth_date(None, None) is Match.NOT_PROVIDED


def test_birth_date_without_a_registry_row_is_a_mismatch() -> None:
    assert match_birth_date(date(1990, 8, 15), None) is Match.MISMATCH


def test_match_values_are_the_specs() -> None:
    assert [match.value for match in Match] == ["MATCH", "MISMATCH", "NOT_PROVIDED"]
