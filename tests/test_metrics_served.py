"""``GET /metrics`` under ``jamkesda serve`` with several workers (SPEC §11).

Each worker counts in its own process; the totals a scrape shows must be the server's, not
those of whichever worker answered it, and the folder the workers count in is the
server's own, gone when it stops.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.factories import add_facility, add_key
from tests.test_server import NIK, serve_briefly, serving_process

WORKERS = 2
CHECKS_A_ROUND = 16
MAX_ROUNDS = 12
SCRAPES = 8
CONNECTIONS = 8
FOLDER_PREFIX = "jamkesda-metrics-"


@pytest.fixture
def key(engine: Engine) -> str:
    """A desk key of a puskesmas in the test database."""
    with Session(engine) as session:
        add_facility(session, "1040001", "Puskesmas Loa Janan")
        made = add_key(session, "desk", "1040001")
        session.commit()
    return made


@pytest.fixture
def served_env(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The server's environment: its temporary folders under ``tmp``, limits out of the way."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    return {**env, "TMPDIR": str(temporary), "RATE_LIMIT": "1000/s"}


def metric_folders(env: dict[str, str]) -> list[Path]:
    """The metrics folders that servers of this environment made."""
    return sorted(Path(env["TMPDIR"]).glob(f"{FOLDER_PREFIX}*"))


def checks_by_worker(folder: Path) -> dict[int, float]:
    """The checks each worker's file of ``folder`` counted, by process id."""
    counted: dict[int, float] = {}
    for file in folder.glob("counter_*.db"):
        pid = int(file.stem.rsplit("_", 1)[1])
        families = MultiProcessCollector.merge([str(file)])  # type: ignore[no-untyped-call]
        counted[pid] = sum(
            sample.value
            for family in families
            for sample in family.samples
            if sample.name == "jamkesda_checks_total"
        )
    return counted


def total(text: str, name: str, **labels: str) -> float:
    """The sum of the samples ``name`` whose labels include ``labels``."""
    return sum(
        float(sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


def send_checks(base: str, key: str, count: int) -> None:
    """``count`` checks over several connections at once (each request a new one)."""

    def one(_: int) -> int:
        answer = requests.post(
            f"{base}/v1/checks",
            json={"nik": NIK},
            headers={"Authorization": f"Bearer {key}", "Connection": "close"},
            timeout=30,
        )
        return answer.status_code

    with ThreadPoolExecutor(CONNECTIONS) as pool:
        assert set(pool.map(one, range(count))) == {201}


def scrape(base: str) -> str:
    """``/metrics`` on a new connection (so that any worker may answer)."""
    answer = requests.get(f"{base}/metrics", headers={"Connection": "close"}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.text


def test_every_scrape_shows_the_checks_of_all_workers(
    served_env: dict[str, str], key: str, tmp_path: Path
) -> None:
    with serving_process(served_env, tmp_path / "server.log", workers=WORKERS) as (base, _):
        (folder,) = metric_folders(served_env)
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        sent = 0
        # Until both workers have made checks: only then could a scrape of one worker's
        # counts fall short of the total.
        for _round in range(MAX_ROUNDS):
            send_checks(base, key, CHECKS_A_ROUND)
            sent += CHECKS_A_ROUND
            by_worker = checks_by_worker(folder)
            if sum(1 for counted in by_worker.values() if counted > 0) >= WORKERS:
                break
        else:
            pytest.fail(f"the checks never reached both workers: {by_worker}")
        assert sum(by_worker.values()) == sent
        for _scrape in range(SCRAPES):
            text = scrape(base)
            assert total(text, "jamkesda_checks_total", channel="api") == sent
            posted = {"method": "POST", "route": "/v1/checks", "status": "201"}
            assert total(text, "jamkesda_http_requests_total", **posted) == sent
            assert total(
                text, "jamkesda_http_request_duration_seconds_count", route="/v1/checks"
            ) == (sent)
            assert total(text, "jamkesda_metrics_database_up") == 1
    # Stopped with SIGTERM: its folder went with it.
    assert metric_folders(served_env) == []


def test_an_inherited_multiprocess_folder_is_neither_read_nor_written(
    served_env: dict[str, str], key: str, tmp_path: Path
) -> None:
    planted = tmp_path / "inherited"
    planted.mkdir()
    # Counts left by another program (or an earlier server) in the folder the environment
    # names: a server that used the folder would add them to its own.
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from prometheus_client import Counter\n"
            "Counter('jamkesda_checks', 'planted', ['decision', 'channel'])"
            ".labels('ELIGIBLE', 'api').inc(1000)",
        ],
        env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(planted)},
        check=True,
    )
    left = {file.name: file.read_bytes() for file in planted.iterdir()}
    assert left
    env = {**served_env, "PROMETHEUS_MULTIPROC_DIR": str(planted)}
    with serving_process(env, tmp_path / "server.log", workers=WORKERS) as (base, _):
        send_checks(base, key, 3)
        text = scrape(base)
        assert total(text, "jamkesda_checks_total") == 3
        assert {file.name: file.read_bytes() for file in planted.iterdir()} == left
    assert {file.name: file.read_bytes() for file in planted.iterdir()} == left
    assert metric_folders(env) == []


def test_the_command_line_imports_no_prometheus_client_before_serve_sets_its_folder() -> None:
    """``prometheus_client`` fixes where values live when first imported: not before serve."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, service.cli, service.server\nprint('prometheus_client' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "False"


def test_serve_with_a_malformed_metrics_setting_exits_2_naming_it(env: dict[str, str]) -> None:
    result = serve_briefly({**env, "METRICS": "maybe"})
    assert result.returncode == 2
    assert "METRICS" in result.stderr


def test_metrics_off_serves_no_metrics(
    served_env: dict[str, str], key: str, tmp_path: Path
) -> None:
    env = {**served_env, "METRICS": "off"}
    with serving_process(env, tmp_path / "server.log", workers=WORKERS) as (base, _):
        send_checks(base, key, 2)
        answer = requests.get(f"{base}/metrics", timeout=30)
        assert answer.status_code == 404
    assert metric_folders(env) == []
