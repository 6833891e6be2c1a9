"""A batch's storage: its facts in one statement, its records in one INSERT, migration 0006."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from alembic import command
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.orm import Session

from models import CheckRecord
from service import migrate
from service.check_ids import new_check_id
from service.facts import facts_in_force, facts_in_force_many
from tests.conftest import MOVED_IN_FROM_SAMARINDA, RESIDENT, bearer
from tests.ledger_records import add_old_schema_client, queued, record_values, sequence_all
from tests.test_ledger_migration import fresh  # noqa: F401 - a fixture
from tests.test_ledger_verify import verify

OTHERS = ["6402010101800002", "6402010101800003", "6402010101800005", "6402010101900099"]


def test_a_batchs_facts_are_each_nik_s_facts_on_the_same_snapshots(
    engine: Engine, registry: Any
) -> None:
    niks = [RESIDENT, MOVED_IN_FROM_SAMARINDA, *OTHERS, RESIDENT]
    with engine.connect() as connection:
        many, snapshots = facts_in_force_many(connection, niks)
        assert set(many) == set(niks)
        for nik in niks:
            one, its_snapshots = facts_in_force(connection, nik)
            assert many[nik] == one
            assert snapshots.ids == its_snapshots.ids


def test_a_batchs_facts_before_any_import_are_all_unknown(engine: Engine) -> None:
    with engine.connect() as connection:
        many, snapshots = facts_in_force_many(connection, [RESIDENT])
    assert snapshots.ids == {"population": None, "jamkesda": None, "jkn": None}
    assert not many[RESIDENT].population_known
    assert many[RESIDENT].person is None


def test_a_reference_already_taken_is_drawn_again_for_that_item_only(
    http: FlaskClient,
    keys: dict[str, str],
    registry: Any,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    headers = bearer(keys["integration"])
    taken = http.post("/v1/checks", json={"nik": RESIDENT}, headers=headers).get_json()["check_id"]
    fresh_ones = [new_check_id() for _ in range(3)]
    draws = iter([fresh_ones[0], taken, fresh_ones[1], fresh_ones[2]])
    monkeypatch.setattr("service.records.new_check_id", lambda: next(draws))
    body = {"checks": [{"nik": RESIDENT}, {"nik": RESIDENT}, {"nik": "1"}]}
    results = http.post("/v1/checks/batch", json=body, headers=headers).get_json()["results"]
    references = [(result.get("check") or result["problem"])["check_id"] for result in results]
    assert references[0] == fresh_ones[0]
    assert taken not in references
    assert sorted(references[1:]) == sorted(fresh_ones[1:])
    assert session.scalar(select(func.count()).select_from(CheckRecord)) == 4


def test_migration_0006_keeps_the_ledger_trigger_and_old_records(fresh: Engine) -> None:  # noqa: F811
    migrate.upgrade(fresh, "0005")
    with Session(fresh, expire_on_commit=False) as session:
        client = add_old_schema_client(session)
        old = record_values(client, 0)
        session.execute(insert(CheckRecord), [old])
        session.commit()
    migrate.upgrade(fresh)
    with Session(fresh, expire_on_commit=False) as session:
        kept = session.scalars(select(CheckRecord)).one()
        assert kept.check_id == old["check_id"]
        assert kept.batch_id is None
        session.execute(
            insert(CheckRecord), [record_values(client, 1, batch_id="B-" + new_check_id())]
        )
        session.commit()
        assert len(queued(session)) == 2
    config = migrate.alembic_config(fresh)
    with fresh.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
    with Session(fresh, expire_on_commit=False) as session:
        session.execute(insert(CheckRecord), [record_values(client, 2)])
        session.commit()
        assert len(queued(session)) == 3
    migrate.upgrade(fresh)


def test_a_batchs_records_join_the_ledger_as_version_2_leaves_and_verify(
    http: FlaskClient,
    keys: dict[str, str],
    registry: Any,
    engine: Engine,
    session: Session,
    env: dict[str, str],
) -> None:
    body = {"checks": [{"nik": RESIDENT}, {"nik": "1"}]}
    batch_id = http.post(
        "/v1/checks/batch", json=body, headers=bearer(keys["integration"])
    ).get_json()["batch_id"]
    http.post("/v1/checks", json={"nik": RESIDENT}, headers=bearer(keys["desk"]))
    sequence_all(engine)
    entries = http.get(
        "/v1/ledger/entries", query_string={"start": 0, "end": 3}, headers=bearer(keys["auditor"])
    ).get_json()["entries"]
    leaves = [json.loads(base64.b64decode(entry)) for entry in entries]
    assert [(leaf["v"], leaf.get("batch_id")) for leaf in leaves] == [
        (2, batch_id),
        (2, batch_id),
        (1, None),
    ]
    assert verify(env).exit_code == 0

    # A record moved out of its batch afterwards is named by the verifier.
    with engine.begin() as connection:
        connection.execute(
            update(CheckRecord).where(CheckRecord.batch_id == batch_id).values(batch_id=None)
        )
    result = verify(env)
    assert result.exit_code == 1
    assert result.stdout.count("the record differs from the one sequenced") == 2
