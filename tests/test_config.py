"""Settings from the environment: the SQLite default, the NIK hash key, the driver choice."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from service import config
from service.config import ConfigError, Settings
from service.db import sqlalchemy_url
from service.ledger.note import generate_signer_key, parse_signer_key, verifier_key
from service.policy import PolicyError

REPO_DIR = Path(__file__).resolve().parent.parent
LONG_KEY = "k" * 32
LEDGER_KEY = generate_signer_key("test.example/log")


def test_database_url_defaults_to_a_sqlite_file_in_the_instance_folder(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    url = config.database_url({"JAMKESDA_INSTANCE": str(instance)})
    assert url == f"sqlite:///{instance / 'jamkesda.db'}"
    assert instance.is_dir()


def test_blank_database_url_means_the_default(tmp_path: Path) -> None:
    env = {"JAMKESDA_INSTANCE": str(tmp_path), "DATABASE_URL": "  "}
    assert config.database_url(env) == f"sqlite:///{tmp_path / 'jamkesda.db'}"


def test_database_url_is_taken_as_given(tmp_path: Path) -> None:
    url = "postgresql://kukar:secret@db.example:5432/jamkesda"
    assert config.database_url({"DATABASE_URL": url, "JAMKESDA_INSTANCE": str(tmp_path)}) == url


def test_instance_folder_defaults_to_the_projects_instance_folder() -> None:
    assert config.instance_dir({}) == REPO_DIR / "instance"


def test_without_database_url_and_key_a_private_key_is_generated_and_kept(tmp_path: Path) -> None:
    env = {"JAMKESDA_INSTANCE": str(tmp_path / "instance")}
    first = config.nik_hash_key(env)
    assert len(first) >= config.MIN_KEY_LENGTH
    files = list((tmp_path / "instance").iterdir())
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert first.decode("utf-8") in files[0].read_text("utf-8")
    assert config.nik_hash_key(env) == first


def test_generated_keys_differ_between_instances(tmp_path: Path) -> None:
    one = config.nik_hash_key({"JAMKESDA_INSTANCE": str(tmp_path / "one")})
    two = config.nik_hash_key({"JAMKESDA_INSTANCE": str(tmp_path / "two")})
    assert one != two


def test_database_url_without_key_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    env = {"DATABASE_URL": "postgresql://db/jamkesda", "JAMKESDA_INSTANCE": str(tmp_path)}
    with pytest.raises(ConfigError, match="NIK_HASH_KEY"):
        config.nik_hash_key(env)
    assert list(tmp_path.iterdir()) == []


def test_explicit_sqlite_database_url_without_key_is_a_config_error_too(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "JAMKESDA_INSTANCE": str(tmp_path)}
    with pytest.raises(ConfigError, match="NIK_HASH_KEY"):
        config.nik_hash_key(env)


@pytest.mark.parametrize("key", ["x", "k" * 31])
def test_short_key_is_a_config_error(tmp_path: Path, key: str) -> None:
    env = {"NIK_HASH_KEY": key, "JAMKESDA_INSTANCE": str(tmp_path)}
    with pytest.raises(ConfigError, match="NIK_HASH_KEY"):
        config.nik_hash_key(env)


def test_given_key_is_used_as_its_utf8_bytes(tmp_path: Path) -> None:
    env = {
        "NIK_HASH_KEY": LONG_KEY,
        "DATABASE_URL": "postgresql://db/jamkesda",
        "JAMKESDA_INSTANCE": str(tmp_path),
    }
    assert config.nik_hash_key(env) == LONG_KEY.encode("utf-8")
    assert list(tmp_path.iterdir()) == []


def test_settings_read_everything_and_load_the_bundled_policy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    env = {
        "DATABASE_URL": url,
        "NIK_HASH_KEY": LONG_KEY,
        # The web app needs only the public key (SPEC §13).
        "LEDGER_VERIFIER_KEY": verifier_key(parse_signer_key(LEDGER_KEY)),
        "CONSOLE_SECRET_KEY": LONG_KEY,
    }
    settings = Settings.from_env(env)
    assert settings.database_url == url
    assert settings.nik_hash_key == LONG_KEY.encode("utf-8")
    assert settings.policy.version == "kukar-2025.1"
    assert settings.ledger_verifier_key == env["LEDGER_VERIFIER_KEY"]
    assert settings.ledger_checkpoint_interval == 10
    assert settings.console_secret_key == LONG_KEY


def test_settings_with_a_missing_policy_file_is_a_policy_error(tmp_path: Path) -> None:
    env = {"NIK_HASH_KEY": LONG_KEY, "JAMKESDA_POLICY": str(tmp_path / "absent.toml")}
    with pytest.raises(PolicyError, match=r"absent\.toml"):
        Settings.from_env({**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://kukar:s3cret@db:5432/jamkesda",
            "postgresql+psycopg://kukar:s3cret@db:5432/jamkesda",
        ),
        (
            "postgres://kukar:s3cret@db:5432/jamkesda",
            "postgresql+psycopg://kukar:s3cret@db:5432/jamkesda",
        ),
        ("postgresql://kukar:p%40ss@db/jamkesda", "postgresql+psycopg://kukar:p%40ss@db/jamkesda"),
        ("postgresql+psycopg://kukar@db/jamkesda", "postgresql+psycopg://kukar@db/jamkesda"),
        ("sqlite:////var/lib/jamkesda/jamkesda.db", "sqlite:////var/lib/jamkesda/jamkesda.db"),
        ("sqlite:///instance/jamkesda.db", "sqlite:///instance/jamkesda.db"),
        ("sqlite://", "sqlite://"),
    ],
)
def test_sqlalchemy_url_picks_psycopg_for_postgresql_and_leaves_sqlite_alone(
    url: str, expected: str
) -> None:
    assert sqlalchemy_url(url) == expected


def test_console_secret_key_is_required_with_database_url(tmp_path: Path) -> None:
    env = {"DATABASE_URL": "postgresql://db/jamkesda", "JAMKESDA_INSTANCE": str(tmp_path)}
    with pytest.raises(ConfigError, match="CONSOLE_SECRET_KEY is not set"):
        config.console_secret_key(env)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ConfigError, match="CONSOLE_SECRET_KEY must be at least"):
        config.console_secret_key({**env, "CONSOLE_SECRET_KEY": "short"})


def test_console_secret_key_is_generated_owner_only_for_the_sqlite_default(
    tmp_path: Path,
) -> None:
    env = {"JAMKESDA_INSTANCE": str(tmp_path / "instance")}
    first = config.console_secret_key(env)
    assert len(first) >= config.MIN_KEY_LENGTH
    file = tmp_path / "instance" / "console_secret_key"
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert config.console_secret_key(env) == first
