"""GET /v1/audit/checks/{check_id}/replay: a recorded decision re-derived as then and as now."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import AccessRecord, CheckRecord, Snapshot
from service import policy as policy_module
from service.audit.nik_recovery import recover_nik
from service.audit.replay import PolicyUnavailable, policy_of
from service.check_ids import new_check_id
from service.nik import mask, nik_hash
from service.policy import BUNDLED_DIR, DEFAULT_VERSION, load_policy
from service.registry_key import RehashNeeded, record_key
from tests.audit_records import (
    MOVED_OUT,
    RESIDENT,
    UNKNOWN,
    add_people,
    add_record,
    client_of,
    post_check,
)
from tests.conftest import TEST_NIK_HASH_KEY, bearer
from tests.factories import TODAY, add_jkn, add_membership, add_person, add_snapshot, registry_hash
from tests.test_imports import membership, person, run_import, write_csv

# Both start with 6402 and end with 01, so their masks are the same: 6402**********01.
TWIN = "6402015506850101"
OLDER_POLICY = "kukar-2024.1"
KEY = TEST_NIK_HASH_KEY.encode()
OTHER_KEY = b"another-nik-hash-key-0123456789abcdef"


def replay(http: FlaskClient, keys: dict[str, str], check_id: str) -> Any:
    """GET the replay as the auditor: the response."""
    return http.get(f"/v1/audit/checks/{check_id}/replay", headers=bearer(keys["auditor"]))


def replayed(http: FlaskClient, keys: dict[str, str], check_id: str) -> dict[str, Any]:
    """The replay's body, asserting a 200."""
    response = replay(http, keys, check_id)
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def outcome(part: dict[str, Any]) -> tuple[str, list[str]]:
    """A replay part's decision and reason codes."""
    return part["decision"], [reason["code"] for reason in part["reasons"]]


def test_a_resident_who_moved_out_since_was_eligible_then_and_is_not_resident_now(
    http: FlaskClient, keys: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    registry = [person(1, TGL_DOMISILI="2000-01-01")]
    members = [membership(1, TGL_MULAI="2020-01-01", TGL_AKHIR="")]
    run_import(
        engine, "population", write_csv(tmp_path / "p1.csv", registry), TODAY - timedelta(10)
    )
    run_import(engine, "jamkesda", write_csv(tmp_path / "j.csv", members), TODAY - timedelta(10))
    nik = registry[0]["NIK"]
    made = post_check(http, keys["desk"], nik=nik)
    assert made["decision"] == "ELIGIBLE"

    moved = [person(1, TGL_DOMISILI="2000-01-01", STATUS="PINDAH")]
    run_import(engine, "population", write_csv(tmp_path / "p2.csv", moved), TODAY)
    assert post_check(http, keys["desk"], nik=nik)["decision"] == "NOT_ELIGIBLE"

    body = replayed(http, keys, made["check_id"])
    assert outcome(body["recorded"]) == ("ELIGIBLE", [])
    assert outcome(body["as_of_then"]) == ("ELIGIBLE", [])
    assert outcome(body["as_of_now"]) == ("NOT_ELIGIBLE", ["NOT_RESIDENT"])
    assert body["same_as_recorded"] is True
    assert body["as_of_now"]["reasons"][0]["message"]


def test_a_person_removed_from_the_registry_is_found_in_its_history(
    http: FlaskClient, keys: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    run_import(engine, "population", write_csv(tmp_path / "p1.csv", [person(1), person(2)]))
    made = post_check(http, keys["desk"], nik=person(1)["NIK"])
    assert made["decision"] == "UNDETERMINED"  # No Jamkesda list yet: membership unknown.
    run_import(engine, "population", write_csv(tmp_path / "p2.csv", [person(2)]), TODAY)

    body = replayed(http, keys, made["check_id"])
    assert outcome(body["as_of_then"]) == ("UNDETERMINED", ["DATA_UNAVAILABLE"])
    assert outcome(body["as_of_now"]) == ("NOT_ELIGIBLE", ["NIK_NOT_FOUND"])
    assert body["same_as_recorded"] is True


def test_a_nik_in_no_data_ever_is_not_found_then_and_now(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    add_people(session)
    made = post_check(http, keys["desk"], nik=UNKNOWN)
    body = replayed(http, keys, made["check_id"])
    assert outcome(body["recorded"]) == ("NOT_ELIGIBLE", ["NIK_NOT_FOUND"])
    assert outcome(body["as_of_then"]) == ("NOT_ELIGIBLE", ["NIK_NOT_FOUND"])
    assert outcome(body["as_of_now"]) == ("NOT_ELIGIBLE", ["NIK_NOT_FOUND"])
    assert body["same_as_recorded"] is True


def test_a_check_before_any_import_replays_as_undetermined(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    made = post_check(http, keys["desk"], nik=UNKNOWN)
    add_people(session)
    body = replayed(http, keys, made["check_id"])
    assert outcome(body["as_of_then"]) == ("UNDETERMINED", ["DATA_UNAVAILABLE"])
    assert outcome(body["as_of_now"]) == ("NOT_ELIGIBLE", ["NIK_NOT_FOUND"])
    assert body["same_as_recorded"] is True


def test_two_people_with_the_same_mask_each_replay_as_themselves(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    assert mask(TWIN) == mask(RESIDENT)
    population = add_snapshot(session, "population")
    jamkesda = add_snapshot(session, "jamkesda")
    add_person(session, population, RESIDENT)
    add_membership(session, jamkesda, RESIDENT)
    add_person(session, population, TWIN, status="PINDAH")
    add_membership(session, jamkesda, TWIN)
    session.commit()
    for nik, expected in ((RESIDENT, ("ELIGIBLE", [])), (TWIN, ("NOT_ELIGIBLE", ["NOT_RESIDENT"]))):
        body = replayed(http, keys, post_check(http, keys["desk"], nik=nik)["check_id"])
        assert outcome(body["as_of_then"]) == expected
        assert outcome(body["as_of_now"]) == expected
        assert body["same_as_recorded"] is True


def test_a_nik_only_in_the_jkn_list_is_recovered_from_it(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    add_snapshot(session, "population")
    add_jkn(session, add_snapshot(session, "jkn"), TWIN)
    session.commit()
    made = post_check(http, keys["desk"], nik=TWIN)
    assert made["decision"] == "COVERED_BY_JKN"
    body = replayed(http, keys, made["check_id"])
    assert outcome(body["as_of_then"]) == ("COVERED_BY_JKN", ["JKN_ACTIVE"])
    assert body["same_as_recorded"] is True


def test_a_record_that_the_data_no_longer_explains_is_not_the_same(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    add_people(session)
    made = post_check(http, keys["desk"], nik=MOVED_OUT)
    record = session.scalars(select(CheckRecord)).one()
    forged = add_record(
        session,
        client_of(session, keys["desk"]),
        nik=MOVED_OUT,
        decision="ELIGIBLE",
        service_date=record.service_date,
        population_snapshot_id=record.population_snapshot_id,
        jamkesda_snapshot_id=record.jamkesda_snapshot_id,
    )
    assert made["decision"] == "NOT_ELIGIBLE"
    body = replayed(http, keys, forged.check_id)
    assert outcome(body["recorded"]) == ("ELIGIBLE", [])
    assert outcome(body["as_of_then"]) == ("NOT_ELIGIBLE", ["NOT_RESIDENT"])
    assert body["same_as_recorded"] is False


def test_a_refused_request_is_not_replayable(http: FlaskClient, keys: dict[str, str]) -> None:
    refused = post_check(http, keys["desk"], nik="6402-0101-0190-0000")
    assert refused["code"] == "INVALID_NIK"
    response = replay(http, keys, refused["check_id"])
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "NOT_REPLAYABLE"


def test_a_mistyped_reference_is_a_422_and_an_unknown_one_a_404(
    http: FlaskClient, keys: dict[str, str]
) -> None:
    check_id = post_check(http, keys["desk"], nik=UNKNOWN)["check_id"]
    typo = check_id[:-1] + ("0" if check_id[-1] != "0" else "1")
    for wrong in (typo, "K7QM-3XD9", "hello"):
        response = replay(http, keys, wrong)
        assert response.status_code == 422
        assert response.get_json()["code"] == "INVALID_CHECK_ID"
    response = replay(http, keys, new_check_id())
    assert response.status_code == 404
    assert response.get_json()["code"] == "CHECK_NOT_FOUND"
    assert replay(http, keys, check_id.lower().replace("-", "")).status_code == 200


def test_the_replay_request_is_in_the_access_log(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    check_id = post_check(http, keys["desk"], nik=RESIDENT)["check_id"]
    replayed(http, keys, check_id)
    entries = http.get("/v1/audit/access", headers=bearer(keys["auditor"])).get_json()["items"]
    [entry] = [e for e in entries if e["path"].endswith("/replay")]
    assert entry["path"] == f"/v1/audit/checks/{check_id}/replay"
    assert entry["status"] == 200
    assert entry["client"]["id"] == client_of(session, keys["auditor"]).id
    stored = session.scalars(select(AccessRecord)).all()
    assert all(RESIDENT not in f"{e.path}?{e.query}" for e in stored)


@pytest.fixture
def older_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bundled set holding the product's policy and an older one that asked a year's stay."""
    bundled = tmp_path / "policies"
    bundled.mkdir()
    current = (BUNDLED_DIR / f"{DEFAULT_VERSION}.toml").read_text("utf-8")
    bundled.joinpath(f"{DEFAULT_VERSION}.toml").write_text(current, "utf-8")
    older = current.replace(f'"{DEFAULT_VERSION}"', f'"{OLDER_POLICY}"')
    older = older.replace("min_residency_days = 90", "min_residency_days = 365")
    assert older.count("365") == 1
    bundled.joinpath(f"{OLDER_POLICY}.toml").write_text(older, "utf-8")
    monkeypatch.setattr(policy_module, "BUNDLED_DIR", bundled)


def recorded_under(session: Session, keys: dict[str, str], version: str) -> str:
    """A record decided under ``version`` for a resident of 200 days; its reference."""
    population = add_snapshot(session, "population")
    jamkesda = add_snapshot(session, "jamkesda")
    add_person(session, population, RESIDENT, domiciled_since=TODAY - timedelta(days=200))
    add_membership(session, jamkesda, RESIDENT)
    session.commit()
    record = add_record(
        session,
        client_of(session, keys["desk"]),
        decision="NOT_ELIGIBLE",
        reasons=["RESIDENCY_TOO_SHORT"],
        service_date=TODAY,
        policy_version=version,
        population_snapshot_id=population.id,
        jamkesda_snapshot_id=jamkesda.id,
    )
    return record.check_id


@pytest.mark.usefixtures("older_policy")
def test_a_record_of_an_older_policy_replays_under_that_policy(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    body = replayed(http, keys, recorded_under(session, keys, OLDER_POLICY))
    assert outcome(body["as_of_then"]) == ("NOT_ELIGIBLE", ["RESIDENCY_TOO_SHORT"])
    assert body["same_as_recorded"] is True
    assert outcome(body["as_of_now"]) == ("ELIGIBLE", [])


def test_a_record_of_an_unknown_policy_version_is_a_422(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    response = replay(http, keys, recorded_under(session, keys, "kukar-1999.9"))
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["code"] == "POLICY_UNAVAILABLE"
    assert problem["policy_version"] == "kukar-1999.9"


def test_the_configured_policy_wins_over_a_bundled_one_of_its_version() -> None:
    configured = load_policy()
    assert policy_of(configured.version, configured) is configured
    with pytest.raises(PolicyUnavailable):
        policy_of("kukar-1999.9", configured)


@pytest.mark.parametrize(
    ("add_row", "source"),
    [(add_person, "population"), (add_membership, "jamkesda"), (add_jkn, "jkn")],
)
def test_a_nik_is_recovered_from_whichever_list_holds_it(
    session: Session, add_row: Callable[[Session, Snapshot, str], object], source: str
) -> None:
    add_row(session, add_snapshot(session, source), TWIN)
    session.flush()
    assert recover_nik(session, registry_hash(TWIN), KEY) == TWIN
    assert recover_nik(session, registry_hash(RESIDENT), KEY) is None
    assert recover_nik(session, None, KEY) is None


def test_a_nik_is_recovered_from_any_version_of_its_rows(session: Session) -> None:
    closed = add_person(session, add_snapshot(session, "population", date(2026, 1, 1)), TWIN)
    closed.valid_to = add_snapshot(session, "population").id
    session.flush()
    assert recover_nik(session, registry_hash(TWIN), KEY) == TWIN


def test_a_nik_is_recovered_only_with_the_key_it_was_hashed_with(session: Session) -> None:
    add_person(session, add_snapshot(session, "population"), RESIDENT)
    session.flush()
    hashed = nik_hash(KEY, RESIDENT)
    assert recover_nik(session, hashed, KEY) == RESIDENT
    assert recover_nik(session, nik_hash(OTHER_KEY, RESIDENT), OTHER_KEY) is None
    record_key(session, KEY)
    with pytest.raises(RehashNeeded):
        recover_nik(session, nik_hash(OTHER_KEY, RESIDENT), OTHER_KEY)
