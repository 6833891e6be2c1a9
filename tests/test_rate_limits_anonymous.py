"""Requests without a valid key are limited per address (SPEC §13), and bounded in the log."""

from __future__ import annotations

from dataclasses import replace

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import AccessRecord
from service import create_app
from service.audit.access import CUT_MARK, KEPT_CHARACTERS
from service.config import ConfigError, Settings, rate_limit_anonymous
from service.ratelimit.rates import Rate
from tests.conftest import RESIDENT, bearer

# Two requests in the burst, then one a minute: nothing refills during a test.
SLOW = Rate(1, "m")


@pytest.fixture
def limited_app(settings: Settings, engine: Engine) -> Flask:
    """The app with keyless requests at 1/m per address (keys keep the tests' high rate)."""
    return create_app(replace(settings, rate_limit_anonymous=SLOW), engine)


def _access_rows(session: Session) -> list[AccessRecord]:
    session.expire_all()
    return list(session.scalars(select(AccessRecord).order_by(AccessRecord.id)))


def test_keyless_audit_requests_get_429_after_the_burst_and_are_not_stored(
    limited_app: Flask, session: Session
) -> None:
    http = limited_app.test_client()
    answers = [http.get("/v1/audit/checks").status_code for _ in range(5)]
    assert answers == [401, 401, 429, 429, 429]
    refused = http.get("/v1/audit/checks")
    assert refused.content_type == "application/problem+json"
    assert (refused.json or {})["code"] == "RATE_LIMITED"
    assert 55 <= int(refused.headers["Retry-After"]) <= 60
    # The two 401s are in the access log; the 429s are counted, never stored.
    assert [row.status for row in _access_rows(session)] == [401, 401]


def test_an_unknown_key_counts_as_no_key(limited_app: Flask, keys: dict[str, str]) -> None:
    http = limited_app.test_client()
    wrong = bearer("jk_" + "x" * 43)
    answers = [http.get("/v1/audit/checks", headers=wrong).status_code for _ in range(3)]
    assert answers == [401, 401, 429]


def test_every_keyless_door_shares_the_address_s_bucket(limited_app: Flask) -> None:
    http = limited_app.test_client()
    assert http.get("/healthz").status_code == 200
    assert http.get("/no/such/path").status_code == 404
    assert http.get("/openapi.yaml").status_code == 429
    # A page without a session is keyless too.
    assert http.get("/console/pemeriksaan").status_code == 429


def test_a_page_without_a_session_is_sent_to_sign_in_until_the_limit(limited_app: Flask) -> None:
    http = limited_app.test_client()
    answers = [http.get("/console/pemeriksaan").status_code for _ in range(3)]
    assert answers == [302, 302, 429]


def test_valid_keys_and_other_addresses_are_not_held_back(
    limited_app: Flask, keys: dict[str, str], registry: object
) -> None:
    http = limited_app.test_client()
    for _ in range(3):
        http.get("/healthz")
    assert http.get("/healthz").status_code == 429
    checked = http.post("/v1/checks", json={"nik": RESIDENT}, headers=bearer(keys["desk"]))
    assert checked.status_code == 201
    elsewhere = limited_app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.20.30.40"
    assert elsewhere.get("/healthz").status_code == 200


def test_a_flood_of_long_keyless_urls_stores_a_bounded_log(
    limited_app: Flask, session: Session
) -> None:
    # The finding: keyless requests with 1,900-character paths and queries, each stored.
    http = limited_app.test_client()
    path = "/v1/audit/checks/" + "A" * 1900
    query = "operator=" + "b" * 1900
    answers = [http.get(f"{path}?{query}").status_code for _ in range(300)]
    assert answers.count(429) == 298
    rows = _access_rows(session)
    assert len(rows) == 2
    for row in rows:
        assert len(row.path) == KEPT_CHARACTERS
        assert row.path.endswith(CUT_MARK)
        assert len(row.query) == KEPT_CHARACTERS
        assert row.query.endswith(CUT_MARK)


def test_a_path_and_query_within_the_bound_are_kept_whole(
    app: Flask, session: Session, keys: dict[str, str]
) -> None:
    http = app.test_client()
    operator = "c" * (KEPT_CHARACTERS - len("operator="))
    assert http.get(f"/v1/audit/checks?operator={operator}", headers=bearer(keys["auditor"]))
    (row,) = _access_rows(session)
    assert row.query == f"operator={operator}"
    assert CUT_MARK not in row.query


def test_rate_limit_anonymous_is_10_a_second_unless_set() -> None:
    assert rate_limit_anonymous({}) == Rate(10, "s")
    assert rate_limit_anonymous({"RATE_LIMIT_ANONYMOUS": "120/m"}) == Rate(120, "m")
    assert rate_limit_anonymous({"RATE_LIMIT_ANONYMOUS": "off"}) is None
    with pytest.raises(ConfigError, match="RATE_LIMIT_ANONYMOUS"):
        rate_limit_anonymous({"RATE_LIMIT_ANONYMOUS": "ten"})


def _refused_by_address(app: Flask) -> float:
    """``jamkesda_rate_limited_requests_total{scope="address"}``, scraped from elsewhere."""
    scrape = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "10.9.9.9"})
    for line in scrape.get_data(as_text=True).splitlines():
        if line.startswith('jamkesda_rate_limited_requests_total{scope="address"}'):
            return float(line.split()[-1])
    return 0.0


def test_the_anonymous_limit_counts_in_its_metric(limited_app: Flask) -> None:
    before = _refused_by_address(limited_app)
    http = limited_app.test_client()
    for _ in range(4):
        http.get("/healthz")
    assert _refused_by_address(limited_app) == before + 2


def test_keyless_ledger_requests_over_the_limit_leave_no_rows(
    limited_app: Flask, session: Session
) -> None:
    http = limited_app.test_client()
    for _ in range(50):
        http.get("/v1/ledger/checkpoint")
    assert session.scalar(select(func.count()).select_from(AccessRecord)) == 2
