"""Who may call what (SPEC §3): every endpoint against every role and every bad credential."""

from __future__ import annotations

import secrets

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from models import CheckRecord
from service.clients import KEY_PREFIX, resolve_key, revoke_client
from tests.conftest import bearer
from tests.factories import add_key

NIK = "6402014101900001"

# Each role's own request to each endpoint, and what SPEC §3 and §5 promise it gets.
# "revoked" is a desk key that was revoked; "malformed" an Authorization header that is
# not a bearer key; "unknown" a well-formed key that no client holds.
CREDENTIALS = ("desk", "integration", "auditor", "admin", "none", "malformed", "unknown", "revoked")
EXPECTED = {
    "POST /v1/checks": {
        "desk": 201,
        "integration": 201,
        "auditor": 403,
        "admin": 403,
        "none": 401,
        "malformed": 401,
        "unknown": 401,
        "revoked": 401,
    },
    "GET /v1/checks/{check_id}": {
        "desk": 200,
        "integration": 200,
        "auditor": 403,
        "admin": 403,
        "none": 401,
        "malformed": 401,
        "unknown": 401,
        "revoked": 401,
    },
    "GET /healthz": dict.fromkeys(CREDENTIALS, 200),
    "GET /readyz": dict.fromkeys(CREDENTIALS, 200),
    "GET /openapi.yaml": dict.fromkeys(CREDENTIALS, 200),
}
MATRIX = [
    pytest.param(endpoint, credential, status, id=f"{endpoint} as {credential}")
    for endpoint, row in EXPECTED.items()
    for credential, status in row.items()
]


@pytest.fixture
def revoked_key(session: Session, keys: dict[str, str]) -> str:
    """A desk key of facility 1040001 whose client was revoked through the clients module."""
    key = add_key(session, "desk", "1040001")
    session.commit()
    client = resolve_key(session, key)
    assert client is not None
    revoke_client(session, client.id)
    session.commit()
    return key


@pytest.fixture
def headers(keys: dict[str, str], revoked_key: str) -> dict[str, dict[str, str]]:
    """The request headers of every credential of the matrix."""
    result = {role: bearer(keys[role]) for role in ("desk", "integration", "auditor", "admin")}
    result["none"] = {}
    result["malformed"] = {"Authorization": f"Token {keys['desk']}"}
    result["unknown"] = bearer(KEY_PREFIX + secrets.token_urlsafe(32))
    result["revoked"] = bearer(revoked_key)
    return result


@pytest.fixture
def own_checks(http: FlaskClient, keys: dict[str, str]) -> dict[str, str]:
    """A check made by each facility role, to be read back: role -> check_id."""
    result = {}
    for role in ("desk", "integration"):
        response = http.post("/v1/checks", json={"nik": NIK}, headers=bearer(keys[role]))
        assert response.status_code == 201
        result[role] = response.get_json()["check_id"]
    return result


def call(http: FlaskClient, endpoint: str, headers: dict[str, str], check_id: str) -> TestResponse:
    """Send the matrix's request to ``endpoint`` with ``headers``."""
    method, path = endpoint.split(" ")
    if method == "POST":
        return http.post(path, json={"nik": NIK}, headers=headers)
    return http.get(path.replace("{check_id}", check_id), headers=headers)


def count_records(session: Session) -> int:
    """How many check records exist."""
    return session.scalar(select(func.count()).select_from(CheckRecord)) or 0


@pytest.mark.parametrize(("endpoint", "credential", "status"), MATRIX)
def test_each_credential_gets_the_status_its_role_allows(
    http: FlaskClient,
    session: Session,
    headers: dict[str, dict[str, str]],
    own_checks: dict[str, str],
    endpoint: str,
    credential: str,
    status: int,
) -> None:
    # Facility roles read their own facility's check; the others try the desk's.
    check_id = own_checks.get(credential, own_checks["desk"])
    records_before = count_records(session)
    response = call(http, endpoint, headers[credential], check_id)
    assert response.status_code == status, response.get_data(as_text=True)
    if status == 401:
        assert response.headers["WWW-Authenticate"].lower().startswith("bearer")
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["code"] == "UNAUTHENTICATED"
    elif status == 403:
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["code"] == "FORBIDDEN"
        assert "WWW-Authenticate" not in response.headers
    elif endpoint.startswith("GET /v1/checks/"):
        assert response.get_json()["check_id"] == check_id
    elif endpoint == "POST /v1/checks":
        assert response.get_json()["decision"] == "UNDETERMINED"
    # A refused request makes no check; an accepted POST makes exactly one.
    made = 1 if endpoint == "POST /v1/checks" and status == 201 else 0
    assert count_records(session) == records_before + made


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer",
        "Bearer ",
        "Basic ZGVzazpzZWNyZXQ=",
        "{key}",
        "Token {key}",
        "Bearer{key}",
    ],
    ids=["bearer-no-key", "bearer-blank", "basic", "key-without-scheme", "token", "no-space"],
)
def test_an_authorization_header_that_is_not_a_bearer_key_is_401(
    http: FlaskClient, keys: dict[str, str], session: Session, authorization: str
) -> None:
    value = authorization.format(key=keys["desk"])
    response = http.post("/v1/checks", json={"nik": NIK}, headers={"Authorization": value})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].lower().startswith("bearer")
    assert response.get_json()["code"] == "UNAUTHENTICATED"
    assert count_records(session) == 0


def test_the_bearer_scheme_name_is_case_insensitive(
    http: FlaskClient, keys: dict[str, str]
) -> None:
    # RFC 9110 §11.1: the authentication scheme is case-insensitive.
    headers = {"Authorization": f"bearer {keys['desk']}"}
    assert http.post("/v1/checks", json={"nik": NIK}, headers=headers).status_code == 201


def test_a_key_revoked_after_use_stops_working_at_once(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    key = add_key(session, "integration", "1040002")
    session.commit()
    assert http.post("/v1/checks", json={"nik": NIK}, headers=bearer(key)).status_code == 201
    client = resolve_key(session, key)
    assert client is not None
    revoke_client(session, client.id)
    session.commit()
    response = http.post("/v1/checks", json={"nik": NIK}, headers=bearer(key))
    assert response.status_code == 401
    assert response.get_json()["code"] == "UNAUTHENTICATED"


def test_an_unknown_key_is_401_before_the_body_is_looked_at(
    http: FlaskClient, session: Session, keys: dict[str, str]
) -> None:
    response = http.post(
        "/v1/checks", json={"nik": "not a nik"}, headers=bearer(KEY_PREFIX + "x" * 43)
    )
    assert response.status_code == 401
    assert count_records(session) == 0


def test_a_wrong_role_is_403_before_the_body_is_looked_at(
    http: FlaskClient, session: Session, keys: dict[str, str]
) -> None:
    response = http.post("/v1/checks", json={"nik": "not a nik"}, headers=bearer(keys["auditor"]))
    assert response.status_code == 403
    assert count_records(session) == 0


@pytest.mark.parametrize(("role", "facility"), [("desk", "1040001"), ("integration", "1040002")])
def test_a_check_is_made_at_the_keys_facility(
    http: FlaskClient, keys: dict[str, str], session: Session, role: str, facility: str
) -> None:
    response = http.post("/v1/checks", json={"nik": NIK}, headers=bearer(keys[role]))
    assert response.status_code == 201
    record = session.scalars(select(CheckRecord)).one()
    assert record.check_id == response.get_json()["check_id"]
    assert record.facility_code == facility


@pytest.mark.parametrize("field", ["facility", "facility_code"])
def test_a_facility_in_the_body_is_an_unknown_field_and_the_record_keeps_the_keys(
    http: FlaskClient, keys: dict[str, str], session: Session, field: str
) -> None:
    response = http.post(
        "/v1/checks", json={"nik": NIK, field: "1040003"}, headers=bearer(keys["desk"])
    )
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["code"] == "INVALID_REQUEST"
    assert list(problem["errors"]) == [field]
    record = session.scalars(select(CheckRecord)).one()
    assert record.check_id == problem["check_id"]
    assert record.decision == "INVALID_REQUEST"
    assert record.facility_code == "1040001"
    facility_3 = (
        select(func.count()).select_from(CheckRecord).where(CheckRecord.facility_code == "1040003")
    )
    assert session.scalar(facility_3) == 0
