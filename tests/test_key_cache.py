"""API keys kept a few seconds per worker: fewer look-ups; revocation takes that long."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.auth import KEY_CACHE, enable_key_cache
from service.clients import Caller, KeyCache, resolve_key, revoke_client
from service.server import Server
from tests.conftest import bearer
from tests.factories import add_facility, add_key
from tests.test_server import running_server

NIK = "6402014101900001"
ALICE = Caller(1, "SIMPUS Loa Janan", "desk", "1040001")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Directory:
    """A key look-up that counts its calls; a key maps to a caller or to None."""

    def __init__(self, callers: dict[str, Caller | None]) -> None:
        self.callers = callers
        self.calls = 0

    def __call__(self, key: str) -> Caller | None:
        self.calls += 1
        return self.callers.get(key)


def test_a_key_is_looked_up_once_while_fresh_and_again_after() -> None:
    clock, directory = Clock(), Directory({"k": ALICE})
    cache = KeyCache(10, clock)
    assert cache.resolve("k", directory) == ALICE
    clock.now += 9.9
    assert cache.resolve("k", directory) == ALICE
    assert directory.calls == 1
    clock.now += 0.1
    assert cache.resolve("k", directory) == ALICE
    assert directory.calls == 2


def test_an_unknown_key_is_looked_up_every_time() -> None:
    directory = Directory({})
    cache = KeyCache(10, Clock())
    assert cache.resolve("guess", directory) is None
    assert cache.resolve("guess", directory) is None
    assert directory.calls == 2


def test_a_revoked_key_stops_working_when_its_entry_expires() -> None:
    clock, directory = Clock(), Directory({"k": ALICE})
    cache = KeyCache(10, clock)
    assert cache.resolve("k", directory) == ALICE
    directory.callers["k"] = None
    assert cache.resolve("k", directory) == ALICE
    clock.now += 10
    assert cache.resolve("k", directory) is None
    assert cache.resolve("k", directory) is None
    assert directory.calls == 3


def test_keys_are_kept_by_their_hash_not_in_plain() -> None:
    cache = KeyCache(10, Clock())
    cache.resolve("jk_secret", Directory({"jk_secret": ALICE}))
    assert "jk_secret" not in repr(vars(cache))


@pytest.fixture
def cached_app(app: Flask) -> tuple[FlaskClient, KeyCache]:
    """The app with a 60-second key cache on a hand-moved clock."""
    enable_key_cache(app, 60)
    cache: KeyCache = app.extensions[KEY_CACHE]
    cache.clock = Clock()
    return app.test_client(), cache


def test_with_the_cache_a_revoked_key_works_until_its_entry_expires(
    cached_app: tuple[FlaskClient, KeyCache], keys: dict[str, str], session: Session
) -> None:
    http, cache = cached_app
    key = keys["desk"]
    assert http.post("/v1/checks", json={"nik": NIK}, headers=bearer(key)).status_code == 201
    client = resolve_key(session, key)
    assert client is not None
    revoke_client(session, client.id)
    session.commit()
    assert http.post("/v1/checks", json={"nik": NIK}, headers=bearer(key)).status_code == 201
    assert isinstance(cache.clock, Clock)
    cache.clock.now += 60
    response = http.post("/v1/checks", json={"nik": NIK}, headers=bearer(key))
    assert response.status_code == 401


def test_a_cached_key_keeps_its_role_and_facility(
    cached_app: tuple[FlaskClient, KeyCache], keys: dict[str, str]
) -> None:
    http, _cache = cached_app
    for _ in range(2):
        auditor = http.post("/v1/checks", json={"nik": NIK}, headers=bearer(keys["auditor"]))
        assert auditor.status_code == 403
        made = http.post("/v1/checks", json={"nik": NIK}, headers=bearer(keys["integration"]))
        assert made.status_code == 201
        reference = made.get_json()["check_id"]
        own = http.get(f"/v1/checks/{reference}", headers=bearer(keys["integration"]))
        other = http.get(f"/v1/checks/{reference}", headers=bearer(keys["desk"]))
        assert (own.status_code, other.status_code) == (200, 404)


def test_no_cache_is_kept_for_zero_seconds(app: Flask) -> None:
    enable_key_cache(app, 0)
    assert KEY_CACHE not in app.extensions


def test_the_server_configuration_gives_each_worker_its_cache(app: Flask) -> None:
    server = Server({"bind": None, "workers": None})
    worker = SimpleNamespace(wsgi=app)
    server.cfg.post_worker_init(worker)
    cache = app.extensions[KEY_CACHE]
    assert isinstance(cache, KeyCache)
    assert cache.seconds == 10


@pytest.fixture
def served_with_cache(env: dict[str, str], engine: Engine, tmp_path: Path) -> Iterator[str]:
    """``jamkesda serve`` with a 60-second key cache; yields its base URL."""
    cached = {**env, "JAMKESDA_KEY_CACHE_SECONDS": "60"}
    with running_server(cached, tmp_path / "server.log") as base:
        yield base


def test_the_served_app_keeps_keys_for_the_configured_time(
    served_with_cache: str, session: Session
) -> None:
    add_facility(session, "1040001", "Puskesmas Loa Janan")
    key = add_key(session, "desk", "1040001")
    session.commit()
    url, headers = f"{served_with_cache}/v1/checks", bearer(key)
    assert requests.post(url, json={"nik": NIK}, headers=headers, timeout=10).status_code == 201
    client = resolve_key(session, key)
    assert client is not None
    revoke_client(session, client.id)
    session.commit()
    assert requests.post(url, json={"nik": NIK}, headers=headers, timeout=10).status_code == 201
