"""GET /v1/audit/clients: every API client for auditors, without any key material."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AccessRecord, Client
from service import clock
from service.api.audit_schemas import ApiClientListSchema
from service.clients import KEY_PREFIX, key_hash, revoke_client
from tests.conftest import bearer
from tests.overview_records import HOSTILE, hostile_desk

WITA = ZoneInfo("Asia/Makassar")
ROOT = Path(__file__).resolve().parent.parent
MEMBERS = {"id", "name", "role", "facility", "created_at", "revoked_at"}
# The facilities of the ``keys`` fixture.
FACILITY_NAMES = {
    "1040001": "Puskesmas Loa Janan",
    "1040002": "RSUD A.M. Parikesit",
    "1040003": "Puskesmas Tenggarong",
}


def listed(http: FlaskClient, key: str) -> Any:
    """The auditor's answer to GET /v1/audit/clients, which must be a 200."""
    answer = http.get("/v1/audit/clients", headers=bearer(key))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def test_an_auditor_gets_every_client_oldest_first_with_exactly_the_promised_members(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    other = session.scalars(select(Client).where(Client.facility_code == "1040003")).one()
    revoke_client(session, other.id)
    session.commit()
    items = listed(http, keys["auditor"])["items"]
    assert all(set(item) == MEMBERS for item in items)
    stored = session.scalars(select(Client).order_by(Client.id)).all()
    assert items == [
        {
            "id": client.id,
            "name": client.name,
            "role": client.role,
            "facility": (
                {"code": client.facility_code, "name": FACILITY_NAMES[client.facility_code]}
                if client.facility_code
                else None
            ),
            "created_at": clock.local_iso(client.created_at, WITA),
            "revoked_at": (clock.local_iso(client.revoked_at, WITA) if client.revoked_at else None),
        }
        for client in stored
    ]
    assert [item["role"] for item in items] == ["desk", "integration", "desk", "auditor", "admin"]
    revoked = [item for item in items if item["revoked_at"]]
    assert [item["id"] for item in revoked] == [other.id]
    assert revoked[0]["revoked_at"].endswith("+08:00")
    assert items[0]["created_at"].endswith("+08:00")
    assert ApiClientListSchema().dump({"items": items}) == {"items": items}


def test_the_answer_holds_no_key_and_no_key_hash(http: FlaskClient, keys: dict[str, str]) -> None:
    text = http.get("/v1/audit/clients", headers=bearer(keys["auditor"])).get_data(as_text=True)
    for key in keys.values():
        assert key not in text
        assert key_hash(key) not in text
    assert "key" not in text


def test_a_name_with_markup_is_returned_as_it_was_given(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    hostile_desk(session)
    last = listed(http, keys["auditor"])["items"][-1]
    assert last["name"] == HOSTILE
    assert last["facility"] == {"code": "6402999", "name": HOSTILE}


@pytest.mark.parametrize(
    ("credential", "status", "code"),
    [
        ("desk", 403, "FORBIDDEN"),
        ("integration", 403, "FORBIDDEN"),
        ("admin", 403, "FORBIDDEN"),
        ("none", 401, "UNAUTHENTICATED"),
        ("unknown", 401, "UNAUTHENTICATED"),
    ],
)
def test_only_an_auditor_key_gets_the_list(
    http: FlaskClient, keys: dict[str, str], credential: str, status: int, code: str
) -> None:
    headers: dict[str, str] = {}
    if credential == "unknown":
        headers = bearer(KEY_PREFIX + secrets.token_urlsafe(32))
    elif credential != "none":
        headers = bearer(keys[credential])
    answer = http.get("/v1/audit/clients", headers=headers)
    assert answer.status_code == status
    assert answer.mimetype == "application/problem+json"
    assert answer.get_json()["code"] == code
    assert "items" not in answer.get_json()


def test_every_request_for_the_list_is_in_the_access_log(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    listed(http, keys["auditor"])
    http.get("/v1/audit/clients", headers=bearer(keys["desk"]))
    http.get("/v1/audit/clients")
    ids = {
        client.role + (client.facility_code or ""): client.id
        for client in session.scalars(select(Client))
    }
    logged = session.scalars(select(AccessRecord).order_by(AccessRecord.id)).all()
    assert [(e.method, e.path, e.status, e.client_id) for e in logged] == [
        ("GET", "/v1/audit/clients", 200, ids["auditor"]),
        ("GET", "/v1/audit/clients", 403, ids["desk1040001"]),
        ("GET", "/v1/audit/clients", 401, None),
    ]


def test_the_openapi_document_describes_the_list() -> None:
    document = yaml.safe_load(ROOT.joinpath("openapi.yaml").read_text("utf-8"))
    operation = document["paths"]["/v1/audit/clients"]["get"]
    assert operation["operationId"] == "listClients"
    assert operation["security"] == [{"bearerAuth": []}]
    assert {"200", "401", "403", "422", "429", "503"} == set(map(str, operation["responses"]))
    # It takes no parameter, and refuses one (422) rather than ignoring it.
    assert not operation.get("parameters")
    schema = document["components"]["schemas"]["ApiClient"]
    assert set(schema["properties"]) == MEMBERS
