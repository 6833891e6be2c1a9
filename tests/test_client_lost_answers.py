"""Answers lost on the way back: the client's retries reach the real service, one record each.

A proxy on loopback stands between the client and ``jamkesda serve``. It forwards every
request to the service, and for the first ones throws the service's answer away and
answers 503 instead, as a flaky link or a restarting proxy would: the check was decided
and recorded, but the desk never heard. The client's retries carry the same
Idempotency-Key, so the service answers them from the first decision.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from jamkesda_client import Client
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import CheckRecord
from tests.client_served import MOVED_OUT, RESIDENT, Served, operator_id, served_registry

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@pytest.fixture(scope="module")
def served(
    migrated_engine: Engine, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """One running service for this module's tests."""
    with served_registry(migrated_engine, database_url, tmp_path_factory.mktemp("lost")) as s:
        yield s


@contextmanager
def losing_proxy(upstream: str, lose: int) -> Iterator[tuple[str, list[int]]]:
    """A proxy to ``upstream`` that answers 503 to the first ``lose`` requests it forwards.

    Yields its URL and the statuses the service gave, in order.
    """
    given: list[int] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            answer = requests.post(upstream + self.path, data=body, headers=headers, timeout=10)
            with lock:
                given.append(answer.status_code)
                lost = len(given) <= lose
            status, content = (503, b"") if lost else (answer.status_code, answer.content)
            self.send_response(status)
            if not lost:
                for name, value in answer.headers.items():
                    if name.lower() not in HOP_HEADERS:
                        self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=proxy.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield f"http://127.0.0.1:{proxy.server_address[1]}", given
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join()


def records_of(engine: Engine, operator: str) -> list[CheckRecord]:
    """The check records made with this operator id."""
    with Session(engine) as session:
        return list(session.scalars(select(CheckRecord).where(CheckRecord.operator_id == operator)))


def test_two_lost_answers_then_the_third_attempt_gives_the_one_recorded_decision(
    served: Served, migrated_engine: Engine
) -> None:
    operator = operator_id()
    with (
        losing_proxy(served.url, lose=2) as (url, given),
        Client(url, served.keys["desk"], timeout=10, backoff=0.05) as client,
    ):
        result = client.check(RESIDENT, operator_id=operator)
    # The service decided once (201), then answered the retries from that decision.
    assert given == [201, 201, 201]
    [record] = records_of(migrated_engine, operator)
    assert result.check_id == record.check_id
    assert result.decision == record.decision == "ELIGIBLE"
    assert result.replayed is True


def test_a_lost_batch_answer_is_retried_without_deciding_the_batch_again(
    served: Served, migrated_engine: Engine
) -> None:
    operator = operator_id()
    items = [
        {"nik": RESIDENT, "operator_id": operator},
        {"nik": MOVED_OUT, "operator_id": operator},
    ]
    with (
        losing_proxy(served.url, lose=1) as (url, given),
        Client(url, served.keys["integration"], timeout=10, backoff=0.05) as client,
    ):
        batch = client.check_batch(items)
    assert given == [200, 200]
    records = records_of(migrated_engine, operator)
    assert len(records) == 2
    assert {record.batch_id for record in records} == {batch.batch_id}
    with Session(migrated_engine) as session:
        batches = session.scalar(
            select(func.count(func.distinct(CheckRecord.batch_id))).where(
                CheckRecord.operator_id == operator
            )
        )
    assert batches == 1
