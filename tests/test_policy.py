"""The policy file (SPEC §4): loading, validation and the regency's region codes."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from service.policy import (
    DEFAULT_VERSION,
    Policy,
    PolicyError,
    bundled_policies,
    load_policy,
    parse_policy,
)

# Every key of SPEC §4 with the bundled value, as TOML literals.
KEYS = {
    "version": '"kukar-2025.1"',
    "regency_codes": '["64.02"]',
    "min_residency_days": "90",
    "newborn_exempt": "true",
    "require_jamkesda_membership": "true",
    "default_class": '"III"',
    "timezone": '"Asia/Makassar"',
}
KUKAR = Policy(
    version="kukar-2025.1",
    regency_codes=("64.02",),
    min_residency_days=90,
    newborn_exempt=True,
    require_jamkesda_membership=True,
    default_class="III",
    timezone="Asia/Makassar",
)


def policy_text(**literals: str) -> str:
    """A policy file with the bundled values, some given other TOML literals."""
    values = {**KEYS, **literals}
    return "".join(f"{key} = {value}\n" for key, value in values.items())


def policy_without(*omitted: str) -> str:
    """A policy file with the bundled values, some keys left out."""
    return "".join(f"{key} = {value}\n" for key, value in KEYS.items() if key not in omitted)


def test_bundled_policy_is_kukar_2025_1() -> None:
    policy = load_policy()
    assert policy == KUKAR
    assert DEFAULT_VERSION == "kukar-2025.1"


def test_bundled_policy_reads_dates_in_wita() -> None:
    assert load_policy().zone == ZoneInfo("Asia/Makassar")


def test_bundled_policies_are_keyed_by_version_and_include_the_default() -> None:
    policies = bundled_policies()
    assert policies[DEFAULT_VERSION] == KUKAR
    assert all(version == policy.version for version, policy in policies.items())


def test_policy_file_at_a_path_is_loaded(tmp_path: Path) -> None:
    file = tmp_path / "other.toml"
    file.write_text(policy_text(version='"kukar-2026.1"', min_residency_days="180"), "utf-8")
    policy = load_policy(file)
    assert policy.version == "kukar-2026.1"
    assert policy.min_residency_days == 180
    assert load_policy(str(file)) == policy


def test_parse_policy_reads_every_key() -> None:
    text = policy_text(
        version='"test-1"',
        regency_codes='["64.02", "6472"]',
        min_residency_days="0",
        newborn_exempt="false",
        require_jamkesda_membership="false",
        default_class='"II"',
        timezone='"Asia/Jakarta"',
    )
    assert parse_policy(text) == Policy(
        version="test-1",
        regency_codes=("64.02", "6472"),
        min_residency_days=0,
        newborn_exempt=False,
        require_jamkesda_membership=False,
        default_class="II",
        timezone="Asia/Jakarta",
    )


@pytest.mark.parametrize("key", list(KEYS))
def test_each_missing_key_is_named(key: str) -> None:
    with pytest.raises(PolicyError, match=rf"missing key\(s\): {key}$"):
        parse_policy(policy_without(key), "custom.toml")


def test_every_missing_key_is_named_at_once() -> None:
    with pytest.raises(PolicyError) as raised:
        parse_policy("", "empty.toml")
    message = str(raised.value)
    assert message.startswith("empty.toml: ")
    for key in KEYS:
        assert key in message


@pytest.mark.parametrize(
    ("key", "literal"),
    [
        ("version", "1"),
        ("regency_codes", '"64.02"'),
        ("regency_codes", "6402"),
        ("min_residency_days", '"90"'),
        ("min_residency_days", "90.0"),
        ("min_residency_days", "true"),
        ("min_residency_days", "false"),
        ("newborn_exempt", "1"),
        ("newborn_exempt", '"true"'),
        ("require_jamkesda_membership", "0"),
        ("require_jamkesda_membership", '"yes"'),
        ("default_class", "3"),
        ("default_class", '["III"]'),
        ("timezone", "8"),
    ],
)
def test_value_of_the_wrong_type_is_named(key: str, literal: str) -> None:
    with pytest.raises(PolicyError, match=rf"^custom\.toml: key '{key}' must be a "):
        parse_policy(policy_text(**{key: literal}), "custom.toml")


@pytest.mark.parametrize("literal", ["[]", '["Kukar"]', "[6402]", '[""]', '["64.02", 6472]'])
def test_regency_codes_must_be_region_codes(literal: str) -> None:
    with pytest.raises(PolicyError, match="regency_codes"):
        parse_policy(policy_text(regency_codes=literal))


def test_negative_min_residency_days_is_rejected() -> None:
    with pytest.raises(PolicyError, match="min_residency_days"):
        parse_policy(policy_text(min_residency_days="-1"))


@pytest.mark.parametrize("literal", ['""', '"   "'])
def test_empty_version_is_rejected(literal: str) -> None:
    with pytest.raises(PolicyError, match="version"):
        parse_policy(policy_text(version=literal))


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "WITA", "", "../etc/passwd", "Asia"])
def test_unknown_timezone_is_rejected(zone: str) -> None:
    with pytest.raises(PolicyError, match="timezone"):
        parse_policy(policy_text(timezone=f'"{zone}"'))


@pytest.mark.parametrize(
    "text",
    [
        'version = "kukar-2025.1',
        "version = kukar",
        policy_text() + 'version = "again"\n',
        "[regency_codes\n",
    ],
)
def test_text_that_is_not_toml_is_rejected(text: str) -> None:
    with pytest.raises(PolicyError, match=r"^broken\.toml: not valid TOML"):
        parse_policy(text, "broken.toml")


def test_missing_policy_file_is_a_policy_error_naming_it(tmp_path: Path) -> None:
    file = tmp_path / "absent.toml"
    with pytest.raises(PolicyError, match=r"absent\.toml: cannot read"):
        load_policy(file)


def test_directory_as_policy_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path)


def test_policy_file_not_in_utf8_is_a_policy_error(tmp_path: Path) -> None:
    """An operator's editor may save in Latin-1: that is a bad policy file, not a crash."""
    file = tmp_path / "latin1.toml"
    file.write_bytes(policy_text(default_class='"III – Jamkesda"').encode("cp1252"))
    with pytest.raises(PolicyError, match=r"latin1\.toml"):
        load_policy(file)


def test_errors_from_a_file_name_the_file(tmp_path: Path) -> None:
    file = tmp_path / "incomplete.toml"
    file.write_text(policy_without("timezone"), "utf-8")
    with pytest.raises(PolicyError, match=r"incomplete\.toml: missing key\(s\): timezone"):
        load_policy(file)


def test_policy_error_is_a_value_error() -> None:
    assert issubclass(PolicyError, ValueError)


@pytest.mark.parametrize(
    ("village_code", "covered"),
    [
        ("6402012001", True),
        ("64.02.01.2001", True),
        ("64.02", True),
        ("6402", True),
        ("64.0201.2001", True),
        ("6472012001", False),  # Samarinda
        ("64.72.01.1001", False),
        ("6502012001", False),
        ("1164020000", False),  # 6402 inside, not at the start
        ("640", False),
        ("", False),
    ],
)
def test_covers_region_matches_the_prefix_ignoring_dots(village_code: str, covered: bool) -> None:
    assert KUKAR.covers_region(village_code) is covered


def test_regency_code_without_dots_matches_dotted_village_codes() -> None:
    policy = parse_policy(policy_text(regency_codes='["6402"]'))
    assert policy.covers_region("64.02.01.2001")


def test_any_of_several_regency_codes_covers() -> None:
    policy = parse_policy(policy_text(regency_codes='["64.02", "64.72"]'))
    assert policy.covers_region("6402012001")
    assert policy.covers_region("6472012001")
    assert not policy.covers_region("6471012001")
