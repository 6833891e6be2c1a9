"""``PROXY_HOPS``: the client's address and scheme from the reverse proxy, and only from it.

Behind nginx every request comes from 127.0.0.1 over plain HTTP. With ``PROXY_HOPS=1``
the app reads ``X-Forwarded-For`` and ``X-Forwarded-Proto`` (which the proxy of
``deploy/`` sets); with 0, the default, a client that reaches the server directly sends
those headers in vain: it cannot choose the address its receipt tries are counted under,
nor make a plain request look like HTTPS.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import requests
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import AccessRecord
from service import create_app
from service.config import ConfigError, Settings, proxy_hops
from service.web.receipts import MAX_TRIES
from tests.test_server import running_server
from tests.test_web_sessions import csrf_of

CLIENT = "203.0.113.7"
OTHER_CLIENT = "198.51.100.23"
UNKNOWN_REFERENCE = "K7QM-3XD9-2F4E"


def client_with_hops(settings: Settings, engine: Engine, hops: int) -> FlaskClient:
    """A test client of the app built with ``PROXY_HOPS=hops``; it connects from 127.0.0.1."""
    return create_app(replace(settings, proxy_hops=hops), engine).test_client()


def forwarded(address: str, scheme: str = "https") -> dict[str, str]:
    """The headers nginx sets for a client at ``address``."""
    return {"X-Forwarded-For": address, "X-Forwarded-Proto": scheme}


def logged_addresses(session: Session) -> list[str | None]:
    """The access log's addresses, oldest first."""
    return list(session.scalars(select(AccessRecord.address).order_by(AccessRecord.id)))


def sign_in_cookie(http: FlaskClient, key: str, headers: dict[str, str]) -> str:
    """The ``Set-Cookie`` of a sign-in to the console sent with ``headers``."""
    token = csrf_of(http, "/console/")
    answer = http.post("/console/", data={"csrf_token": token, "kunci": key}, headers=headers)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return answer.headers["Set-Cookie"]


def try_receipt(http: FlaskClient, headers: dict[str, str]) -> int:
    """A wrong try at an unknown receipt sent with ``headers``; its status."""
    token = csrf_of(http, f"/r/{UNKNOWN_REFERENCE}")
    answer = http.post(
        f"/r/{UNKNOWN_REFERENCE}",
        data={"csrf_token": token, "nik": "6402010101800004"},
        headers=headers,
    )
    return answer.status_code


@pytest.mark.parametrize(
    ("text", "hops"), [("", 0), ("  ", 0), ("0", 0), ("1", 1), (" 2 ", 2), ("10", 10)]
)
def test_proxy_hops_is_a_small_whole_number_defaulting_to_0(text: str, hops: int) -> None:
    assert proxy_hops({"PROXY_HOPS": text}) == hops
    assert proxy_hops({}) == 0


@pytest.mark.parametrize("text", ["-1", "1.5", "one", "11", "1e3", "٣"])
def test_a_malformed_proxy_hops_is_a_config_error_naming_it(text: str) -> None:
    with pytest.raises(ConfigError, match="PROXY_HOPS"):
        proxy_hops({"PROXY_HOPS": text})


def test_without_proxy_hops_forwarded_headers_are_ignored(
    settings: Settings, engine: Engine, session: Session, keys: dict[str, str]
) -> None:
    http = client_with_hops(settings, engine, 0)
    assert http.get("/v1/audit/checks", headers=forwarded(CLIENT)).status_code == 401
    assert logged_addresses(session) == ["127.0.0.1"]
    assert "Secure" not in sign_in_cookie(http, keys["auditor"], forwarded(CLIENT))


def test_behind_one_proxy_the_client_address_and_https_are_the_proxys_word(
    settings: Settings, engine: Engine, session: Session, keys: dict[str, str]
) -> None:
    http = client_with_hops(settings, engine, 1)
    assert http.get("/v1/audit/checks", headers=forwarded(CLIENT)).status_code == 401
    assert logged_addresses(session) == [CLIENT]
    assert "Secure" in sign_in_cookie(http, keys["auditor"], forwarded(CLIENT))
    # A new browser: the first one is signed in, and its sign-in page sends it on.
    plain = client_with_hops(settings, engine, 1)
    assert "Secure" not in sign_in_cookie(plain, keys["auditor"], forwarded(CLIENT, "http"))


def test_behind_one_proxy_only_the_address_the_proxy_saw_counts(
    settings: Settings, engine: Engine, session: Session
) -> None:
    # A client may send its own X-Forwarded-For; nginx replaces it, and were it appended
    # instead, only the last address (the one the proxy saw) would count.
    http = client_with_hops(settings, engine, 1)
    spoofed = {"X-Forwarded-For": f"{OTHER_CLIENT}, {CLIENT}", "X-Forwarded-Proto": "https"}
    assert http.get("/v1/audit/checks", headers=spoofed).status_code == 401
    assert logged_addresses(session) == [CLIENT]


def test_behind_one_proxy_receipt_tries_are_counted_per_client(
    settings: Settings, engine: Engine
) -> None:
    http = client_with_hops(settings, engine, 1)
    for _ in range(MAX_TRIES):
        assert try_receipt(http, forwarded(CLIENT)) == 404
    assert try_receipt(http, forwarded(CLIENT)) == 429
    # Another patient behind the same proxy is not locked out by the first one's tries.
    assert try_receipt(http, forwarded(OTHER_CLIENT)) == 404


def test_without_proxy_hops_a_client_cannot_escape_the_receipt_limit_by_header(
    settings: Settings, engine: Engine
) -> None:
    http = client_with_hops(settings, engine, 0)
    for _ in range(MAX_TRIES):
        assert try_receipt(http, forwarded(CLIENT)) == 404
    assert try_receipt(http, forwarded(OTHER_CLIENT)) == 429


def test_the_served_app_without_proxy_hops_ignores_forwarded_headers(
    env: dict[str, str], engine: Engine, session: Session, tmp_path: Path
) -> None:
    # gunicorn believes X-Forwarded-Proto from 127.0.0.1 unless told not to; the served
    # app must leave it to PROXY_HOPS as the app does.
    with running_server({**env, "PROXY_HOPS": "0"}, tmp_path / "server.log") as base:
        answer = requests.get(f"{base}/v1/audit/checks", headers=forwarded(CLIENT), timeout=10)
        assert answer.status_code == 401
        page = requests.get(f"{base}/console/", headers=forwarded(CLIENT), timeout=10)
        assert "jamkesda_sesi=" in page.headers["Set-Cookie"]
        assert "Secure" not in page.headers["Set-Cookie"]
    # The audit request and the console's page view, both from where they really came.
    assert logged_addresses(session) == ["127.0.0.1", "127.0.0.1"]
