"""The import's value parsers: the remembered NIK verdicts agree with service.nik."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.imports import fields
from service.imports.fields import FieldError
from service.nik import InvalidNik, parse_nik


def two_digits(low: int = 0, high: int = 99) -> st.SearchStrategy[str]:
    """Two digits between ``low`` and ``high``."""
    return st.integers(low, high).map(lambda number: f"{number:02d}")


# NIK-shaped digits, often valid, often not: every rule of parse_nik gets exercised.
NIK_DIGITS = st.builds(
    lambda *parts: "".join(parts),
    two_digits(),
    st.text("0123456789", min_size=4, max_size=4),
    two_digits(0, 75),
    two_digits(0, 13),
    two_digits(),
    st.sampled_from(["0000", "0001", "0420", "9999"]),
)


def verdict(parse: object, value: str) -> str:
    """What ``parse`` answers for ``value``: the value, or why it is refused."""
    try:
        return str(parse(value))  # type: ignore[operator]
    except (FieldError, InvalidNik) as exc:
        return f"refused: {type(exc).__name__}"


@given(st.lists(NIK_DIGITS, min_size=1, max_size=20))
def test_remembered_nik_verdicts_agree_with_parse_nik(values: list[str]) -> None:
    """The shortcut remembers verdicts by province and birth date: never a different answer."""
    for value in values:
        expected = verdict(lambda text: parse_nik(text).value, value)
        assert verdict(fields.nik, value).startswith("refused") == expected.startswith("refused")
        if not expected.startswith("refused"):
            assert fields.nik(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("6402014101900000", "serial number is 0000"),
        ("6402018101900001", "birth day"),
        ("6402 0141 0190 0001", None),
        ("６４０２０１４１０１９００００１", "16 digits"),
    ],
)
def test_nik_special_forms_take_the_full_parser(value: str, reason: str | None) -> None:
    """Separators, a zero serial and non-ASCII digits are not remembered by shape."""
    if reason is None:
        assert fields.nik(value) == "6402014101900001"
    else:
        with pytest.raises(FieldError, match=reason):
            fields.nik(value)


def test_remembered_parser_refuses_a_bad_value_every_time() -> None:
    """Only good values are remembered; a bad one is parsed, and refused, again."""
    calls: list[str] = []

    def parse(value: str) -> str:
        """Count the calls; refuse "x"."""
        calls.append(value)
        if value == "x":
            raise FieldError("bad")
        return value.upper()

    remembered = fields.remembered(parse)
    assert [remembered("a"), remembered("a")] == ["A", "A"]
    for _ in range(2):
        with pytest.raises(FieldError):
            remembered("x")
    assert calls == ["a", "x", "x"]
