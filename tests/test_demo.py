"""``jamkesda demo``: the synthetic data set loaded once, one key per role, working examples."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from models import Client, Facility, JamkesdaRow, JknRow, PopulationRow, Snapshot
from service import config, migrate
from service.clients import resolve_key
from service.db import make_engine
from service.decision import decide
from service.demo import DemoResult, demo_command, key_file, run_demo, write_private
from service.facts import load_facts, snapshots_in_force
from service.policy import load_policy
from service.synthetic import Kind
from tests.factories import TEST_NIK_HASH_KEY, add_facility, add_key

RESIDENTS = 300
KEY_LINE = re.compile(r"^(desk|integration|auditor|admin)\s+(jk_\S+)", re.MULTILINE)


@pytest.fixture
def demo(session: Session, tmp_path: Path) -> DemoResult:
    """The demo run on the test database and committed."""
    result = run_demo(session, tmp_path / "files", RESIDENTS, 5, TEST_NIK_HASH_KEY.encode())
    session.commit()
    return result


def run_command(env: dict[str, str], *args: str) -> Result:
    """Invoke ``jamkesda demo`` with ``args`` in the test environment."""
    return CliRunner().invoke(demo_command, list(args), env=env, catch_exceptions=False)


def count(session: Session, model: type[object]) -> int:
    """How many rows a table holds."""
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_demo_imports_each_source_once_as_of_today(demo: DemoResult, session: Session) -> None:
    snapshots = session.scalars(select(Snapshot).order_by(Snapshot.id)).all()
    assert [s.source for s in snapshots] == ["facilities", "population", "jamkesda", "jkn"]
    assert {s.as_of for s in snapshots} == {demo.dataset.today}
    assert count(session, PopulationRow) == RESIDENTS
    assert count(session, JamkesdaRow) == demo.dataset.jamkesda_members > 0
    assert count(session, JknRow) == demo.dataset.jkn_participants > 0
    assert count(session, Facility) == 37
    assert [imported.added for imported in demo.imports] == [s.rows for s in snapshots]


def test_demo_creates_one_working_key_per_role(demo: DemoResult, session: Session) -> None:
    clients = session.scalars(select(Client).order_by(Client.id)).all()
    assert [client.role for client in clients] == ["desk", "integration", "auditor", "admin"]
    for made in demo.clients:
        resolved = resolve_key(session, made.key)
        assert resolved is not None
        assert (resolved.id, resolved.role) == (made.id, made.role)
    kinds = {}
    for client in clients:
        facility = session.get(Facility, client.facility_code) if client.facility_code else None
        kinds[client.role] = facility.kind if facility else None
    assert kinds == {
        "desk": "PUSKESMAS",
        "integration": "RUMAH_SAKIT",
        "auditor": None,
        "admin": None,
    }


def test_each_example_gets_its_expected_decision_from_the_loaded_data(
    demo: DemoResult, session: Session
) -> None:
    policy, snapshots = load_policy(), snapshots_in_force(session)
    assert [example.kind for example in demo.dataset.examples] == list(Kind)
    answers = {
        example.kind: decide(
            load_facts(session, example.nik, snapshots), policy, demo.dataset.today
        )
        for example in demo.dataset.examples
    }
    expected = {
        example.kind: (example.outcome, example.reasons) for example in demo.dataset.examples
    }
    assert {kind: (d.outcome, d.reasons) for kind, d in answers.items()} == expected


def test_demo_command_prints_keys_examples_and_curl_lines(
    env: dict[str, str], engine: Engine, session: Session
) -> None:
    result = run_command(env, "--residents", str(RESIDENTS))
    assert result.exit_code == 0, result.stderr
    keys = dict((role, key) for role, key in KEY_LINE.findall(result.stdout))
    assert set(keys) == {"desk", "integration", "auditor", "admin"}
    for role, key in keys.items():
        client = resolve_key(session, key)
        assert client is not None
        assert client.role == role
    niks = re.findall(r"^  ([0-9]{16})  (\S+)", result.stdout, re.MULTILINE)
    assert len(niks) == len(Kind)
    curls = [line for line in result.stdout.splitlines() if line.startswith("curl ")]
    assert f"-H 'Authorization: Bearer {keys['desk']}'" in curls[0]
    assert f'{{"nik": "{niks[0][0]}"}}' in curls[0]
    assert "http://127.0.0.1:8000/v1/checks" in curls[0]


def test_demo_on_the_sqlite_default_keeps_its_text_in_instance_demo_txt(
    env: dict[str, str], tmp_path: Path
) -> None:
    """``make run``'s case: no DATABASE_URL, and a second ``make run`` shows this file."""
    default = {**env, "DATABASE_URL": ""}
    database = make_engine(config.database_url(default))
    try:
        migrate.upgrade(database)
        result = run_command(default, "--residents", str(RESIDENTS))
        assert result.exit_code == 0, result.stderr
        kept = tmp_path / "instance" / "demo.txt"
        assert key_file(default) == kept
        assert kept.read_text(encoding="utf-8") == result.stdout
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        assert f"(kept in {kept}, readable by you only)" in result.stdout
        with Session(database) as default_session:
            for role, key in KEY_LINE.findall(result.stdout):
                client = resolve_key(default_session, key)
                assert client is not None
                assert client.role == role
    finally:
        database.dispose()


def test_demo_on_another_database_prints_its_keys_and_writes_no_file(
    env: dict[str, str], engine: Engine, database_url: str
) -> None:
    """Issue 14, finding 7: on PostgreSQL it wrote the keys to the project's instance/demo.txt.

    With DATABASE_URL on PostgreSQL (or on a SQLite file of its own), the empty database is
    loaded, the keys are printed only, and no file is written: not in the instance folder,
    not beside the database, and ``make run``'s file keeps its own keys.
    """
    make_runs = Path(env["JAMKESDA_INSTANCE"]) / "demo.txt"
    make_runs.parent.mkdir(parents=True, exist_ok=True)
    make_runs.write_text("make run's keys\n", encoding="utf-8")
    beside = Path(make_url(database_url).database or "").resolve().parent
    before = sorted(beside.iterdir()) if make_url(database_url).database else []

    result = run_command(env, "--residents", str(RESIDENTS))

    assert result.exit_code == 0, result.stderr
    assert key_file(env) is None
    assert "(printed only, kept nowhere: copy them now)" in result.stdout
    assert len(KEY_LINE.findall(result.stdout)) == 4
    assert make_runs.read_text(encoding="utf-8") == "make run's keys\n"
    assert sorted(p.name for p in make_runs.parent.iterdir()) == ["demo.txt"]
    if make_url(database_url).database:
        assert not [p for p in sorted(beside.iterdir()) if p not in before and "demo" in p.name]


def listing(folder: Path) -> list[tuple[str, float]]:
    """The names and modification times in ``folder`` (nothing if it does not exist)."""
    if not folder.is_dir():
        return []
    return sorted((path.name, path.stat().st_mtime) for path in folder.iterdir())


def test_demo_on_another_database_writes_nothing_into_the_projects_instance_folder(
    env: dict[str, str], engine: Engine
) -> None:
    """Without JAMKESDA_INSTANCE the folder is the project's (site-packages when installed)."""
    project_instance = config.PROJECT_DIR / "instance"
    before = listing(project_instance)
    without_instance = {k: v for k, v in env.items() if k != "JAMKESDA_INSTANCE"}

    result = run_command(without_instance, "--residents", str(RESIDENTS))

    assert result.exit_code == 0, result.stderr
    assert "(printed only, kept nowhere: copy them now)" in result.stdout
    assert listing(project_instance) == before


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("", "instance/demo.txt"),
        ("sqlite:///{instance}/jamkesda.db", "instance/demo.txt"),
        ("sqlite:///{tmp}/elsewhere/trial.db", None),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("postgresql://postgres@127.0.0.1:5432/jamkesda", None),
    ],
)
def test_only_the_sqlite_default_gets_a_key_file(
    tmp_path: Path, url: str, expected: str | None
) -> None:
    env = {
        "JAMKESDA_INSTANCE": str(tmp_path / "instance"),
        "DATABASE_URL": url.format(instance=tmp_path / "instance", tmp=tmp_path),
    }
    assert key_file(env) == (tmp_path.resolve() / expected if expected else None)


def test_second_demo_is_refused_with_exit_2_and_changes_nothing(
    env: dict[str, str], engine: Engine, session: Session
) -> None:
    first = run_command(env, "--residents", str(RESIDENTS))
    assert first.exit_code == 0, first.stderr

    second = run_command(env, "--residents", str(RESIDENTS), "--seed", "99")

    assert second.exit_code == 2
    assert "already holds 4 API clients and 4 imports" in second.stderr
    assert "were printed when it ran;" in second.stderr
    assert "`jamkesda demo --force`" in second.stderr
    assert count(session, Snapshot) == 4
    assert count(session, Client) == 4
    assert not (Path(env["JAMKESDA_INSTANCE"]) / "demo.txt").exists()


def test_demo_refuses_a_database_with_one_client_unless_forced(
    env: dict[str, str], engine: Engine, session: Session
) -> None:
    """Issue 14, finding 7: on a production database with only its keys, the demo put
    synthetic residents in force and created auditor and admin keys."""
    add_key(session, "admin")
    session.commit()

    refused = run_command(env, "--residents", str(RESIDENTS))

    assert refused.exit_code == 2
    assert "the database already holds 1 API client;" in refused.stderr
    assert "--force" in refused.stderr
    assert refused.stdout == ""
    assert (count(session, Client), count(session, Snapshot), count(session, PopulationRow)) == (
        1,
        0,
        0,
    )
    assert not Path(env["JAMKESDA_INSTANCE"], "demo.txt").exists()
    # The counts' transaction would hold the tables the import alters (PostgreSQL).
    session.rollback()

    forced = run_command(env, "--residents", str(RESIDENTS), "--force")

    assert forced.exit_code == 0, forced.stderr
    assert len(KEY_LINE.findall(forced.stdout)) == 4
    assert (count(session, Client), count(session, PopulationRow)) == (5, RESIDENTS)


def test_demo_refuses_a_database_with_one_import(
    env: dict[str, str], engine: Engine, session: Session
) -> None:
    add_facility(session, "1040001", "Puskesmas Loa Janan")
    session.commit()

    refused = run_command(env, "--residents", str(RESIDENTS))

    assert refused.exit_code == 2
    assert "the database already holds 1 import;" in refused.stderr
    assert (count(session, Client), count(session, Snapshot)) == (0, 1)


def test_forced_demo_on_the_sqlite_default_replaces_its_key_file(
    env: dict[str, str], tmp_path: Path
) -> None:
    default = {**env, "DATABASE_URL": ""}
    database = make_engine(config.database_url(default))
    try:
        migrate.upgrade(database)
        first = run_command(default, "--residents", str(RESIDENTS))
        assert first.exit_code == 0, first.stderr
        kept = tmp_path / "instance" / "demo.txt"
        kept.chmod(0o644)

        assert run_command(default, "--residents", str(RESIDENTS)).exit_code == 2
        assert kept.read_text(encoding="utf-8") == first.stdout
        forced = run_command(default, "--residents", str(RESIDENTS), "--force")

        assert forced.exit_code == 0, forced.stderr
        assert kept.read_text(encoding="utf-8") == forced.stdout != first.stdout
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        assert sorted(p.name for p in kept.parent.iterdir() if "demo" in p.name) == ["demo.txt"]
    finally:
        database.dispose()


def test_demo_with_too_few_residents_is_bad_usage(env: dict[str, str], engine: Engine) -> None:
    result = run_command(env, "--residents", "10")
    assert result.exit_code == 2
    assert not (Path(env["JAMKESDA_INSTANCE"]) / "demo.txt").exists()


def test_private_file_that_existed_is_made_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "demo.txt"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o644)
    write_private(path, "keys\n")
    assert path.read_text(encoding="utf-8") == "keys\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_printed_batch_and_fhir_examples_are_answered_as_printed(
    env: dict[str, str], engine: Engine, http: FlaskClient
) -> None:
    """A hospital integrator pastes the demo's curl lines: each must work as printed."""
    result = run_command(env, "--residents", str(RESIDENTS))
    keys = dict((role, key) for role, key in KEY_LINE.findall(result.stdout))
    curls = {
        line.split(" -X POST ")[1].split()[0].strip("'"): line
        for line in result.stdout.splitlines()
        if line.startswith("curl -s -X POST ")
    }
    batch_line = curls["http://127.0.0.1:8000/v1/checks/batch"]
    fhir_line = curls["http://127.0.0.1:8000/fhir/R4/CoverageEligibilityRequest/$submit"]
    for line in (batch_line, fhir_line):
        assert f"-H 'Authorization: Bearer {keys['integration']}'" in line

    def body_of(line: str) -> str:
        return line.split(" -d '", 1)[1].removesuffix("'")

    batch = http.post(
        "/v1/checks/batch",
        data=body_of(batch_line),
        headers={
            "Authorization": f"Bearer {keys['integration']}",
            "Content-Type": "application/json",
            "Idempotency-Key": "demo-batch-1",
        },
    )
    assert batch.status_code == 200, batch.get_json()
    assert [item["status"] for item in batch.get_json()["results"]] == [201, 201]
    fhir = http.post(
        "/fhir/R4/CoverageEligibilityRequest/$submit",
        data=body_of(fhir_line),
        headers={
            "Authorization": f"Bearer {keys['integration']}",
            "Content-Type": "application/fhir+json",
        },
    )
    assert fhir.status_code == 200, fhir.get_json()
    assert fhir.get_json()["insurance"][0]["inforce"] is True
    assert f"jamkesda-check {json.loads(body_of(batch_line))['checks'][0]['nik']}" in result.stdout
