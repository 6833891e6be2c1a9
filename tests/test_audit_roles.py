"""Only auditors reach /v1/audit/ and /v1/ledger/ (SPEC §3), and nothing there changes a record."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import CheckRecord
from service.clients import KEY_PREFIX, resolve_key, revoke_client
from tests.audit_records import UNKNOWN, post_check
from tests.conftest import bearer
from tests.factories import add_key
from tests.ledger_records import sequence_all

ROOT = Path(__file__).resolve().parent.parent
ENDPOINTS = [
    "/v1/audit/checks",
    "/v1/audit/checks/{check_id}",
    "/v1/audit/checks/{check_id}/replay",
    "/v1/audit/checks.csv",
    "/v1/audit/stats?group_by=facility",
    "/v1/audit/snapshots",
    "/v1/audit/access",
    "/v1/ledger/checkpoint",
    "/v1/ledger/key",
    "/v1/ledger/quarantine",
]
EXPECTED = {
    "auditor": 200,
    "desk": 403,
    "integration": 403,
    "admin": 403,
    "none": 401,
    "malformed": 401,
    "unknown": 401,
    "revoked": 401,
}


@pytest.fixture
def headers(session: Session, keys: dict[str, str]) -> dict[str, dict[str, str]]:
    """The request headers of every credential; "revoked" is a revoked auditor key."""
    revoked = add_key(session, "auditor")
    session.commit()
    client = resolve_key(session, revoked)
    assert client is not None
    revoke_client(session, client.id)
    session.commit()
    result = {role: bearer(keys[role]) for role in ("auditor", "desk", "integration", "admin")}
    result["none"] = {}
    result["malformed"] = {"Authorization": f"Token {keys['auditor']}"}
    result["unknown"] = bearer(KEY_PREFIX + secrets.token_urlsafe(32))
    result["revoked"] = bearer(revoked)
    return result


@pytest.mark.parametrize("credential", list(EXPECTED))
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_only_an_auditor_key_gets_in(
    http: FlaskClient,
    keys: dict[str, str],
    headers: dict[str, dict[str, str]],
    engine: Engine,
    endpoint: str,
    credential: str,
) -> None:
    check_id = post_check(http, keys["desk"], nik=UNKNOWN)["check_id"]
    # The sequencer signs the first checkpoint, which the API serves (SPEC §13).
    sequence_all(engine, checkpoint=False)
    response = http.get(endpoint.replace("{check_id}", check_id), headers=headers[credential])
    status = EXPECTED[credential]
    assert response.status_code == status, response.get_data(as_text=True)
    if status != 200:
        assert response.mimetype == "application/problem+json"
        code = "UNAUTHENTICATED" if status == 401 else "FORBIDDEN"
        assert response.get_json()["code"] == code


@pytest.mark.parametrize("credential", ["none", "desk"])
def test_the_key_is_checked_before_the_parameters(
    http: FlaskClient, headers: dict[str, dict[str, str]], credential: str
) -> None:
    response = http.get("/v1/audit/checks?limit=0&nik=1", headers=headers[credential])
    assert response.status_code == EXPECTED[credential]


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "POST"])
@pytest.mark.parametrize(
    "path",
    ["/v1/audit/checks/{check_id}", "/v1/audit/checks/{check_id}/replay", "/v1/audit/checks"],
)
def test_no_endpoint_changes_or_removes_a_record(
    http: FlaskClient, keys: dict[str, str], session: Session, method: str, path: str
) -> None:
    made = post_check(http, keys["desk"], nik=UNKNOWN)
    before = session.scalars(select(CheckRecord)).one()
    response = http.open(
        path.replace("{check_id}", made["check_id"]),
        method=method,
        json={"decision": "ELIGIBLE"},
        headers=bearer(keys["auditor"]),
    )
    assert response.status_code == 405
    session.expire_all()
    after = session.scalars(select(CheckRecord)).one()
    assert (after.check_id, after.decision, after.reasons) == (
        before.check_id,
        before.decision,
        before.reasons,
    )


# update(...)/delete(...) statements, Session.delete, or a query's bulk .update()/.delete().
CHANGES = re.compile(
    r"\b(update|delete)\(\s*(CheckRecord|AccessRecord)|session\.delete\(|\.(update|delete)\(\s*[{)]"
)


def test_no_code_path_updates_or_deletes_a_check_record_or_an_access_entry() -> None:
    sources = [*ROOT.joinpath("service").rglob("*.py"), *ROOT.joinpath("models").rglob("*.py")]
    offending = [
        f"{path.relative_to(ROOT)}: {line.strip()}"
        for path in sources
        for line in path.read_text("utf-8").splitlines()
        if CHANGES.search(line)
        and ("CheckRecord" in line or "AccessRecord" in line or "session" in line)
    ]
    assert offending == []


def documented() -> dict[str, Any]:
    """The committed OpenAPI document."""
    return yaml.safe_load(ROOT.joinpath("openapi.yaml").read_text("utf-8"))  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("path", "parameters"),
    [
        (
            "/v1/audit/checks",
            {
                "nik",
                "facility",
                "client",
                "operator",
                "decision",
                "reason",
                "batch",
                "from",
                "to",
                "limit",
                "cursor",
            },
        ),
        (
            "/v1/audit/checks.csv",
            {"nik", "facility", "client", "operator", "decision", "reason", "batch", "from", "to"},
        ),
        ("/v1/audit/checks/{check_id}", {"check_id"}),
        ("/v1/audit/checks/{check_id}/replay", {"check_id"}),
        (
            "/v1/audit/stats",
            {
                "nik",
                "facility",
                "client",
                "operator",
                "decision",
                "reason",
                "batch",
                "from",
                "to",
                "group_by",
            },
        ),
        ("/v1/audit/snapshots", set()),
        ("/v1/audit/access", {"limit", "cursor"}),
        ("/v1/ledger/checkpoint", set()),
        ("/v1/ledger/key", set()),
        ("/v1/ledger/proof/inclusion", {"check_id", "tree_size"}),
        ("/v1/ledger/proof/consistency", {"first", "second"}),
        ("/v1/ledger/entries", {"start", "end"}),
        ("/v1/ledger/quarantine", {"limit", "cursor"}),
    ],
)
def test_the_openapi_document_describes_every_audit_endpoint(
    path: str, parameters: set[str]
) -> None:
    operation = documented()["paths"][path]["get"]
    assert {"200", "401", "403"} <= {str(status) for status in operation["responses"]}
    assert operation["security"] == [{"bearerAuth": []}]
    named = {parameter["name"] for parameter in operation.get("parameters", [])}
    named |= {parameter["name"] for parameter in documented()["paths"][path].get("parameters", [])}
    assert named == parameters
