"""``jamkesda-check``, run as a clerk runs it: a subprocess against the real service.

The last test installs the client with ``pip install ./client`` into a Python 3.9
virtualenv and runs the command from there: the library's floor is a real interpreter,
not only a type checker's setting.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from jamkesda_client import Client
from sqlalchemy import Engine

from tests.client_fakes import check_body, json_answer, scripted_server
from tests.client_served import MOVED_OUT, NOT_A_NIK, RESIDENT, Served, served_registry
from tests.test_server import free_port

JAMKESDA_CHECK = str(Path(sys.executable).with_name("jamkesda-check"))
CLIENT_DIR = Path(__file__).resolve().parent.parent / "client"
REFERENCE = re.compile(r"Nomor referensi: (\S+)")
RUN_SECONDS = 60


@pytest.fixture(scope="module")
def served(
    migrated_engine: Engine, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """One running service for this module's tests."""
    with served_registry(migrated_engine, database_url, tmp_path_factory.mktemp("served")) as s:
        yield s


def run(
    arguments: Sequence[str], command: str = JAMKESDA_CHECK, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the command with only the given JAMKESDA_* variables set."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("JAMKESDA_")}
    return subprocess.run(
        [command, *arguments],
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
        check=False,
    )


def test_a_covered_resident_exits_0_with_the_decision_and_reference(served: Served) -> None:
    result = run([RESIDENT], JAMKESDA_URL=served.url, JAMKESDA_KEY=served.keys["desk"])
    assert result.returncode == 0, result.stderr
    assert "KEPUTUSAN: DITANGGUNG JAMKESDA [ELIGIBLE]" in result.stdout
    assert "kelas II" in result.stdout
    assert re.search(r"Waktu pemeriksaan: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d WITA", result.stdout)
    assert REFERENCE.search(result.stdout)
    assert result.stderr == ""


def test_a_moved_out_resident_exits_3_with_reasons_and_how_to_object(served: Served) -> None:
    result = run([MOVED_OUT, "--url", served.url, "--key", served.keys["desk"]])
    assert result.returncode == 3, result.stderr
    assert "[NOT_ELIGIBLE]" in result.stdout
    assert "[NOT_RESIDENT]" in result.stdout
    assert "tidak berdomisili" in result.stdout
    found = REFERENCE.search(result.stdout)
    assert found is not None
    assert "Keberatan:" in result.stdout
    # The dispute text cites the reference, so the patient can quote it.
    assert found.group(1) in result.stdout.split("Keberatan:", 1)[1].replace("\n    ", " ")


def test_an_invalid_nik_exits_1_with_the_problem_and_its_reference_on_stderr(
    served: Served,
) -> None:
    result = run([NOT_A_NIK], JAMKESDA_URL=served.url, JAMKESDA_KEY=served.keys["desk"])
    assert result.returncode == 1
    assert result.stdout == ""
    assert "INVALID_NIK" in result.stderr
    assert "Periksa kembali" in result.stderr
    found = REFERENCE.search(result.stderr)
    assert found is not None
    with Client(served.url, served.keys["auditor"]) as auditor:
        assert auditor.audit_record(found.group(1))["decision"] == "INVALID_REQUEST"


def test_an_unknown_key_exits_1_naming_the_problem(served: Served) -> None:
    result = run([RESIDENT], JAMKESDA_URL=served.url, JAMKESDA_KEY="not-a-key")
    assert result.returncode == 1
    assert "UNAUTHENTICATED" in result.stderr
    assert "HTTP 401" in result.stderr


def test_an_undetermined_decision_exits_4_and_the_options_reach_the_service() -> None:
    answer = json_answer(201, check_body(decision="UNDETERMINED"))
    with scripted_server(answer) as fake:
        result = run(
            [RESIDENT, "--service-type", "inpatient", "--service-date", "2026-11-27"],
            JAMKESDA_URL=fake.url,
            JAMKESDA_KEY="k",
        )
    assert result.returncode == 4, result.stderr
    assert "BELUM DAPAT DIPASTIKAN" in result.stdout
    assert fake.requests[0].json() == {
        "nik": RESIDENT,
        "service_type": "inpatient",
        "service_date": "2026-11-27",
    }


def test_no_answer_exits_1_saying_it_is_not_a_denial() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = run([RESIDENT, "--timeout", "1"], JAMKESDA_URL=url, JAMKESDA_KEY="k")
    assert result.returncode == 1
    assert "bukan penolakan" in result.stderr


URL = {"JAMKESDA_URL": "http://127.0.0.1:9"}
KEY = {"JAMKESDA_KEY": "k"}


@pytest.mark.parametrize(
    ("arguments", "env", "named"),
    [
        ([RESIDENT], URL, "JAMKESDA_KEY"),
        ([RESIDENT], KEY, "JAMKESDA_URL"),
        ([RESIDENT, "--service-date", "28-11-2026"], URL | KEY, "YYYY-MM-DD"),
        ([RESIDENT, "--service-type", "dental"], URL | KEY, "--service-type"),
        ([], URL | KEY, "nik"),
    ],
)
def test_bad_usage_exits_2_saying_what_is_wrong(
    arguments: list[str], env: dict[str, str], named: str
) -> None:
    result = run(arguments, **env)
    assert result.returncode == 2
    assert named in result.stderr


def _python39() -> str | None:
    """A Python 3.9: $JAMKESDA_TEST_PYTHON39, pyenv's, or python3.9 on PATH (that runs)."""
    candidates = [os.environ.get("JAMKESDA_TEST_PYTHON39")]
    candidates += [str(path) for path in Path.home().glob(".pyenv/versions/3.9*/bin/python3.9")]
    candidates.append(shutil.which("python3.9"))
    for candidate in filter(None, candidates):
        # A pyenv shim is on PATH even where it has no 3.9 to run: ask the interpreter.
        probe = [candidate, "-c", "import sys; sys.exit(sys.version_info[:2] != (3, 9))"]
        if subprocess.run(probe, capture_output=True, check=False).returncode == 0:
            return candidate
    return None


def test_the_command_installed_on_python_3_9_checks_against_the_service(
    served: Served, tmp_path: Path
) -> None:
    python39 = _python39()
    if python39 is None:
        pytest.skip("needs a Python 3.9 interpreter (set JAMKESDA_TEST_PYTHON39)")
    venv = tmp_path / "py39"
    subprocess.run([python39, "-m", "venv", str(venv)], check=True, timeout=RUN_SECONDS)
    # A copy of client/ keeps the build's egg-info and build/ out of the repository.
    source = shutil.copytree(
        CLIENT_DIR, tmp_path / "client", ignore=shutil.ignore_patterns("*.egg-info", "build")
    )
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", str(source)],
        check=True,
        timeout=300,
    )
    result = run(
        [MOVED_OUT],
        str(venv / "bin" / "jamkesda-check"),
        JAMKESDA_URL=served.url,
        JAMKESDA_KEY=served.keys["desk"],
    )
    assert result.returncode == 3, result.stderr
    assert "[NOT_RESIDENT]" in result.stdout
    version = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip() == "(3, 9)"
