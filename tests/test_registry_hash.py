"""The registry rows' NIK hash: filled at import, checked against the key, rebuilt by rehash."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import JamkesdaRow, JknRow, PopulationRow
from models.snapshots import RegistryHashKey
from service import create_app
from service.cli import main
from service.config import Settings
from service.imports import import_file
from service.nik import nik_hash
from service.registry_key import FINGERPRINT_LABEL, RehashNeeded, key_fingerprint
from tests.audit_records import post_check
from tests.conftest import TEST_NIK_HASH_KEY, bearer
from tests.factories import TODAY
from tests.test_imports import facility, jkn_member, membership, person, run_import, write_csv

KEY = TEST_NIK_HASH_KEY.encode()
NEW_KEY = "rotated-nik-hash-key-0123456789abcdef012345"
ROW_MODELS = (PopulationRow, JamkesdaRow, JknRow)


def stored_hashes(engine: Engine) -> list[tuple[str, str]]:
    """Every registry row version's (NIK, nik_hash), all three tables."""
    with Session(engine) as session:
        return [
            (nik, hashed)
            for model in ROW_MODELS
            for nik, hashed in session.execute(select(model.nik, model.nik_hash).order_by(model.id))
        ]


def recorded(engine: Engine) -> str | None:
    """The key fingerprint recorded in the database."""
    with Session(engine) as session:
        return session.scalar(select(RegistryHashKey.fingerprint))


def load_registry(engine: Engine, tmp_path: Path) -> None:
    """Two people and their Jamkesda and JKN rows, then a changed population snapshot."""
    earlier = TODAY - timedelta(days=10)
    people = [person(1, TGL_DOMISILI="2000-01-01"), person(2, TGL_DOMISILI="2000-01-01")]
    run_import(engine, "population", write_csv(tmp_path / "p1.csv", people), earlier)
    members = [membership(1, TGL_MULAI="2020-01-01", TGL_AKHIR="")]
    run_import(engine, "jamkesda", write_csv(tmp_path / "j.csv", members), earlier)
    run_import(engine, "jkn", write_csv(tmp_path / "k.csv", [jkn_member(3)]), earlier)
    # A changed version of person 1 and a new person 4, staged and written as changes.
    changed = [person(1, NAMA_LGKP="Renamed", TGL_DOMISILI="2000-01-01"), person(4)]
    run_import(engine, "population", write_csv(tmp_path / "p2.csv", changed), TODAY)
    # Kept as history only (dated before the snapshot in force): written straight away.
    run_import(engine, "population", write_csv(tmp_path / "p0.csv", [person(5)]), earlier)


def test_every_imported_row_version_carries_its_niks_hash(engine: Engine, tmp_path: Path) -> None:
    load_registry(engine, tmp_path)
    hashes = stored_hashes(engine)
    assert len(hashes) == 7  # Population 1, 2, 1 again, 4, 5; Jamkesda 1; JKN 3.
    assert all(hashed == nik_hash(KEY, nik) for nik, hashed in hashes)


def test_the_first_import_records_the_keys_fingerprint_not_the_key(
    engine: Engine, tmp_path: Path
) -> None:
    assert recorded(engine) is None
    run_import(engine, "population", write_csv(tmp_path / "p.csv", [person(1)]))
    fingerprint = recorded(engine)
    assert fingerprint == nik_hash(KEY, FINGERPRINT_LABEL.decode())
    assert fingerprint == key_fingerprint(KEY) != key_fingerprint(NEW_KEY.encode())
    assert TEST_NIK_HASH_KEY not in (fingerprint or "")


def test_an_import_under_another_key_is_refused_and_changes_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    run_import(engine, "population", write_csv(tmp_path / "p.csv", [person(1)]))
    path = write_csv(tmp_path / "q.csv", [person(1), person(2)])
    with pytest.raises(RehashNeeded), Session(engine) as session, session.begin():
        import_file(session, "population", path, TODAY, hash_key=NEW_KEY.encode())
    assert [nik for nik, _hash in stored_hashes(engine)] == [person(1)["NIK"]]


def jamkesda(env: dict[str, str], *args: str) -> Result:
    """Run ``jamkesda ARGS`` in-process with the environment ``env``."""
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def rotated(settings: Settings, engine: Engine) -> Flask:
    """The app restarted with a new NIK_HASH_KEY."""
    return create_app(replace(settings, nik_hash_key=NEW_KEY.encode()), engine)


def replay_as_auditor(app: Flask, keys: dict[str, str], check_id: str) -> Any:
    """GET the replay of ``check_id`` from ``app``: the response."""
    url = f"/v1/audit/checks/{check_id}/replay"
    return app.test_client().get(url, headers=bearer(keys["auditor"]))


def test_after_a_key_change_replays_wait_for_the_rehash_that_makes_them_work(
    engine: Engine, rotated: Flask, keys: dict[str, str], env: dict[str, str], tmp_path: Path
) -> None:
    load_registry(engine, tmp_path)
    new_env = {**env, "NIK_HASH_KEY": NEW_KEY}
    # A check made after the restart: its record holds the NIK's hash under the new key.
    made = post_check(rotated.test_client(), keys["desk"], nik=person(1)["NIK"])
    assert made["decision"] == "ELIGIBLE"

    refused = replay_as_auditor(rotated, keys, made["check_id"])
    assert refused.status_code == 503
    assert refused.mimetype == "application/problem+json"
    problem = refused.get_json()
    assert problem["code"] == "REHASH_NEEDED"
    assert "jamkesda db rehash" in problem["detail"]

    path = write_csv(tmp_path / "p3.csv", [person(1), person(6)])
    result = jamkesda(new_env, "import", "population", str(path))
    assert result.exit_code == 2
    assert "jamkesda db rehash" in result.stderr
    assert len(stored_hashes(engine)) == 7

    result = jamkesda(new_env, "db", "rehash")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("rehashed 7 registry rows (population 5, jamkesda 1, jkn 1)")
    assert all(hashed == nik_hash(NEW_KEY.encode(), nik) for nik, hashed in stored_hashes(engine))
    assert recorded(engine) == key_fingerprint(NEW_KEY.encode())

    body = replay_as_auditor(rotated, keys, made["check_id"]).get_json()
    assert body["as_of_then"]["decision"] == "ELIGIBLE"
    assert body["same_as_recorded"] is True
    assert jamkesda(new_env, "import", "population", str(path)).exit_code == 0


def test_a_record_made_under_the_earlier_key_is_not_replayed_as_a_person_in_no_import(
    app: Flask,
    engine: Engine,
    rotated: Flask,
    keys: dict[str, str],
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    load_registry(engine, tmp_path)
    before = post_check(app.test_client(), keys["desk"], nik=person(1)["NIK"])
    assert before["decision"] == "ELIGIBLE"
    assert jamkesda({**env, "NIK_HASH_KEY": NEW_KEY}, "db", "rehash").exit_code == 0

    refused = replay_as_auditor(rotated, keys, before["check_id"])
    assert refused.status_code == 422
    problem = refused.get_json()
    assert problem["code"] == "HASHED_UNDER_EARLIER_KEY"
    assert problem["rotated_at"].endswith("+08:00")
    assert "bukan berarti NIK tidak terdaftar" in problem["detail"]
    # A check made under the new key replays as usual.
    after = post_check(rotated.test_client(), keys["desk"], nik=person(1)["NIK"])
    assert replay_as_auditor(rotated, keys, after["check_id"]).get_json()["same_as_recorded"]


def test_a_rehash_under_the_same_key_rewrites_nothing(
    engine: Engine, env: dict[str, str], tmp_path: Path
) -> None:
    load_registry(engine, tmp_path)
    before = stored_hashes(engine)
    result = jamkesda(env, "db", "rehash")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("rehashed 0 registry rows (population 0, jamkesda 0, jkn 0)")
    assert stored_hashes(engine) == before


def test_a_rehash_of_an_empty_registry_records_the_key(engine: Engine, env: dict[str, str]) -> None:
    assert jamkesda(env, "db", "rehash").exit_code == 0
    assert recorded(engine) == key_fingerprint(KEY)


def test_a_facilities_import_needs_no_rehash(
    engine: Engine, env: dict[str, str], tmp_path: Path
) -> None:
    run_import(engine, "population", write_csv(tmp_path / "p.csv", [person(1)]), date(2026, 1, 1))
    facilities = write_csv(tmp_path / "f.csv", [facility()])
    result = jamkesda({**env, "NIK_HASH_KEY": NEW_KEY}, "import", "facilities", str(facilities))
    assert result.exit_code == 0, result.stderr
