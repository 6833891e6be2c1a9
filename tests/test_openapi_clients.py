"""``openapi.yaml`` serves client generators: stable operation ids, and a generated client works."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from tests.conftest import RESIDENT
from tests.test_server import REPO_DIR, running_server

GENERATOR = str(Path(sys.executable).with_name("openapi-python-client"))
TIMEOUT_SECONDS = 120
METHODS = ("get", "put", "post", "delete", "patch")


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    """Every operation of the committed document: path, method and its object."""
    document = yaml.safe_load((REPO_DIR / "openapi.yaml").read_text("utf-8"))
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_every_operation_has_its_own_camel_case_operation_id() -> None:
    ids = [operation.get("operationId") for _path, _method, operation in operations()]
    assert len(ids) >= 21
    assert all(isinstance(id_, str) and re.fullmatch(r"[a-z][A-Za-z0-9]+", id_) for id_ in ids)
    assert len(set(ids)) == len(ids)


def test_the_names_integrators_call_stay_as_published() -> None:
    """A renamed operationId renames every generated client's function: keep these."""
    named = {(path, method): operation["operationId"] for path, method, operation in operations()}
    assert named[("/v1/checks", "post")] == "createCheck"
    assert named[("/v1/checks/batch", "post")] == "createCheckBatch"
    assert named[("/v1/checks/{check_id}", "get")] == "getCheck"
    assert named[("/fhir/R4/CoverageEligibilityRequest/$submit", "post")] == (
        "fhirSubmitCoverageEligibilityRequest"
    )
    assert named[("/v1/audit/checks", "get")] == "listAuditChecks"


def test_a_client_generated_by_openapi_python_client_checks_and_reads(
    tmp_path: Path, env: dict[str, str], keys: dict[str, str], registry: Any, session: Session
) -> None:
    generated = subprocess.run(
        [
            GENERATOR,
            "generate",
            "--path",
            str(REPO_DIR / "openapi.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / "jamkesda_api"),
            "--config",
            str(REPO_DIR / "tests" / "openapi-python-client.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Warning" not in generated.stdout, generated.stdout
    with running_server(env, tmp_path / "server.log") as server:
        used = subprocess.run(
            [
                sys.executable,
                str(REPO_DIR / "tests" / "generated_client_use.py"),
                str(tmp_path),
                server,
                keys["desk"],
                keys["auditor"],
                RESIDENT,
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    assert used.returncode == 0, used.stderr
    seen = json.loads(used.stdout)
    assert seen["decision"] == seen["read_decision"] == "ELIGIBLE"
    assert seen["refused_code"] == "INVALID_NIK"
    assert seen["refused_check_id"]
    assert seen["listed"] == [seen["check_id"]]
    assert seen["health"] == "ok"
