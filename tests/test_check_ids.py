"""Check references (SPEC §5): format, case-insensitive parsing and the check character."""

from __future__ import annotations

import re
from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.check_ids import ALPHABET, InvalidCheckId, new_check_id, parse_check_id

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
FORMAT = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")
# Luhn mod 32 cannot tell these two apart when they swap places: their doubled values
# differ from their plain values by the same amount modulo 32 (0 and 31 - 31).
UNDETECTED_SWAP = frozenset("0Z")

payloads = st.text(CROCKFORD, min_size=11, max_size=11)


def accepted(text: str) -> bool:
    """Whether ``parse_check_id`` takes the text."""
    try:
        parse_check_id(text)
    except InvalidCheckId:
        return False
    return True


@cache
def with_check(payload: str) -> str:
    """The 12-character reference whose first 11 characters are ``payload``.

    Found from the outside: exactly one of the 32 possible last characters is accepted.
    """
    valid = [payload + char for char in CROCKFORD if accepted(payload + char)]
    assert len(valid) == 1, valid
    return valid[0]


def formatted(compact: str) -> str:
    return f"{compact[0:4]}-{compact[4:8]}-{compact[8:12]}"


def compact(check_id: str) -> str:
    return check_id.replace("-", "")


def swapped(text: str, index: int) -> str:
    """``text`` with the characters at ``index`` and ``index + 1`` swapped."""
    chars = list(text)
    chars[index], chars[index + 1] = chars[index + 1], chars[index]
    return "".join(chars)


def test_alphabet_is_crockford_base32() -> None:
    assert ALPHABET == CROCKFORD


def test_new_check_id_has_three_groups_of_four_crockford_characters() -> None:
    for _ in range(500):
        assert FORMAT.fullmatch(new_check_id())


def test_new_check_id_parses_to_itself() -> None:
    for _ in range(500):
        check_id = new_check_id()
        assert parse_check_id(check_id) == check_id


def test_new_check_ids_are_unique() -> None:
    ids = [new_check_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)


def test_new_check_ids_use_the_whole_alphabet_in_every_position() -> None:
    ids = [compact(new_check_id()) for _ in range(3_000)]
    for position in range(12):
        assert {check_id[position] for check_id in ids} == set(CROCKFORD)


@given(payloads)
def test_exactly_one_check_character_completes_any_payload(payload: str) -> None:
    assert with_check(payload)[:11] == payload


@pytest.mark.parametrize(
    "typed",
    [
        "{id}",
        "{lower}",
        "{compact}",
        "{compact_lower}",
        "  {id}  ",
        "{spaced}",
    ],
)
def test_parse_is_case_insensitive_and_ignores_dashes_and_spaces(typed: str) -> None:
    check_id = formatted(with_check("K7QM3XD92F4"))
    text = typed.format(
        id=check_id,
        lower=check_id.lower(),
        compact=compact(check_id),
        compact_lower=compact(check_id).lower(),
        spaced=check_id.replace("-", " "),
    )
    assert parse_check_id(text) == check_id


@pytest.mark.parametrize(
    ("alias", "digit"), [("O", "0"), ("o", "0"), ("I", "1"), ("i", "1"), ("L", "1"), ("l", "1")]
)
def test_misread_letters_are_read_as_digits(alias: str, digit: str) -> None:
    check_id = formatted(with_check(digit * 3 + "ABCDEFGH"))
    typed = check_id.replace(digit, alias)
    assert typed != check_id
    assert parse_check_id(typed) == check_id


@pytest.mark.parametrize("char", ["U", "u", "*", "Ü", "_", "/", "٣"])
def test_character_outside_the_alphabet_is_rejected(char: str) -> None:
    check_id = compact(with_check("K7QM3XD92F4"))
    with pytest.raises(InvalidCheckId):
        parse_check_id(char + check_id[1:])


@pytest.mark.parametrize(
    "typed",
    ["", "-", "K7QM", "K7QM-3XD9", "K7QM-3XD9-2F4", "K7QM-3XD9-2F4AA", "K7QM-3XD9-2F4A-0000"],
)
def test_malformed_length_is_rejected(typed: str) -> None:
    with pytest.raises(InvalidCheckId):
        parse_check_id(typed)


def test_every_length_but_twelve_is_rejected() -> None:
    base = compact(with_check("0123456789A"))
    for length in range(30):
        text = (base * 3)[:length]
        assert accepted(text) is (length == 12 and text == base)


def test_invalid_check_id_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"\S"):
        parse_check_id("not a reference")


@given(payloads, st.integers(0, 11), st.sampled_from(CROCKFORD))
def test_any_single_wrong_character_is_rejected(payload: str, position: int, char: str) -> None:
    original = with_check(payload)
    typo = original[:position] + char + original[position + 1 :]
    assert accepted(typo) is (typo == original)


def test_every_single_substitution_of_generated_ids_is_rejected() -> None:
    for _ in range(100):
        original = compact(new_check_id())
        for position in range(12):
            for char in CROCKFORD.replace(original[position], ""):
                typo = original[:position] + char + original[position + 1 :]
                assert not accepted(typo), (original, typo)
                assert not accepted(formatted(typo).lower())


def test_adjacent_swaps_are_caught_except_zero_with_z() -> None:
    """Exhaustive: every position and every ordered pair of distinct characters.

    Of the 11 x 32 x 31 = 10,912 adjacent swaps of two different characters, exactly the
    22 swaps of "0" and "Z" (one each way at each of the 11 positions) go unnoticed.
    """
    filler = "7" * 11
    # The last payload character sits next to the check character. To put a chosen pair
    # there, vary the first character until the check character comes out as wanted.
    by_last_pair: dict[tuple[str, str], str] = {}
    for last in CROCKFORD:
        for first in CROCKFORD:
            original = with_check(first + filler[1:10] + last)
            by_last_pair[(last, original[-1])] = original
    undetected = []
    detected = 0
    for position in range(11):
        for left in CROCKFORD:
            for right in CROCKFORD.replace(left, ""):
                if position == 10:
                    original = by_last_pair[(left, right)]
                else:
                    payload = filler[:position] + left + right + filler[position + 2 :]
                    original = with_check(payload)
                assert original[position : position + 2] == left + right
                if accepted(swapped(original, position)):
                    undetected.append((position, left, right))
                else:
                    detected += 1
    assert detected == 10_890
    assert len(undetected) == 22
    assert all({left, right} == UNDETECTED_SWAP for _, left, right in undetected)


def test_adjacent_swaps_in_generated_ids_are_caught_unless_zero_and_z() -> None:
    """Sampled on fresh ids: a swap passes only when it exchanges "0" and "Z"."""
    for _ in range(2_000):
        original = compact(new_check_id())
        for position in range(11):
            pair = original[position : position + 2]
            if pair[0] == pair[1]:
                continue
            passes = accepted(swapped(original, position))
            assert passes is (set(pair) == UNDETECTED_SWAP), (original, position)
