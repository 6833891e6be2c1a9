"""Issue 14, finding 10: the SQLite default and the instance folder are owner-only.

Before the fix, ``jamkesda db upgrade`` left ``instance/`` at 0755 and ``jamkesda.db`` at
0644 (the umask's modes): every user of the machine could read the names, birth dates and
key hashes it holds.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from service import config
from service.cli import main
from service.db import make_engine, owner_only_database


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The umask of most machines (022), whatever the test runner's own."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture
def default_env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The SQLite default in a fresh instance folder (DATABASE_URL empty means unset)."""
    return {**env, "DATABASE_URL": "", "JAMKESDA_INSTANCE": str(tmp_path / "instance")}


def mode(path: Path) -> int:
    """The permission bits of ``path``."""
    return stat.S_IMODE(path.stat().st_mode)


def test_db_upgrade_creates_the_instance_folder_and_database_owner_only(
    default_env: dict[str, str], tmp_path: Path
) -> None:
    result = CliRunner().invoke(main, ["db", "upgrade"], env=default_env, catch_exceptions=False)

    assert result.exit_code == 0, result.output
    instance = tmp_path / "instance"
    assert mode(instance) == 0o700
    assert mode(instance / config.DEFAULT_DATABASE_FILE) == 0o600
    for path in instance.iterdir():
        assert mode(path) == 0o600, path


def test_the_wal_and_shared_memory_files_are_owner_only_too(
    default_env: dict[str, str], tmp_path: Path
) -> None:
    """SQLite gives them the database file's mode; they hold the same data."""
    engine = make_engine(config.database_url(default_env))
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE written (value TEXT)"))
            connection.execute(text("INSERT INTO written VALUES ('Siti Aminah')"))
            companions = sorted((tmp_path / "instance").glob("jamkesda.db-*"))
            assert [path.name for path in companions] == ["jamkesda.db-shm", "jamkesda.db-wal"]
            assert [mode(path) for path in companions] == [0o600, 0o600]
    finally:
        engine.dispose()


def test_generated_secrets_create_the_instance_folder_owner_only(
    default_env: dict[str, str], tmp_path: Path
) -> None:
    config.nik_hash_key({k: v for k, v in default_env.items() if k != "NIK_HASH_KEY"})
    assert mode(tmp_path / "instance") == 0o700
    assert mode(tmp_path / "instance" / "nik_hash_key") == 0o600


def test_an_existing_database_of_ours_that_is_too_open_is_tightened(tmp_path: Path) -> None:
    """A database made before this rule (0644), with its WAL, is closed to other users."""
    database = tmp_path / "old.db"
    for path in (database, tmp_path / "old.db-wal"):
        path.write_bytes(b"")
        path.chmod(0o644)

    engine = make_engine(f"sqlite:///{database}")
    engine.dispose()

    assert mode(database) == 0o600
    assert mode(tmp_path / "old.db-wal") == 0o600


def test_an_existing_instance_folder_keeps_its_mode(
    default_env: dict[str, str], tmp_path: Path
) -> None:
    """JAMKESDA_INSTANCE may name a folder others share: only what the service keeps there
    is closed."""
    (tmp_path / "instance").mkdir(mode=0o755)
    engine = make_engine(config.database_url(default_env))
    engine.dispose()
    assert mode(tmp_path / "instance") == 0o755
    assert mode(tmp_path / "instance" / config.DEFAULT_DATABASE_FILE) == 0o600


def test_a_database_in_a_missing_folder_is_left_for_sqlite_to_report(tmp_path: Path) -> None:
    owner_only_database(tmp_path / "missing" / "x.db")
    assert not (tmp_path / "missing").exists()
