"""``Idempotency-Key`` on POST /v1/checks: a retry gets the first answer and records nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from models import CheckRecord, RememberedAnswer
from service import clock
from service.check_ids import new_check_id
from tests.audit_records import client_of
from tests.conftest import RESIDENT, bearer
from tests.factories import refusing_inserts

NIK_BODY = {"nik": RESIDENT, "operator_id": "rina"}


def keyed(key: str, idempotency_key: str) -> dict[str, str]:
    """The headers of a check with a client key and an Idempotency-Key."""
    return {**bearer(key), "Idempotency-Key": idempotency_key}


def record_count(session: Session) -> int:
    """How many check records exist."""
    session.expire_all()
    return session.scalar(select(func.count()).select_from(CheckRecord)) or 0


@pytest.mark.parametrize(
    "header",
    ["", "k" * 65, "kunci\x01", "kunci\tpemeriksaan", "kunci-\u00e9", "kunci-\u4e00"],
    ids=["empty", "65-characters", "control", "tab", "latin-1", "non-latin"],
)
def test_a_malformed_key_is_refused_and_records_nothing(
    http: FlaskClient, keys: dict[str, str], session: Session, header: str
) -> None:
    response = http.post("/v1/checks", json=NIK_BODY, headers=keyed(keys["desk"], header))
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "INVALID_IDEMPOTENCY_KEY"
    assert record_count(session) == 0


@pytest.mark.parametrize("header", ["k" * 64, "a", "pesan 2026-12-06/REG:0042 #1 ~!"])
def test_any_printable_ascii_key_of_1_to_64_characters_is_taken(
    http: FlaskClient, keys: dict[str, str], registry: Any, header: str
) -> None:
    response = http.post("/v1/checks", json=NIK_BODY, headers=keyed(keys["desk"], header))
    assert response.status_code == 201, response.get_json()


def test_a_retry_gets_the_first_answer_again_and_adds_no_record(
    http: FlaskClient, keys: dict[str, str], registry: Any, session: Session
) -> None:
    headers = keyed(keys["desk"], "REG-0042-visit-1")
    first = http.post("/v1/checks", json=NIK_BODY, headers=headers)
    again = http.post("/v1/checks", json=NIK_BODY, headers=headers)
    assert first.status_code == again.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.mimetype == "application/json"
    assert record_count(session) == 1


def test_a_refused_request_is_remembered_with_its_recorded_reference(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    headers = keyed(keys["desk"], "typo-1")
    first = http.post("/v1/checks", json={"nik": "6402"}, headers=headers)
    again = http.post("/v1/checks", json={"nik": "6402"}, headers=headers)
    assert first.status_code == again.status_code == 422
    assert again.mimetype == "application/problem+json"
    assert again.get_json()["code"] == "INVALID_NIK"
    assert again.get_json()["check_id"] == first.get_json()["check_id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert record_count(session) == 1


def test_the_same_key_with_another_body_is_refused_and_records_nothing(
    http: FlaskClient, keys: dict[str, str], registry: Any, session: Session
) -> None:
    headers = keyed(keys["desk"], "visit-7")
    assert http.post("/v1/checks", json=NIK_BODY, headers=headers).status_code == 201
    other = http.post("/v1/checks", json={**NIK_BODY, "operator_id": "budi"}, headers=headers)
    assert other.status_code == 422
    assert other.get_json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert record_count(session) == 1


def test_the_body_bytes_are_the_fingerprint(
    http: FlaskClient, keys: dict[str, str], registry: Any
) -> None:
    """The same JSON spelled differently is another body (SPEC: a fingerprint of the bytes)."""
    headers = {**keyed(keys["desk"], "visit-8"), "Content-Type": "application/json"}
    first = http.post("/v1/checks", data=f'{{"nik": "{RESIDENT}"}}', headers=headers)
    spaced = http.post("/v1/checks", data=f'{{"nik":  "{RESIDENT}"}}', headers=headers)
    assert first.status_code == 201
    assert spaced.status_code == 422
    assert spaced.get_json()["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_another_clients_key_of_the_same_text_is_another_check(
    http: FlaskClient, keys: dict[str, str], registry: Any, session: Session
) -> None:
    mine = http.post("/v1/checks", json=NIK_BODY, headers=keyed(keys["desk"], "1"))
    theirs = http.post("/v1/checks", json=NIK_BODY, headers=keyed(keys["other_desk"], "1"))
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert mine.get_json()["check_id"] != theirs.get_json()["check_id"]
    assert record_count(session) == 2


def test_a_503_is_not_remembered_so_a_retry_decides_afresh(
    http: FlaskClient, keys: dict[str, str], registry: Any, session: Session, engine: Engine
) -> None:
    headers = keyed(keys["desk"], "after-the-fault")
    with refusing_inserts(engine, session, "check_records"):
        failed = http.post("/v1/checks", json=NIK_BODY, headers=headers)
    assert failed.status_code == 503
    assert failed.get_json()["code"] == "DATABASE_UNAVAILABLE"
    assert session.scalar(select(func.count()).select_from(RememberedAnswer)) == 0
    retried = http.post("/v1/checks", json=NIK_BODY, headers=headers)
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried.headers
    assert record_count(session) == 1


def remember_old_answer(session: Session, client_key: str, key: str, hours: float) -> None:
    """An answer to ``key`` remembered ``hours`` ago, with a body no real answer has."""
    session.execute(
        insert(RememberedAnswer).values(
            client_id=client_of(session, client_key).id,
            key=key,
            operation="checks",
            fingerprint="0" * 64,
            status=201,
            media_type="application/json",
            location=None,
            body='{"old": true}',
            created_at=clock.now() - timedelta(hours=hours),
        )
    )
    session.commit()


def test_an_answer_older_than_24_hours_is_forgotten_and_the_key_decides_afresh(
    http: FlaskClient, keys: dict[str, str], registry: Any, session: Session
) -> None:
    remember_old_answer(session, keys["desk"], "yesterday", hours=24.01)
    response = http.post("/v1/checks", json=NIK_BODY, headers=keyed(keys["desk"], "yesterday"))
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    assert record_count(session) == 1
    again = http.post("/v1/checks", json=NIK_BODY, headers=keyed(keys["desk"], "yesterday"))
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == response.get_data()


def test_an_answer_younger_than_24_hours_is_still_replayed(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    remember_old_answer(session, keys["desk"], "this-morning", hours=23.9)
    response = http.post("/v1/checks", json=NIK_BODY, headers=keyed(keys["desk"], "this-morning"))
    # The kept fingerprint is of another body, so the key counts as used: nothing decided.
    assert response.status_code == 422
    assert response.get_json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert record_count(session) == 0


def test_the_service_purges_expired_answers_itself(
    http: FlaskClient, keys: dict[str, str], registry: Any, session: Session
) -> None:
    for number in range(3):
        remember_old_answer(session, keys["other_desk"], f"old-{number}", hours=25)
    remember_old_answer(session, keys["other_desk"], "recent", hours=1)
    response = http.post("/v1/checks", json=NIK_BODY, headers=keyed(keys["desk"], "new"))
    assert response.status_code == 201
    # The purge runs once the answer has been sent, when the server closes the response.
    response.close()
    session.expire_all()
    kept = set(session.scalars(select(RememberedAnswer.key)))
    assert kept == {"recent", "new"}


def test_a_check_without_a_key_is_not_remembered(
    http: FlaskClient, keys: dict[str, str], registry: Any, session: Session
) -> None:
    for _ in range(2):
        assert (
            http.post("/v1/checks", json=NIK_BODY, headers=bearer(keys["desk"])).status_code == 201
        )
    assert record_count(session) == 2
    assert session.scalar(select(func.count()).select_from(RememberedAnswer)) == 0


def test_a_keyed_check_whose_drawn_reference_is_taken_draws_again(
    http: FlaskClient,
    keys: dict[str, str],
    registry: Any,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The record and its remembered answer carry the reference actually written."""
    taken = http.post("/v1/checks", json=NIK_BODY, headers=bearer(keys["desk"])).get_json()
    unused = new_check_id()
    draws = iter([taken["check_id"], unused])
    # PostgreSQL draws in the record-and-answer statement, SQLite in append_record.
    for module in ("service.idempotency.store", "service.records"):
        monkeypatch.setattr(f"{module}.new_check_id", lambda: next(draws))
    headers = keyed(keys["desk"], "after-a-clash")
    first = http.post("/v1/checks", json=NIK_BODY, headers=headers)
    assert first.status_code == 201
    assert first.get_json()["check_id"] == unused
    assert first.headers["Location"] == f"/v1/checks/{unused}"
    again = http.post("/v1/checks", json=NIK_BODY, headers=headers)
    assert again.get_json()["check_id"] == unused
    assert record_count(session) == 2
