"""The Alembic migrations build exactly the tables the models describe."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from models import Base
from service import migrate
from service.db import make_engine

JAMKESDA = str(Path(sys.executable).with_name("jamkesda"))
TIMEOUT_SECONDS = 60


def test_migrated_database_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], "models and migrations differ: add a migration for these changes"


def test_migrated_database_is_at_the_newest_migration(engine: Engine) -> None:
    head = migrate.head_revision()
    assert head is not None
    assert migrate.current_revision(engine) == head


def test_db_upgrade_creates_a_fresh_sqlite_database_and_can_run_again(
    env: dict[str, str], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    for _ in range(2):
        result = subprocess.run(
            [JAMKESDA, "db", "upgrade"],
            env={**env, "DATABASE_URL": url},
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
        assert result.returncode == 0, result.stderr
    fresh = make_engine(url)
    try:
        assert migrate.current_revision(fresh) == migrate.head_revision()
        tables = set(inspect(fresh).get_table_names())
        assert set(Base.metadata.tables) <= tables
    finally:
        fresh.dispose()
