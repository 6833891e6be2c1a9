"""The NIK's structure (SPEC §5), its normalisation, mask and keyed hash."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from service.nik import InvalidNik, mask, nik_hash, nik_hasher, normalise, parse_nik

# A man born 15 August 1990, first issued in Kukar (64.02), district 01, serial 0001.
VALID = "6402011508900001"
DIGITS = "0123456789"
# Days in each month; February has 29 when either reading of a two-digit year
# (19YY or 20YY) is a leap year, which is exactly when YY is divisible by 4
# (1900 is not a leap year but 2000 is).
DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def build(
    province: int = 64,
    rest: str = "0201",
    day: int = 15,
    month: int = 8,
    year: int = 90,
    serial: int = 1,
) -> str:
    """A 16-digit NIK from its parts (day already +40 for a woman)."""
    return f"{province:02d}{rest}{day:02d}{month:02d}{year:02d}{serial:04d}"


def is_valid_by_spec(text: str) -> bool:
    """An oracle written from SPEC §5 alone, independent of the module under test."""
    if len(text) != 16 or any(char not in DIGITS for char in text):
        return False
    province, day, month, year = int(text[:2]), int(text[6:8]), int(text[8:10]), int(text[10:12])
    if not 11 <= province <= 99 or text[12:] == "0000":
        return False
    if 41 <= day <= 71:
        day -= 40
    elif not 1 <= day <= 31:
        return False
    if not 1 <= month <= 12:
        return False
    for century in (1900, 2000):
        try:
            date(century + year, month, day)
        except ValueError:
            continue
        return True
    return False


def without_separators(text: str) -> str:
    """What is left once spaces (any white space), dots and dashes are removed."""
    return "".join(char for char in text if not (char.isspace() or char in ".-"))


@st.composite
def valid_niks(draw: st.DrawFn) -> str:
    """A NIK built from parts that SPEC §5 allows."""
    year = draw(st.integers(0, 99))
    month = draw(st.integers(1, 12))
    last_day = 29 if month == 2 and year % 4 == 0 else DAYS_IN_MONTH[month - 1]
    day = draw(st.integers(1, last_day)) + draw(st.sampled_from([0, 40]))
    return build(
        province=draw(st.integers(11, 99)),
        rest=draw(st.text(DIGITS, min_size=4, max_size=4)),
        day=day,
        month=month,
        year=year,
        serial=draw(st.integers(1, 9999)),
    )


@st.composite
def near_valid_niks(draw: st.DrawFn) -> str:
    """16 digits whose fields straddle the boundaries of every rule."""
    return build(
        province=draw(st.one_of(st.integers(0, 99), st.sampled_from([0, 10, 11, 99]))),
        rest=draw(st.text(DIGITS, min_size=4, max_size=4)),
        day=draw(
            st.one_of(
                st.integers(0, 99),
                st.sampled_from([0, 1, 28, 29, 30, 31, 32, 40, 41, 68, 69, 70, 71, 72]),
            )
        ),
        month=draw(st.one_of(st.integers(0, 99), st.sampled_from([0, 1, 2, 4, 12, 13]))),
        year=draw(st.one_of(st.integers(0, 99), st.sampled_from([0, 1, 4, 96, 99]))),
        serial=draw(st.one_of(st.integers(0, 9999), st.just(0))),
    )


def test_valid_nik_parses_to_its_digits() -> None:
    nik = parse_nik(VALID)
    assert nik.value == VALID
    assert nik.issuing_region == "640201"
    assert nik.is_female is False


def test_womans_nik_has_birth_day_plus_forty() -> None:
    assert parse_nik(build(day=55)).is_female is True


@pytest.mark.parametrize(
    "typed",
    [
        "6402 0115 0890 0001",
        "6402.0115.0890.0001",
        "6402-0115-0890-0001",
        "64.02.01.150890.0001",
        "64 02-01.15 08 90-0001",
        "  6402011508900001  ",
        "6402\t011508900001\n",
    ],
)
def test_spaces_dots_and_dashes_are_removed(typed: str) -> None:
    assert normalise(typed) == VALID
    assert parse_nik(typed).value == VALID


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "640201150890001",  # 15 digits
        "64020115089000011",  # 17 digits
        "640201150890000A",
        "6402011508900001x",
        "6402/0115/0890/0001",
        "6402_0115_0890_0001",
        "+6402011508900001",
        "６４０２０１１５０８９００００１",  # full-width digits
        "٦٤٠٢٠١١٥٠٨٩٠٠٠٠١",  # Arabic-Indic digits
    ],
)
def test_text_that_is_not_sixteen_digits_is_rejected(typed: str) -> None:
    with pytest.raises(InvalidNik):
        parse_nik(typed)


@pytest.mark.parametrize(("province", "valid"), [(0, False), (10, False), (11, True), (99, True)])
def test_province_code_must_be_11_to_99(province: int, valid: bool) -> None:
    assert is_valid_by_spec(build(province=province)) is valid
    if valid:
        parse_nik(build(province=province))
    else:
        with pytest.raises(InvalidNik):
            parse_nik(build(province=province))


def test_region_code_missing_from_todays_list_is_accepted() -> None:
    """Regions split and codes change: an unknown region is no reason to reject."""
    assert parse_nik(build(province=99, rest="9999")).issuing_region == "999999"


@pytest.mark.parametrize("day", [1, 31, 41, 71])
def test_birth_day_01_to_31_or_41_to_71_is_accepted(day: int) -> None:
    parse_nik(build(day=day, month=1))


@pytest.mark.parametrize("day", [0, 32, 39, 40, 72, 99])
def test_birth_day_outside_01_to_31_and_41_to_71_is_rejected(day: int) -> None:
    with pytest.raises(InvalidNik):
        parse_nik(build(day=day, month=1))


@pytest.mark.parametrize("month", [1, 12])
def test_birth_month_01_to_12_is_accepted(month: int) -> None:
    parse_nik(build(day=1, month=month))


@pytest.mark.parametrize("month", [0, 13, 99])
def test_birth_month_outside_01_to_12_is_rejected(month: int) -> None:
    with pytest.raises(InvalidNik):
        parse_nik(build(day=1, month=month))


@pytest.mark.parametrize(
    ("day", "month", "year", "valid"),
    [
        (29, 2, 0, True),  # 2000 is a leap year (1900 is not)
        (29, 2, 1, False),  # neither 1901 nor 2001
        (29, 2, 4, True),  # 1904 and 2004
        (29, 2, 96, True),  # 1996
        (29, 2, 23, False),
        (28, 2, 1, True),
        (30, 2, 0, False),  # no year has 30 February
        (31, 4, 90, False),  # April has 30 days
        (30, 4, 90, True),
        (31, 6, 90, False),
        (31, 9, 90, False),
        (31, 11, 90, False),
        (31, 12, 90, True),
        (71, 4, 90, False),  # a woman's 31 April
        (70, 4, 90, True),  # a woman's 30 April
        (71, 1, 90, True),  # a woman's 31 January
        (69, 2, 0, True),  # a woman's 29 February 2000
        (69, 2, 1, False),  # a woman's 29 February 1901/2001
        (70, 2, 4, False),  # a woman's 30 February
    ],
)
def test_birth_date_must_exist_in_the_19yy_or_20yy_reading(
    day: int, month: int, year: int, valid: bool
) -> None:
    text = build(day=day, month=month, year=year)
    assert is_valid_by_spec(text) is valid
    if valid:
        assert parse_nik(text).value == text
    else:
        with pytest.raises(InvalidNik):
            parse_nik(text)


def test_serial_0000_is_rejected() -> None:
    with pytest.raises(InvalidNik):
        parse_nik(build(serial=0))


@pytest.mark.parametrize("serial", [1, 10, 9999])
def test_any_other_serial_is_accepted(serial: int) -> None:
    parse_nik(build(serial=serial))


def test_invalid_nik_is_a_value_error_with_a_message() -> None:
    with pytest.raises(ValueError, match=r"\S"):
        parse_nik("123")


def test_mask_shows_first_four_and_last_two_digits() -> None:
    assert mask("6402011508900001") == "6402**********01"


@pytest.mark.parametrize("text", ["", "1", "1234567"])
def test_mask_of_a_short_text_reveals_nothing(text: str) -> None:
    assert mask(text) == "*" * len(text)


def test_mask_of_eight_characters_hides_the_middle_two() -> None:
    assert mask("12345678") == "1234**78"


def test_nik_hash_is_hmac_sha256_hex() -> None:
    """RFC 4231 test case 1 pins the algorithm and the hex encoding."""
    assert nik_hash(b"\x0b" * 20, "Hi There") == (
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    )


def test_nik_hash_depends_on_the_key() -> None:
    first = nik_hash(b"key-one", VALID)
    assert first == nik_hash(b"key-one", VALID)
    assert first != nik_hash(b"key-two", VALID)
    assert first != hashlib.sha256(VALID.encode()).hexdigest()


def test_nik_hash_differs_between_niks_and_hides_the_nik() -> None:
    first = nik_hash(b"key", VALID)
    assert first != nik_hash(b"key", build(serial=2))
    assert VALID not in first
    assert len(first) == 64
    assert set(first) <= set("0123456789abcdef")


@given(valid_niks())
def test_every_nik_built_from_valid_parts_parses_and_round_trips(text: str) -> None:
    nik = parse_nik(text)
    assert nik.value == text
    assert parse_nik(nik.value) == nik
    assert nik.issuing_region == text[:6]
    assert nik.is_female is (int(text[6:8]) > 40)
    assert mask(nik.value) == text[:4] + "*" * 10 + text[-2:]


@given(valid_niks(), st.lists(st.text(" .-", max_size=3), min_size=15, max_size=15))
def test_separators_between_digits_are_removed(text: str, separators: list[str]) -> None:
    typed = "".join(digit + separator for digit, separator in zip(text, separators, strict=False))
    typed += text[-1]
    assert normalise(typed) == text
    assert parse_nik(typed).value == text


@given(
    st.one_of(
        st.text(),
        st.text(DIGITS + " .-", max_size=40),
        st.text(DIGITS + "Oo/_,+ \u0660\uff10", min_size=14, max_size=20),
    )
)
@example("640201150890000")
@example("64020115089000011")
@example("640201150890000O")
def test_text_that_is_not_sixteen_digits_after_normalisation_is_rejected(text: str) -> None:
    stripped = without_separators(text)
    if len(stripped) == 16 and all(char in DIGITS for char in stripped):
        # Sixteen digits after all: the next property covers those.
        return
    with pytest.raises(InvalidNik):
        parse_nik(text)


@given(st.one_of(st.text(DIGITS, min_size=16, max_size=16), near_valid_niks()))
@example(build(day=29, month=2, year=0))
@example(build(day=29, month=2, year=1))
@example(build(day=69, month=2, year=4))
@example(build(day=71, month=4))
@example(build(serial=0))
@example(build(province=10))
def test_sixteen_digits_are_accepted_exactly_when_the_spec_says_so(text: str) -> None:
    try:
        accepted = parse_nik(text).value == text
    except InvalidNik:
        accepted = False
    assert accepted is is_valid_by_spec(text)


def test_nik_hash_matches_an_independent_hmac() -> None:
    key = b"test-nik-hash-key"
    assert nik_hash(key, VALID) == hmac.new(key, VALID.encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize("length", [32, 63, 64, 65, 100])
@pytest.mark.parametrize("text", [VALID, "", "6402*né"])
def test_the_hasher_for_many_niks_is_nik_hash(length: int, text: str) -> None:
    """Keys longer than SHA-256's 64-byte block are hashed first: both sides of it."""
    key = bytes(range(length))
    assert nik_hasher(key)(text) == nik_hash(key, text)
