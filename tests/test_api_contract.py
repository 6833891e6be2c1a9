"""SPEC §11 API contract: every operation of ``openapi.yaml`` against a live server.

Schemathesis generates requests from the committed document (valid ones and, in its
negative mode, ones that break it) and sends them to ``jamkesda serve`` with two workers,
on a database of its own holding the demo's synthetic residents and a few checks. Every
answer must be no server error, have a documented status and content type, and conform to
the documented schema and headers. Each operation is called with the key of a role allowed
to use it; ``test_a_wrong_role_or_no_key_gets_a_documented_refusal`` tries the others.

The run is bounded and reproducible: a fixed number of examples per operation, generated
deterministically (Hypothesis' ``derandomize``), without Hypothesis' example database.
It runs in both halves of the suite: on PostgreSQL, the production database, whose types
refuse values SQLite takes (NUL in text, integers beyond 32 bits), and on SQLite, which
``make run`` serves; about a minute and a half each. ``tests/test_api_contract_findings.py``
pins what it found.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from schemathesis import APIOperation
from schemathesis import Case as GenericCase
from schemathesis.core.result import Ok
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service import migrate
from service.db import make_engine, sqlalchemy_url
from tests.conftest import (
    TEST_CONSOLE_SECRET_KEY,
    TEST_LEDGER_SIGNING_KEY,
    TEST_NIK_HASH_KEY,
)
from tests.openapi_conformance import CHECKS
from tests.test_server import JAMKESDA, REPO_DIR, serving_process

# Examples per operation in the fuzzing phase; with the examples and coverage phases' own
# cases the whole file takes about a minute and a half on a two-core machine (250 took
# nearly three).
MAX_EXAMPLES = 200
SEED = 2026
RESIDENTS = 200
SERVER_WORKERS = 2
CHECKPOINT_SECONDS = 30
KEY_LINE = re.compile(r"^(desk|integration|auditor|admin)\s+(jk_\S+)", re.MULTILINE)
EXAMPLE_NIK_LINE = re.compile(r"^\s+(\d{16})\s", re.MULTILINE)

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {
            "max-examples": MAX_EXAMPLES,
            # Hypothesis' derandomize: the same cases on every run, locally and in CI.
            "deterministic": True,
            # No example database: a failure saved by one run must not steer the next.
            "database": "none",
            # The test sends the key of the operation's role itself (see ``caller_headers``).
            "with-security-parameters": False,
        },
        # Stateful links are not documented; each operation is tested on its own.
        "phases": {"stateful": {"enabled": False}},
    }
)
SCHEMA = schemathesis.openapi.from_path(REPO_DIR / "openapi.yaml", config=CONFIG)

# A case of any operation of the document.
Case = GenericCase[APIOperation[Any, Any, Any, Any]]

# The role whose key calls each secured operation, by path prefix; the first match counts.
ROLE_BY_PATH_PREFIX = (
    ("/v1/checks/batch", "integration"),
    ("/v1/checks", "desk"),
    ("/fhir/", "integration"),
    ("/v1/audit/", "auditor"),
    ("/v1/ledger/", "auditor"),
)
# A role that may not call what the key's role may: the nearest refusal, besides admin's.
WRONG_ROLE = {"desk": "auditor", "integration": "desk", "auditor": "integration"}


def role_for(path: str) -> str:
    """The role allowed to call a secured operation at ``path``."""
    for prefix, role in ROLE_BY_PATH_PREFIX:
        if path.startswith(prefix):
            return role
    raise AssertionError(f"no role is known for {path}: add it to ROLE_BY_PATH_PREFIX")


def is_secured(path: str, method: str) -> bool:
    """Whether the document asks for a bearer key on this operation."""
    definition = SCHEMA.raw_schema["paths"][path][method]
    return bool(definition.get("security", SCHEMA.raw_schema.get("security")))


OPERATIONS = [
    (path, method)
    for path, item in SCHEMA.raw_schema["paths"].items()
    for method in item
    if method in {"get", "post", "put", "patch", "delete"}
]
SECURED = [(path, method) for path, method in OPERATIONS if is_secured(path, method)]


@dataclass(frozen=True)
class LiveServer:
    """The served API, the demo's key per role, and references that name real things."""

    base: str
    keys: dict[str, str]
    niks: tuple[str, ...]
    check_ids: tuple[str, ...]
    # A signed tree holding every check in ``check_ids``.
    tree_size: int


@pytest.fixture(scope="module")
def contract_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database of the run's own: on the TEST_DATABASE_URL server, else SQLite.

    Not the suite's shared test database: the demo refuses a database holding anything,
    and the records the run makes must not meet other tests.
    """
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        url = f"sqlite:///{tmp_path_factory.mktemp('contract-db') / 'contract.db'}"
        upgrade(url)
        yield url
        return
    name = f"jamkesda_contract_{secrets.token_hex(4)}"
    admin = create_engine(sqlalchemy_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(server).set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def upgrade(url: str) -> None:
    """Apply every migration to the database at ``url``, as ``jamkesda db upgrade`` does."""
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def contract_env(
    contract_database: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The server's and the demo's environment: the contract database, the test secrets."""
    return {
        **os.environ,
        "DATABASE_URL": contract_database,
        "NIK_HASH_KEY": TEST_NIK_HASH_KEY,
        "LEDGER_SIGNING_KEY": TEST_LEDGER_SIGNING_KEY,
        "CONSOLE_SECRET_KEY": TEST_CONSOLE_SECRET_KEY,
        "JAMKESDA_INSTANCE": str(tmp_path_factory.mktemp("contract-instance")),
        # Thousands of requests in a few minutes with one key each: the rate limiter
        # (its own tests cover it) must not turn them into 429s here.
        "RATE_LIMIT": "100000/s",
        "RATE_LIMIT_ANONYMOUS": "100000/s",
        # Checkpoints every second, so that the checks made first are soon in a signed tree.
        "LEDGER_CHECKPOINT_INTERVAL": "1",
    }


def load_demo(env: dict[str, str]) -> tuple[dict[str, str], tuple[str, ...]]:
    """Run ``jamkesda demo`` with a small population; its key per role and example NIKs."""
    result = subprocess.run(
        [JAMKESDA, "demo", "--residents", str(RESIDENTS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    keys = dict(KEY_LINE.findall(result.stdout))
    assert set(keys) == {"desk", "integration", "auditor", "admin"}, result.stdout
    return keys, tuple(EXAMPLE_NIK_LINE.findall(result.stdout))


def make_checks(base: str, keys: dict[str, str], niks: tuple[str, ...]) -> tuple[str, ...]:
    """A check of every example NIK at the desk, and a batch of them at the hospital.

    The audit, replay and ledger operations then have records to find, and the two
    facilities' keys have checks of their own to read back.
    """
    desk = {"Authorization": f"Bearer {keys['desk']}"}
    check_ids = []
    for nik in niks:
        answer = requests.post(f"{base}/v1/checks", json={"nik": nik}, headers=desk, timeout=30)
        assert answer.status_code == 201, answer.text
        check_ids.append(answer.json()["check_id"])
    hospital = {"Authorization": f"Bearer {keys['integration']}"}
    batch = {"checks": [{"nik": nik, "service_type": "inpatient"} for nik in niks]}
    answer = requests.post(f"{base}/v1/checks/batch", json=batch, headers=hospital, timeout=30)
    assert answer.status_code == 200, answer.text
    check_ids += [result["check"]["check_id"] for result in answer.json()["results"]]
    return tuple(check_ids)


def wait_for_checkpoint(base: str, auditor_key: str, size: int) -> int:
    """Wait until a signed checkpoint holds ``size`` leaves at least; its tree size.

    The inclusion proofs then have a tree holding the checks made first, whatever the
    sequencer's pace on a busy machine.
    """
    headers = {"Authorization": f"Bearer {auditor_key}"}
    deadline = time.monotonic() + CHECKPOINT_SECONDS
    while True:
        answer = requests.get(f"{base}/v1/ledger/checkpoint", headers=headers, timeout=30)
        # 503 CHECKPOINT_UNAVAILABLE until the sequencer has stored its first checkpoint.
        if answer.status_code != 503:
            assert answer.status_code == 200, answer.text
            # The note's second line is the tree size (C2SP tlog-checkpoint).
            tree_size = int(answer.text.splitlines()[1])
            if tree_size >= size:
                return tree_size
        assert time.monotonic() < deadline, f"no checkpoint of {size} leaves: {answer.text}"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def live(
    contract_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """``jamkesda serve`` with two workers on the demo data, with a few checks made."""
    keys, niks = load_demo(contract_env)
    log = tmp_path_factory.mktemp("contract-server") / "server.log"
    with serving_process(contract_env, log, workers=SERVER_WORKERS) as (base, _process):
        check_ids = make_checks(base, keys, niks)
        tree_size = wait_for_checkpoint(base, keys["auditor"], len(check_ids))
        yield LiveServer(base, keys, niks, check_ids, tree_size)


def caller_headers(live: LiveServer, path: str, method: str) -> dict[str, str]:
    """The Authorization header of a key allowed to call the operation; none if it is open."""
    if not is_secured(path, method.lower()):
        return {}
    return {"Authorization": f"Bearer {live.keys[role_for(path)]}"}


def pick(choices: tuple[str, ...], generated: object) -> str | None:
    """One of ``choices`` for about half of the generated values, else None: deterministic.

    The choice is a function of the generated value, so that Hypothesis, replaying or
    shrinking a case, sends the same request again.
    """
    digest = zlib.crc32(repr(generated).encode("utf-8"))
    if not choices or digest % 2:
        return None
    return choices[(digest // 2) % len(choices)]


def with_known_values(case: Case, live: LiveServer) -> None:
    """Let valid cases name real checks and residents now and then.

    Generated references and NIKs almost never exist, so without this the reads of a
    check, its replay, its proof and the decisions on real people would go untested.
    """
    if case.meta is None or case.meta.generation.mode.is_negative:
        return
    for container in (case.path_parameters, case.query):
        if isinstance(container, dict) and isinstance(container.get("check_id"), str):
            known = pick(live.check_ids, container["check_id"])
            if known is not None:
                container["check_id"] = known
                if "tree_size" in container:
                    container["tree_size"] = live.tree_size
    if isinstance(case.body, dict) and isinstance(case.body.get("nik"), str):
        known = pick(live.niks, case.body["nik"])
        if known is not None:
            case.body["nik"] = known


# The statuses each operation answered in this run, by operation label.
ANSWERED: dict[str, Counter[int]] = {}


@SCHEMA.parametrize()
def test_api_contract(case: Case, live: LiveServer) -> None:
    with_known_values(case, live)
    headers = caller_headers(live, case.operation.path, case.operation.method)
    response = case.call(base_url=live.base, headers=headers, timeout=30)
    if case.method.upper() == case.operation.method.upper():
        # Not the coverage phase's unexpected methods: OPTIONS answers 200 anywhere.
        ANSWERED.setdefault(case.operation.label, Counter())[response.status_code] += 1
    case.validate_response(response, checks=CHECKS, headers=headers)


def refusal_case(path: str, method: str) -> Case:
    """A request to the operation with placeholder parameters: refused before they are read."""
    operation = SCHEMA[path][method.upper()]
    names = re.findall(r"{(\w+)}", path)
    return operation.Case(path_parameters={name: "K7QM-3XD9-2F4E" for name in names})


@pytest.mark.parametrize(("path", "method"), SECURED)
@pytest.mark.parametrize("caller", ["no key", "wrong role", "admin"])
def test_a_wrong_role_or_no_key_gets_a_documented_refusal(
    live: LiveServer, path: str, method: str, caller: str
) -> None:
    role = {"no key": None, "wrong role": WRONG_ROLE[role_for(path)], "admin": "admin"}[caller]
    headers = {} if role is None else {"Authorization": f"Bearer {live.keys[role]}"}
    case = refusal_case(path, method)
    response = case.call(base_url=live.base, headers=headers, timeout=30)
    case.validate_response(response, checks=CHECKS, headers=headers)
    assert response.status_code == (401 if role is None else 403), response.text


def test_every_secured_operation_has_a_role_and_the_run_covers_every_operation() -> None:
    assert {(path, method) for path, method in SECURED} <= set(OPERATIONS)
    for path, _method in SECURED:
        role_for(path)
    labels = {f"{method.upper()} {path}" for path, method in OPERATIONS}
    loaded = [result.ok() for result in SCHEMA.get_all_operations() if isinstance(result, Ok)]
    assert labels == {operation.label for operation in loaded}


def test_every_operation_run_was_also_answered_with_a_success() -> None:
    """Every operation the run called answered 2xx at least once.

    Refusals alone (a key that no longer works, a schema no request can satisfy) are all
    documented and would pass every check: this keeps the run meaningful. The statuses are
    printed for ``pytest -s``.
    """
    print("statuses answered per operation:")
    for label, statuses in sorted(ANSWERED.items()):
        print(f"  {label}: {dict(sorted(statuses.items()))}")
    unanswered = [
        label
        for label, statuses in ANSWERED.items()
        if not any(200 <= status < 300 for status in statuses)
    ]
    assert not unanswered, ANSWERED
