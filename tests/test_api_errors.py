"""Every bad input gets problem+json with a stable code; a fault is a 503, never a denial."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import CheckRecord
from service import create_app
from service.config import Settings
from service.db import make_engine
from tests.conftest import bearer
from tests.factories import add_membership, add_person, add_snapshot, refusing_inserts

RESIDENT = "6402014101900001"


def assert_problem(response: object, status: int, code: str) -> None:
    """The response is problem+json with this status and code."""
    assert response.status_code == status  # type: ignore[attr-defined]
    assert response.mimetype == "application/problem+json"  # type: ignore[attr-defined]
    body = response.get_json()  # type: ignore[attr-defined]
    assert body["status"] == status
    assert body["code"] == code
    assert body["title"]
    assert body["detail"]
    assert body["type"]


def test_body_that_is_not_json_is_400(http: FlaskClient, keys: dict[str, str]) -> None:
    response = http.post(
        "/v1/checks", data="{nik: 1", content_type="application/json", headers=bearer(keys["desk"])
    )
    assert_problem(response, 400, "MALFORMED_JSON")


def test_other_content_type_is_415(http: FlaskClient, keys: dict[str, str]) -> None:
    response = http.post(
        "/v1/checks",
        data="nik=6402014101900001",
        headers=bearer(keys["desk"]),
        content_type="application/x-www-form-urlencoded",
    )
    assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_body_over_64_kib_is_413(http: FlaskClient, keys: dict[str, str]) -> None:
    padding = "x" * (64 * 1024)
    response = http.post(
        "/v1/checks",
        data=f'{{"nik": "{RESIDENT}", "operator_id": "{padding}"}}',
        content_type="application/json",
        headers=bearer(keys["desk"]),
    )
    assert_problem(response, 413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize("body", ["[1, 2]", '"6402014101900001"', "null", "12"])
def test_json_that_is_not_an_object_is_422(
    http: FlaskClient, keys: dict[str, str], body: str
) -> None:
    response = http.post(
        "/v1/checks", data=body, content_type="application/json", headers=bearer(keys["desk"])
    )
    assert response.status_code in (400, 422)
    assert response.mimetype == "application/problem+json"


def test_nik_of_the_wrong_type_is_invalid_nik(http: FlaskClient, keys: dict[str, str]) -> None:
    response = http.post("/v1/checks", json={"nik": 6402014101900001}, headers=bearer(keys["desk"]))
    assert_problem(response, 422, "INVALID_NIK")


def test_missing_nik_is_invalid_nik(http: FlaskClient, keys: dict[str, str]) -> None:
    response = http.post("/v1/checks", json={}, headers=bearer(keys["desk"]))
    assert_problem(response, 422, "INVALID_NIK")


def test_unknown_path_is_404(http: FlaskClient) -> None:
    assert_problem(http.get("/v1/nothing"), 404, "NOT_FOUND")


def test_wrong_method_is_405_with_allow(http: FlaskClient, keys: dict[str, str]) -> None:
    response = http.delete("/v1/checks", headers=bearer(keys["desk"]))
    assert_problem(response, 405, "METHOD_NOT_ALLOWED")
    assert "POST" in response.headers["Allow"]


@pytest.fixture
def unreachable_http(settings: Settings) -> Iterator[FlaskClient]:
    """An app whose database does not answer (nothing listens on port 1)."""
    engine = make_engine("postgresql://postgres@127.0.0.1:1/nothing")
    yield create_app(settings, engine).test_client()
    engine.dispose()


def test_database_down_is_503_not_a_denial(unreachable_http: FlaskClient) -> None:
    response = unreachable_http.post(
        "/v1/checks", json={"nik": RESIDENT}, headers=bearer("jk_some-key")
    )
    assert_problem(response, 503, "DATABASE_UNAVAILABLE")
    assert "decision" not in response.get_json()


@pytest.fixture
def refusing_records(engine: Engine, session: Session) -> Iterator[None]:
    """Make the database refuse every new check record, as a full disk would."""
    with refusing_inserts(engine, session, "check_records"):
        yield


def test_no_decision_leaves_without_its_record(
    http: FlaskClient, keys: dict[str, str], session: Session, refusing_records: None
) -> None:
    population = add_snapshot(session, "population")
    jamkesda = add_snapshot(session, "jamkesda")
    add_person(session, population, RESIDENT)
    add_membership(session, jamkesda, RESIDENT)
    session.commit()
    response = http.post("/v1/checks", json={"nik": RESIDENT}, headers=bearer(keys["desk"]))
    assert_problem(response, 503, "DATABASE_UNAVAILABLE")
    body = response.get_json()
    assert "decision" not in body
    assert "check_id" not in body
    invalid = http.post("/v1/checks", json={"nik": "123"}, headers=bearer(keys["desk"]))
    assert_problem(invalid, 503, "DATABASE_UNAVAILABLE")
    assert session.scalar(select(func.count()).select_from(CheckRecord)) == 0
