"""Rate limits per client key (SPEC §11): the bucket, the 429, the override, nothing recorded."""

from __future__ import annotations

import multiprocessing
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import AccessRecord, CheckRecord, Client
from service import create_app
from service.clients import ClientError, create_client, set_rate
from service.config import ConfigError, Settings, rate_limit, rate_limit_storage_url
from service.fhir.codes import FHIR_JSON
from service.ratelimit.rates import Bucket, InvalidRate, Rate, parse_rate, take
from service.ratelimit.shared_table import SharedTable, create_table_file
from tests.conftest import RESIDENT, bearer
from tests.factories import add_facility
from tests.test_fhir_api import request_for, submit
from tests.test_web_sessions import sign_in

# Two requests in the burst, then one a minute: nothing refills during a test.
SLOW = Rate(1, "m")


@pytest.mark.parametrize(
    ("text", "rate"),
    [("20/s", Rate(20, "s")), (" 600/m ", Rate(600, "m")), ("1/m", Rate(1, "m"))],
)
def test_a_rate_is_n_per_second_or_minute(text: str, rate: Rate) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "20", "0/s", "-1/s", "20/h", "2.5/s", "20 / s", "1e3/s"])
def test_anything_else_is_not_a_rate(text: str) -> None:
    with pytest.raises(InvalidRate, match="N/s or N/m"):
        parse_rate(text)


def test_the_bucket_allows_a_burst_of_twice_n_then_n_a_second() -> None:
    rate = Rate(10, "s")
    bucket: Bucket | None = None
    allowed = 0
    for _ in range(25):
        verdict, bucket = take(bucket, rate, now=100.0)
        allowed += verdict.allowed
    assert allowed == 20
    verdict, bucket = take(bucket, rate, now=100.0)
    assert not verdict.allowed
    assert verdict.retry_after == pytest.approx(0.1)
    # Half a second later five tokens have come back, and no more.
    results = []
    for _ in range(7):
        verdict, bucket = take(bucket, rate, now=100.5)
        results.append(verdict.allowed)
    assert results == [True] * 5 + [False] * 2


def test_a_bucket_never_holds_more_than_its_burst() -> None:
    rate = Rate(1, "s")
    verdict, bucket = take(None, rate, now=0.0)
    verdict, bucket = take(bucket, rate, now=3600.0)
    assert verdict.allowed
    assert bucket.tokens == pytest.approx(1.0)


def _drain(path: str, attempts: int, allowed: multiprocessing.Queue[int]) -> None:
    table = SharedTable(path)
    allowed.put(sum(table.take("client:7", SLOW).allowed for _ in range(attempts)))
    table.close()


def test_the_table_holds_one_bucket_across_processes(tmp_path: Path) -> None:
    path = str(create_table_file(tmp_path))
    context = multiprocessing.get_context("fork")
    allowed: multiprocessing.Queue[int] = context.Queue()
    processes = [context.Process(target=_drain, args=(path, 50, allowed)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=30)
    assert sum(allowed.get(timeout=5) for _ in processes) == SLOW.burst


def test_the_table_keeps_buckets_apart_and_reuses_full_ones() -> None:
    clock = [0.0]
    table = SharedTable(clock=lambda: clock[0])
    names = [f"client:{number}" for number in range(40_000)]
    # Far more callers than slots: each takes its burst; refilled buckets make room.
    for name in names[:1000]:
        assert table.take(name, SLOW).allowed
        assert table.take(name, SLOW).allowed
        assert not table.take(name, SLOW).allowed
    clock[0] = 1000.0
    for name in names:
        assert table.take(name, Rate(1, "s")).allowed


@pytest.fixture
def limited_app(settings: Settings, engine: Engine) -> Flask:
    """The app with the default rate at 1/m: each key has two requests, then 429s."""
    return create_app(replace(settings, rate_limit=SLOW), engine)


def _records(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(CheckRecord)) or 0


def test_over_its_rate_a_key_gets_429_and_nothing_is_recorded(
    limited_app: Flask, keys: dict[str, str], session: Session
) -> None:
    http = limited_app.test_client()
    for _ in range(SLOW.burst):
        assert (
            http.post(
                "/v1/checks", json={"nik": RESIDENT}, headers=bearer(keys["desk"])
            ).status_code
            == 201
        )
    before = _records(session)
    response = http.post("/v1/checks", json={"nik": RESIDENT}, headers=bearer(keys["desk"]))
    assert response.status_code == 429
    assert response.content_type == "application/problem+json"
    assert (response.json or {})["code"] == "RATE_LIMITED"
    # A whole token comes back one minute after the burst was spent.
    assert 55 <= int(response.headers["Retry-After"]) <= 60
    assert _records(session) == before
    # Another key keeps its own bucket.
    other = http.post("/v1/checks", json={"nik": RESIDENT}, headers=bearer(keys["other_desk"]))
    assert other.status_code == 201


def test_a_batch_is_one_request(limited_app: Flask, keys: dict[str, str], session: Session) -> None:
    http = limited_app.test_client()
    body = {"checks": [{"nik": RESIDENT}] * 5}
    answers = [
        http.post("/v1/checks/batch", json=body, headers=bearer(keys["integration"])).status_code
        for _ in range(3)
    ]
    assert answers == [200, 200, 429]
    assert _records(session) == 10


def test_every_request_with_a_key_counts_and_429_comes_before_403(
    limited_app: Flask, keys: dict[str, str]
) -> None:
    http = limited_app.test_client()
    assert http.get("/v1/audit/checks", headers=bearer(keys["desk"])).status_code == 403
    assert http.get("/v1/audit/checks", headers=bearer(keys["desk"])).status_code == 403
    assert http.get("/v1/audit/checks", headers=bearer(keys["desk"])).status_code == 429


def test_an_audit_request_over_the_limit_is_not_stored_in_the_access_log(
    limited_app: Flask, keys: dict[str, str], session: Session
) -> None:
    http = limited_app.test_client()
    for _ in range(SLOW.burst):
        assert http.get("/v1/audit/checks", headers=bearer(keys["auditor"])).status_code == 200
    for _ in range(20):
        assert http.get("/v1/audit/checks", headers=bearer(keys["auditor"])).status_code == 429
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(AccessRecord)) == SLOW.burst


def test_a_client_of_its_own_rate_keeps_it(
    limited_app: Flask, session: Session, registry: object
) -> None:
    add_facility(session, "1040009", "RSUD Aji Muhammad Parikesit", "RUMAH_SAKIT")
    client, key = create_client(session, "SIMRS", "integration", "1040009", rate="5/m")
    session.commit()
    assert client.rate_limit == "5/m"
    http = limited_app.test_client()
    answers = [
        http.post("/v1/checks", json={"nik": RESIDENT}, headers=bearer(key)).status_code
        for _ in range(12)
    ]
    assert answers == [201] * 10 + [429] * 2


def test_set_rate_changes_and_restores_a_client_s_rate(session: Session) -> None:
    add_facility(session, "1040001", "Puskesmas Loa Janan")
    client, _key = create_client(session, "SIMPUS", "desk", "1040001")
    assert client.rate_limit is None
    assert set_rate(session, client.id, "50/s").rate_limit == "50/s"
    assert set_rate(session, client.id, None).rate_limit is None
    with pytest.raises(ClientError, match="N/s or N/m"):
        set_rate(session, client.id, "lots")
    with pytest.raises(ClientError, match="no client"):
        set_rate(session, 999_999, "5/s")


def test_rate_limit_off_lets_everything_through(
    settings: Settings, engine: Engine, keys: dict[str, str]
) -> None:
    http: FlaskClient = create_app(replace(settings, rate_limit=None), engine).test_client()
    for _ in range(10):
        assert http.get("/v1/audit/checks", headers=bearer(keys["auditor"])).status_code == 200


@pytest.mark.parametrize("text", ["20", "fast", "0/s", "20/h"])
def test_a_malformed_rate_limit_is_a_config_error_naming_it(text: str) -> None:
    with pytest.raises(ConfigError, match="RATE_LIMIT"):
        rate_limit({"RATE_LIMIT": text})


def test_the_default_rate_limit_is_20_a_second() -> None:
    assert rate_limit({}) == Rate(20, "s")
    assert rate_limit({"RATE_LIMIT": "off"}) is None


def test_a_storage_url_must_be_redis() -> None:
    assert rate_limit_storage_url({}) is None
    assert (
        rate_limit_storage_url({"RATE_LIMIT_STORAGE_URL": "redis://h:6379/0"}) == "redis://h:6379/0"
    )
    with pytest.raises(ConfigError, match="RATE_LIMIT_STORAGE_URL"):
        rate_limit_storage_url({"RATE_LIMIT_STORAGE_URL": "memcached://h:11211"})


def test_a_client_s_rate_is_checked_and_stored_when_created(session: Session) -> None:
    add_facility(session, "1040001", "Puskesmas Loa Janan")
    create_client(session, "SIMPUS", "desk", "1040001", rate="30/m")
    session.commit()
    stored = session.scalars(select(Client)).one()
    assert stored.rate_limit == "30/m"
    with pytest.raises(ClientError, match="N/s or N/m"):
        create_client(session, "SIMPUS 2", "desk", "1040001", rate="30 per minute")


def test_the_fhir_door_answers_429_as_an_operation_outcome(
    limited_app: Flask, keys: dict[str, str], session: Session
) -> None:
    http = limited_app.test_client()
    answers = [submit(http, keys["integration"], request_for(RESIDENT)) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    refused = answers[-1]
    assert refused.content_type.startswith(FHIR_JSON)
    assert (refused.json or {})["issue"][0]["code"] == "throttled"
    assert int(refused.headers["Retry-After"]) >= 1
    assert _records(session) == 2


def test_a_console_page_over_the_limit_is_a_429_page(
    limited_app: Flask, keys: dict[str, str]
) -> None:
    http = limited_app.test_client()
    page = sign_in(http, "console", keys["auditor"])
    pages = [http.get(page) for _ in range(3)]
    refused = pages[-1]
    assert refused.status_code == 429
    assert refused.content_type.startswith("text/html")
    assert "RATE_LIMITED" in refused.get_data(as_text=True)
