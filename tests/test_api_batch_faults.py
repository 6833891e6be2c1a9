"""A batch while PostgreSQL is down: 503, no item decided, and nothing left behind after."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Batch, CheckRecord
from service import create_app, migrate
from service.config import Settings
from service.db import make_engine
from service.policy import load_policy
from tests.conftest import RESIDENT, TEST_LEDGER_VERIFIER_KEY, TEST_NIK_HASH_KEY, bearer
from tests.factories import add_facility, add_key, add_membership, add_person, add_snapshot
from tests.private_postgres import private_postgres

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"),
    reason="stops a PostgreSQL server of its own: runs in the suite's PostgreSQL half",
)


def test_a_batch_while_postgresql_is_stopped_is_503_and_leaves_no_record() -> None:
    with private_postgres() as server:
        engine = make_engine(server.url)
        try:
            migrate.upgrade(engine)
            with Session(engine) as session:
                add_facility(session, "1040002", "RSUD A.M. Parikesit", "RUMAH_SAKIT")
                key = add_key(session, "integration", "1040002")
                add_person(session, add_snapshot(session, "population"), RESIDENT)
                add_membership(session, add_snapshot(session, "jamkesda"), RESIDENT)
                session.commit()
            settings = Settings(
                server.url, TEST_NIK_HASH_KEY.encode(), load_policy(), TEST_LEDGER_VERIFIER_KEY
            )
            http = create_app(settings, engine).test_client()
            batch = {"checks": [{"nik": RESIDENT}, {"nik": "1"}]}

            before = http.post("/v1/checks/batch", json=batch, headers=bearer(key))
            assert before.status_code == 200
            server.stop()
            down = http.post("/v1/checks/batch", json=batch, headers=bearer(key))
            assert down.status_code == 503
            assert down.mimetype == "application/problem+json"
            assert down.get_json()["code"] == "DATABASE_UNAVAILABLE"
            server.start()

            with Session(engine) as session:
                assert session.scalar(select(func.count()).select_from(CheckRecord)) == 2
                assert session.scalar(select(func.count()).select_from(Batch)) == 1
            # The service recovers by itself: the next batch is decided as usual.
            after = http.post("/v1/checks/batch", json=batch, headers=bearer(key))
            assert after.status_code == 200
            assert [result["status"] for result in after.get_json()["results"]] == [201, 422]
        finally:
            engine.dispose()
