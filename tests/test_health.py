"""Service endpoints without a key: liveness, readiness and the OpenAPI document."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, event

from service import create_app
from service.config import Settings
from service.db import make_engine
from service.policy import load_policy
from tests.conftest import TEST_LEDGER_VERIFIER_KEY, TEST_NIK_HASH_KEY

JAMKESDA = str(Path(sys.executable).with_name("jamkesda"))
COMMITTED_OPENAPI = Path(__file__).resolve().parent.parent / "openapi.yaml"
# Nothing listens on port 1: connecting is refused at once.
UNREACHABLE_URL = "postgresql://postgres@127.0.0.1:1/x"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def app_on(url: str) -> tuple[Flask, Engine]:
    """An app whose database is ``url``, and its engine (the caller disposes of it)."""
    engine = make_engine(url)
    settings = Settings(url, TEST_NIK_HASH_KEY.encode(), load_policy(), TEST_LEDGER_VERIFIER_KEY)
    return create_app(settings, engine), engine


@pytest.fixture
def unreachable() -> Iterator[FlaskClient]:
    """A test client of an app whose database cannot be reached."""
    app, engine = app_on(UNREACHABLE_URL)
    try:
        yield app.test_client()
    finally:
        engine.dispose()


@pytest.fixture
def never_migrated(tmp_path: Path) -> Iterator[FlaskClient]:
    """A test client of an app on an empty SQLite file that was never migrated."""
    app, engine = app_on(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        yield app.test_client()
    finally:
        engine.dispose()


def test_healthz_answers_200_when_the_database_is_unreachable(unreachable: FlaskClient) -> None:
    response = unreachable.get("/healthz")
    assert response.status_code == 200
    assert response.is_json


def test_healthz_does_not_touch_the_database(http: FlaskClient, engine: Engine) -> None:
    checkouts: list[Any] = []

    def count(*_args: Any) -> None:
        checkouts.append(None)

    event.listen(engine, "checkout", count)
    try:
        assert http.get("/healthz").status_code == 200
    finally:
        event.remove(engine, "checkout", count)
    assert checkouts == []


def test_readyz_answers_200_on_the_migrated_database(http: FlaskClient) -> None:
    response = http.get("/readyz")
    assert response.status_code == 200
    assert response.is_json


def test_readyz_answers_503_database_unavailable_when_unreachable(
    unreachable: FlaskClient,
) -> None:
    response = unreachable.get("/readyz")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["code"] == "DATABASE_UNAVAILABLE"
    assert problem["status"] == 503


def test_readyz_answers_503_not_migrated_on_a_never_migrated_database(
    never_migrated: FlaskClient,
) -> None:
    response = never_migrated.get("/readyz")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["code"] == "NOT_MIGRATED"
    assert problem["detail"].startswith("Basis data belum dimigrasi, seharusnya pada migrasi ")
    assert problem["detail"].endswith(": jalankan `jamkesda db upgrade`.")


def test_openapi_yaml_serves_the_committed_file(http: FlaskClient) -> None:
    response = http.get("/openapi.yaml")
    assert response.status_code == 200
    assert response.mimetype == "application/yaml"
    assert response.get_data(as_text=True) == COMMITTED_OPENAPI.read_text("utf-8")


def test_openapi_yaml_needs_no_database(unreachable: FlaskClient) -> None:
    assert unreachable.get("/openapi.yaml").status_code == 200


def test_committed_openapi_is_what_the_code_generates_now(
    env: dict[str, str], tmp_path: Path
) -> None:
    generated = tmp_path / "openapi.yaml"
    result = subprocess.run(
        [JAMKESDA, "openapi", "write", str(generated)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert generated.read_text("utf-8") == COMMITTED_OPENAPI.read_text("utf-8"), (
        "openapi.yaml is out of date with the code: run `make openapi` and commit the result"
    )


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each operation of the document, named like ``GET /healthz``."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield f"{method.upper()} {path}", operation


def test_committed_openapi_is_a_valid_openapi_3_document_of_the_endpoints() -> None:
    document = yaml.safe_load(COMMITTED_OPENAPI.read_text("utf-8"))
    assert str(document["openapi"]).startswith("3.")
    assert document["info"]["title"]
    assert document["info"]["version"]
    paths = document["paths"]
    for path in ("/v1/checks", "/v1/checks/{check_id}", "/healthz", "/readyz", "/openapi.yaml"):
        assert path in paths
    assert "post" in paths["/v1/checks"]
    assert "get" in paths["/v1/checks/{check_id}"]
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }
    # OpenAPI 3.0 §4.7.10: "responses" is required in every Operation Object.
    missing = [name for name, operation in operations(document) if not operation.get("responses")]
    assert missing == [], "operations without a 'responses' member"
    if importlib.util.find_spec("openapi_spec_validator") is not None:
        validator: Any = importlib.import_module("openapi_spec_validator")
        validator.validate(document)


def test_every_operation_documents_its_success_answer() -> None:
    document = yaml.safe_load(COMMITTED_OPENAPI.read_text("utf-8"))
    expected = {
        "POST /v1/checks": "201",
        "GET /v1/checks/{check_id}": "200",
        "GET /healthz": "200",
        "GET /readyz": "200",
        "GET /openapi.yaml": "200",
    }
    documented = {
        name: sorted(str(status) for status in operation.get("responses", {}))
        for name, operation in operations(document)
    }
    undocumented = {
        name: documented.get(name)
        for name, status in expected.items()
        if status not in documented.get(name, [])
    }
    assert undocumented == {}, "operations whose success status is not documented"


def test_protected_operations_document_401_and_403() -> None:
    document = yaml.safe_load(COMMITTED_OPENAPI.read_text("utf-8"))
    for name, operation in operations(document):
        if operation.get("security"):
            assert {"401", "403"} <= {str(status) for status in operation["responses"]}, name
