"""A first import builds its table's keys and indexes after the rows, and keeps them."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import Connection, Engine, Table, insert, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import PopulationRow
from service.imports.bulk import keys_built_after
from tests.test_imports import person, rejection, run_import, write_csv

TABLE = cast(Table, PopulationRow.__table__)


def _keys_and_indexes(bind: Engine | Connection) -> tuple[set[str], set[str]]:
    """The names of the population table's foreign keys and indexes, as ``bind`` sees them."""
    inspector = inspect(bind)
    keys = {str(key["name"]) for key in inspector.get_foreign_keys(TABLE.name)}
    indexes = {str(index["name"]) for index in inspector.get_indexes(TABLE.name)}
    return keys, indexes


EXPECTED_KEYS = {str(key.name) for key in TABLE.foreign_key_constraints}
EXPECTED_INDEXES = {str(index.name) for index in TABLE.indexes}


def test_the_model_has_keys_and_indexes_to_rebuild() -> None:
    assert {
        "fk_population_rows_valid_from_snapshots",
        "fk_population_rows_valid_to_snapshots",
    } == EXPECTED_KEYS
    assert {"ix_population_rows_nik_valid_from", "ix_population_rows_nik_hash"} == EXPECTED_INDEXES


def test_keys_and_indexes_are_there_after_a_first_import(engine: Engine, tmp_path: Path) -> None:
    run_import(engine, "population", write_csv(tmp_path / "p.csv", [person(n) for n in (1, 2)]))
    assert _keys_and_indexes(engine) == (EXPECTED_KEYS, EXPECTED_INDEXES)
    run_import(engine, "population", write_csv(tmp_path / "q.csv", [person(n) for n in (1, 3)]))
    assert _keys_and_indexes(engine) == (EXPECTED_KEYS, EXPECTED_INDEXES)


def test_a_rejected_first_import_leaves_keys_and_indexes_as_they_were(
    engine: Engine, tmp_path: Path
) -> None:
    rejection(
        engine, "population", write_csv(tmp_path / "p.csv", [person(1), person(2, STATUS="x")])
    )
    assert _keys_and_indexes(engine) == (EXPECTED_KEYS, EXPECTED_INDEXES)


def test_only_an_empty_table_on_postgresql_is_loaded_without_its_keys(
    engine: Engine, tmp_path: Path
) -> None:
    on_postgresql = engine.dialect.name == "postgresql"
    with Session(engine) as session:
        with keys_built_after(session, TABLE) as dropped:
            assert dropped == on_postgresql
            if dropped:
                # Inside the block the rows are written without the keys' row-by-row checks.
                assert _keys_and_indexes(session.connection()) == (set(), set())
        assert _keys_and_indexes(session.connection()) == (EXPECTED_KEYS, EXPECTED_INDEXES)
        session.rollback()
    run_import(engine, "population", write_csv(tmp_path / "p.csv", [person(1)]))
    with Session(engine) as session, keys_built_after(session, TABLE) as dropped:
        assert not dropped
        session.rollback()


def test_a_row_that_breaks_a_key_fails_when_the_key_is_added_back(engine: Engine) -> None:
    with Session(engine) as session:
        with pytest.raises(IntegrityError), keys_built_after(session, TABLE):
            session.execute(insert(TABLE).values(_row(valid_from=999)))
        session.rollback()
    with Session(engine) as session:
        assert session.scalars(select(PopulationRow)).all() == []


def _row(valid_from: int) -> dict[str, object]:
    values = {name: value for name, value in person(1).items()}
    return {
        "nik": values["NIK"],
        "no_kk": values["NO_KK"],
        "name": values["NAMA_LGKP"],
        "birth_date": date(1990, 1, 1),
        "sex": "P",
        "village_code": "6402012001",
        "domiciled_since": date(1990, 1, 1),
        "status": "HIDUP",
        "valid_from": valid_from,
        "valid_to": None,
    }
