"""Rate limits in the real server: across its workers, in Redis across servers, and faults."""

from __future__ import annotations

import re
import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.clients import resolve_key, set_rate
from tests.conftest import RESIDENT, bearer
from tests.factories import add_facility, add_key
from tests.private_redis import PrivateRedis, private_redis
from tests.test_server import serve_briefly, serving_process

TIMEOUT = 10


@pytest.fixture
def desk_keys(session: Session, engine: Engine, registry: object) -> list[str]:
    """Three desk keys at one puskesmas, committed for the server to see."""
    add_facility(session, "1040001", "Puskesmas Loa Janan")
    found = [add_key(session, "desk", "1040001") for _ in range(3)]
    session.commit()
    return found


def check(base: str, key: str) -> int:
    """One check on a new connection (so that requests spread over the workers)."""
    return requests.post(
        f"{base}/v1/checks", json={"nik": RESIDENT}, headers=bearer(key), timeout=TIMEOUT
    ).status_code


def storage_errors(base: str) -> float:
    """``jamkesda_rate_limit_storage_errors_total`` as the server's /metrics shows it."""
    text = requests.get(f"{base}/metrics", timeout=TIMEOUT).text
    found = re.search(r"^jamkesda_rate_limit_storage_errors_total (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_a_key_s_limit_holds_across_the_workers_of_a_server(
    env: dict[str, str], desk_keys: list[str], tmp_path: Path
) -> None:
    # Burst 6, and one more token a minute: each worker alone would allow 6.
    with serving_process({**env, "RATE_LIMIT": "3/m"}, tmp_path / "server.log", workers=3) as (
        base,
        _process,
    ):
        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(lambda _: check(base, desk_keys[0]), range(30)))
        assert sorted(answers) == [201] * 6 + [429] * 24
        # The other keys have buckets of their own.
        assert check(base, desk_keys[1]) == 201


@pytest.fixture
def redis_server() -> Iterator[PrivateRedis]:
    """A Redis of this test's own, which it may kill."""
    with private_redis() as server:
        yield server


def test_servers_sharing_redis_share_a_key_s_limit(
    env: dict[str, str], desk_keys: list[str], tmp_path: Path, redis_server: PrivateRedis
) -> None:
    shared = {**env, "RATE_LIMIT": "2/m", "RATE_LIMIT_STORAGE_URL": redis_server.url}
    with (
        serving_process(shared, tmp_path / "one.log") as (one, _one),
        serving_process(shared, tmp_path / "two.log") as (two, _two),
    ):
        answers = [check(server, desk_keys[0]) for server in (one, two) * 4]
        assert answers == [201] * 4 + [429] * 4


def test_redis_gone_at_run_time_lets_checks_through_and_counts_it(
    env: dict[str, str], desk_keys: list[str], tmp_path: Path, redis_server: PrivateRedis
) -> None:
    limited = {**env, "RATE_LIMIT": "1/m", "RATE_LIMIT_STORAGE_URL": redis_server.url}
    with serving_process(limited, tmp_path / "server.log") as (base, _process):
        assert [check(base, desk_keys[0]) for _ in range(3)] == [201, 201, 429]
        assert storage_errors(base) == 0
        redis_server.stop()
        # A desk is never refused for an infrastructure fault.
        assert [check(base, desk_keys[0]) for _ in range(5)] == [201] * 5
        assert storage_errors(base) >= 5
        # Redis back (empty): after the limiter's pause, the limit applies again.
        redis_server.start()
        time.sleep(1.5)
        assert [check(base, desk_keys[0]) for _ in range(3)] == [201, 201, 429]


def test_serve_refuses_a_malformed_rate_limit_naming_it(env: dict[str, str]) -> None:
    result = serve_briefly({**env, "RATE_LIMIT": "20 per second"})
    assert result.returncode == 2
    assert "RATE_LIMIT" in result.stderr


def test_serve_refuses_a_storage_url_that_does_not_answer(
    env: dict[str, str], redis_server: PrivateRedis
) -> None:
    url = redis_server.url
    redis_server.stop()
    result = serve_briefly({**env, "RATE_LIMIT_STORAGE_URL": url})
    assert result.returncode == 2
    assert "RATE_LIMIT_STORAGE_URL" in result.stderr


def _latencies(base: str, key: str, count: int) -> list[float]:
    """Seconds of ``count`` checks one after another on one kept-alive connection."""
    times = []
    with requests.Session() as connection:
        for _ in range(count):
            started = time.perf_counter()
            response = connection.post(
                f"{base}/v1/checks", json={"nik": RESIDENT}, headers=bearer(key), timeout=TIMEOUT
            )
            times.append(time.perf_counter() - started)
            assert response.status_code == 201
    return times


def _p99(times: list[float]) -> float:
    return statistics.quantiles(times, n=100)[98]


def _flood(base: str, key: str, stop: threading.Event, answers: list[int]) -> None:
    with requests.Session() as connection:
        while not stop.is_set():
            answers.append(
                connection.post(
                    f"{base}/v1/checks",
                    json={"nik": RESIDENT},
                    headers=bearer(key),
                    timeout=TIMEOUT,
                ).status_code
            )


def test_a_flooding_key_does_not_slow_another_key_s_checks(
    env: dict[str, str], session: Session, desk_keys: list[str], tmp_path: Path
) -> None:
    flooder, desk = desk_keys[0], desk_keys[1]
    # The measured key sends checks back to back, beyond a desk's default limit.
    client = resolve_key(session, desk)
    assert client is not None
    set_rate(session, client.id, "100000/s")
    session.commit()
    with serving_process({**env, "RATE_LIMIT": "20/s"}, tmp_path / "server.log", workers=2) as (
        base,
        _process,
    ):
        _latencies(base, desk, 20)
        quiet = _p99(_latencies(base, desk, 200))
        stop = threading.Event()
        answers: list[int] = []
        flooders = [
            threading.Thread(target=_flood, args=(base, flooder, stop, answers)) for _ in range(2)
        ]
        for thread in flooders:
            thread.start()
        try:
            time.sleep(0.5)
            loaded = _p99(_latencies(base, desk, 200))
        finally:
            stop.set()
            for thread in flooders:
                thread.join(timeout=TIMEOUT)
    assert answers.count(429) > answers.count(201) > 0
    print(f"desk p99 quiet {quiet * 1000:.1f} ms, beside the flood {loaded * 1000:.1f} ms")
    # SPEC §11 asks for 20 %, which bench/bench_rate_limits.py measures on a quiet machine;
    # this suite shares two cores with the flooding client itself, hence the wide bound.
    assert loaded <= max(3 * quiet, quiet + 0.050)
