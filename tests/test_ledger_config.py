"""The ledger's signing key and checkpoint interval, ``ledger keygen``, and the demo's key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from service import config
from service.cli import main
from service.config import ConfigError
from service.demo import demo_command
from service.ledger.note import parse_signer_key, sign_note, verifier_key, verify_note


def test_without_database_url_a_signing_key_is_generated_once_into_the_instance_folder(
    tmp_path: Path,
) -> None:
    env = {"JAMKESDA_INSTANCE": str(tmp_path / "instance")}
    first = config.ledger_signer(env)
    assert first.name == config.DEFAULT_LEDGER_ORIGIN
    files = {file.name: file for file in (tmp_path / "instance").iterdir()}
    # The public half beside it is what the web workers read (SPEC §13).
    assert set(files) == {"ledger_signing_key", "ledger_verifier_key"}
    assert stat.S_IMODE(files["ledger_signing_key"].stat().st_mode) == 0o600
    assert config.ledger_verifier_key(env) == verifier_key(first)
    assert config.ledger_signer(env).public_key == first.public_key
    other = config.ledger_signer({"JAMKESDA_INSTANCE": str(tmp_path / "other")})
    assert other.public_key != first.public_key


@pytest.mark.parametrize("url", ["postgresql://db/jamkesda", "sqlite:///elsewhere.db"])
def test_with_database_url_the_signing_key_is_required(tmp_path: Path, url: str) -> None:
    env = {"DATABASE_URL": url, "JAMKESDA_INSTANCE": str(tmp_path)}
    with pytest.raises(ConfigError, match=r"LEDGER_SIGNING_KEY is not set.*jamkesda ledger keygen"):
        config.ledger_signer(env)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "key",
    [
        "not a key",
        "PRIVATE+KEY+name+00000000+AQ==",
        # A verifier key is public: it cannot sign.
        "kukar+01234567+AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ==",
    ],
)
def test_a_malformed_signing_key_is_a_config_error(tmp_path: Path, key: str) -> None:
    env = {"DATABASE_URL": "postgresql://db/x", "LEDGER_SIGNING_KEY": key}
    with pytest.raises(ConfigError, match="LEDGER_SIGNING_KEY is not a signer key"):
        config.ledger_signer(env)


@pytest.mark.parametrize(("text", "seconds"), [("", 10.0), ("0", 0.0), (" 2.5 ", 2.5)])
def test_the_checkpoint_interval_is_read_in_seconds(text: str, seconds: float) -> None:
    assert config.ledger_checkpoint_interval({"LEDGER_CHECKPOINT_INTERVAL": text}) == seconds


@pytest.mark.parametrize("text", ["-1", "soon", "nan", "inf"])
def test_a_bad_checkpoint_interval_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError, match="LEDGER_CHECKPOINT_INTERVAL"):
        config.ledger_checkpoint_interval({"LEDGER_CHECKPOINT_INTERVAL": text})


def test_keygen_prints_a_signing_key_then_its_verifier_key() -> None:
    result = CliRunner().invoke(main, ["ledger", "keygen", "--origin", "example.org/log"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    signer = parse_signer_key(lines[1])
    assert signer.name == "example.org/log"
    assert lines[3] == verifier_key(signer)
    assert verify_note(sign_note("hello\n", signer), lines[3]) == "hello\n"


def test_keygen_refuses_an_origin_a_signature_line_cannot_carry() -> None:
    result = CliRunner().invoke(main, ["ledger", "keygen", "--origin", "two words"])
    assert result.exit_code == 2


def test_the_demo_shows_the_verifier_key(env: dict[str, str], engine: Engine) -> None:
    result = CliRunner().invoke(demo_command, ["--residents", "300"], env=env)
    assert result.exit_code == 0, result.output
    expected = verifier_key(parse_signer_key(env["LEDGER_SIGNING_KEY"]))
    assert f"\n  {expected}\n" in result.stdout
    assert "/v1/ledger/checkpoint" in result.stdout
