"""``Idempotency-Key`` under concurrency, through the production server's several workers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from models import CheckRecord, RememberedAnswer
from service import clock
from tests.audit_records import client_of
from tests.conftest import RESIDENT, bearer
from tests.test_server import serving_process

CONCURRENT = 50


@pytest.fixture
def workers_server(env: dict[str, str], engine: Engine, tmp_path: Path) -> Iterator[str]:
    """``jamkesda serve`` with two workers (of four threads each) on the test database."""
    with serving_process(env, tmp_path / "server.log", workers=2) as (base, _process):
        yield base


def test_fifty_concurrent_requests_with_one_key_make_one_record(
    workers_server: str, keys: dict[str, str], registry: Any, session: Session
) -> None:
    headers = {**bearer(keys["desk"]), "Idempotency-Key": "one-visit"}

    def send(_: int) -> requests.Response:
        return requests.post(
            f"{workers_server}/v1/checks", json={"nik": RESIDENT}, headers=headers, timeout=30
        )

    with ThreadPoolExecutor(CONCURRENT) as pool:
        answers = list(pool.map(send, range(CONCURRENT)))
    statuses = {answer.status_code for answer in answers}
    assert statuses <= {201, 409}, [answer.text for answer in answers]
    decided = [answer for answer in answers if answer.status_code == 201]
    assert decided, "at least the first request is answered"
    assert {answer.json()["check_id"] for answer in decided} == {decided[0].json()["check_id"]}
    assert sum("Idempotent-Replayed" not in answer.headers for answer in decided) <= 1
    for busy in (answer for answer in answers if answer.status_code == 409):
        assert busy.json()["code"] == "IDEMPOTENCY_KEY_IN_USE"
        assert busy.headers["Retry-After"] == "1"
    assert session.scalar(select(func.count()).select_from(CheckRecord)) == 1


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"),
    reason="SQLite has one writer at a time: a second request waits for the first's commit",
)
def test_a_request_that_waits_too_long_for_the_first_with_its_key_gets_409(
    workers_server: str, keys: dict[str, str], registry: Any, engine: Engine, session: Session
) -> None:
    """A first request still in flight (its transaction open) makes the second answer 409."""
    desk = client_of(session, keys["desk"])
    session.commit()
    with engine.connect() as first:
        first.execute(
            insert(RememberedAnswer).values(
                client_id=desk.id,
                key="in-flight",
                operation="checks",
                fingerprint="0" * 64,
                status=201,
                media_type="application/json",
                body="{}",
                created_at=clock.now(),
            )
        )
        second = requests.post(
            f"{workers_server}/v1/checks",
            json={"nik": RESIDENT},
            headers={**bearer(keys["desk"]), "Idempotency-Key": "in-flight"},
            timeout=30,
        )
        first.rollback()
    assert second.status_code == 409
    assert second.headers["Retry-After"] == "1"
    assert second.json()["code"] == "IDEMPOTENCY_KEY_IN_USE"
    assert session.scalar(select(func.count()).select_from(CheckRecord)) == 0
