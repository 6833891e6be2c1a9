"""``jamkesda serve``: the production server answers real HTTP, and bad settings stop it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from models import Client
from service import clock
from service.policy import BUNDLED_DIR
from tests.factories import add_facility, add_key

JAMKESDA = str(Path(sys.executable).with_name("jamkesda"))
REPO_DIR = Path(__file__).resolve().parent.parent
START_SECONDS = 30
STOP_SECONDS = 20
NIK = "6402014101900001"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server gracefully, and kill it if it does not stop in time."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_SECONDS)


def wait_until_alive(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll ``/healthz`` until it answers 200; fail with the server's log after the deadline."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            # Not listening yet, or a worker still starting on a busy machine: ask again.
            pass
        time.sleep(0.2)
    pytest.fail(f"server did not answer /healthz within {START_SECONDS} s:\n{log.read_text()}")


@contextmanager
def serving_process(
    env: dict[str, str], log: Path, workers: int = 1
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run ``jamkesda serve`` on a free loopback port; its base URL and process."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [JAMKESDA, "serve", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_alive(base, process, log)
        yield base, process
    finally:
        stop(process)


@contextmanager
def running_server(env: dict[str, str], log: Path) -> Iterator[str]:
    """Run ``jamkesda serve`` (one worker) on a free loopback port; yield its base URL."""
    with serving_process(env, log) as (base, _process):
        yield base


@pytest.fixture
def server(env: dict[str, str], engine: Engine, tmp_path: Path) -> Iterator[str]:
    """A running ``jamkesda serve`` on the migrated test database; yields its base URL."""
    with running_server(env, tmp_path / "server.log") as base:
        yield base


def test_served_app_makes_a_check_with_a_desk_key(server: str, session: Session) -> None:
    add_facility(session, "1040001", "Puskesmas Loa Janan")
    key = add_key(session, "desk", "1040001")
    session.commit()
    response = requests.post(
        f"{server}/v1/checks",
        json={"nik": NIK},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["Location"] == f"/v1/checks/{body['check_id']}"
    assert body["decision"] == "UNDETERMINED"


def test_served_app_is_ready_on_the_migrated_database(server: str) -> None:
    response = requests.get(f"{server}/readyz", timeout=10)
    assert response.status_code == 200, response.text


def test_served_app_answers_401_without_a_key(server: str) -> None:
    response = requests.post(f"{server}/v1/checks", json={"nik": NIK}, timeout=10)
    assert response.status_code == 401
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "UNAUTHENTICATED"


def test_served_openapi_is_the_committed_file(server: str) -> None:
    response = requests.get(f"{server}/openapi.yaml", timeout=10)
    assert response.status_code == 200
    assert response.content.decode("utf-8") == (REPO_DIR / "openapi.yaml").read_text("utf-8")


def serve_briefly(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``jamkesda serve`` expecting it to refuse to start; a server that starts is killed."""
    port = free_port()
    try:
        return subprocess.run(
            [JAMKESDA, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            env=env,
            capture_output=True,
            text=True,
            timeout=START_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("jamkesda serve started instead of refusing its settings")


def test_serve_without_nik_hash_key_exits_2_naming_it(env: dict[str, str]) -> None:
    env = {name: value for name, value in env.items() if name != "NIK_HASH_KEY"}
    result = serve_briefly(env)
    assert result.returncode == 2
    assert "NIK_HASH_KEY" in result.stderr


def test_serve_with_a_short_nik_hash_key_exits_2_naming_it(env: dict[str, str]) -> None:
    result = serve_briefly({**env, "NIK_HASH_KEY": "x" * 31})
    assert result.returncode == 2
    assert "NIK_HASH_KEY" in result.stderr


@pytest.mark.parametrize("missing", ["min_residency_days", "timezone", "version"])
def test_serve_with_a_policy_missing_a_key_exits_2_naming_it(
    env: dict[str, str], tmp_path: Path, missing: str
) -> None:
    bundled = (BUNDLED_DIR / "kukar-2025.1.toml").read_text("utf-8").splitlines()
    lines = [line for line in bundled if not line.startswith(f"{missing} =")]
    assert len(lines) == len(bundled) - 1
    policy = tmp_path / "policy.toml"
    policy.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = serve_briefly({**env, "JAMKESDA_POLICY": str(policy)})
    assert result.returncode == 2
    assert missing in result.stderr


EXPORT_RECORDS = 60_000


def many_records(session: Session, client_id: int, facility_code: str) -> None:
    """EXPORT_RECORDS refused requests in one statement: enough CSV to fill the sockets."""
    session.execute(
        text(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "
            "INSERT INTO check_records (check_id, decided_at, facility_code, client_id, channel, "
            "name_match, birth_date_match, decision, reasons, policy_version, latency_ms) "
            "SELECT 'T' || i, :at, :facility, :client, 'api', 'NOT_PROVIDED', 'NOT_PROVIDED', "
            "'INVALID_REQUEST', '[]', 'kukar-2025.1', 1.0 FROM n"
        ),
        {
            "count": EXPORT_RECORDS,
            "at": clock.now(),
            "facility": facility_code,
            "client": client_id,
        },
    )


def test_an_export_outlasting_the_worker_timeout_streams_to_the_end(
    env: dict[str, str], engine: Engine, session: Session, tmp_path: Path
) -> None:
    add_facility(session, "1040001", "Puskesmas Loa Janan")
    desk_key = add_key(session, "desk", "1040001")
    auditor_key = add_key(session, "auditor")
    desk = session.scalars(select(Client).where(Client.role == "desk")).one()
    many_records(session, desk.id, "1040001")
    session.commit()
    slow_env = {**env, "JAMKESDA_WORKER_TIMEOUT": "2", "LEDGER_SEQUENCER": "off"}
    with running_server(slow_env, tmp_path / "server.log") as base:
        body, seconds = _read_slowly(base, "/v1/audit/checks.csv", auditor_key)
    # The reader held the worker on this one answer for longer than its timeout.
    assert seconds > 4
    assert desk_key
    lines = body.count(b"\n")
    assert lines == EXPORT_RECORDS + 1  # the header and every record


def _read_slowly(base: str, path: str, key: str) -> tuple[bytes, float]:
    """GET ``path`` over a socket with a small receive buffer, read 64 KiB every 100 ms.

    The small buffer keeps the server's writes waiting on the reader, so the worker stays
    inside the one request as long as the reading lasts.
    """
    host, port = base.removeprefix("http://").split(":")
    reader = socket.socket()
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    reader.settimeout(30)
    reader.connect((host, int(port)))
    request = f"GET {path} HTTP/1.0\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n\r\n"
    reader.sendall(request.encode("ascii"))
    started, received = time.monotonic(), bytearray()
    with reader:
        while chunk := reader.recv(64 * 1024):
            received += chunk
            time.sleep(0.1)
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") or head.startswith(b"HTTP/1.0 200"), head[:200]
    return body, time.monotonic() - started
