"""A JSON body giving a member twice is refused at every JSON door: 400, nothing recorded.

Parsers disagree on which of two members wins, so a proxy and the service could see
different patients in one body; the service decides on neither.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import CheckRecord, RememberedAnswer
from service.api.requests import DuplicateMember, parse_json
from service.fhir.codes import FHIR_JSON
from tests.conftest import RESIDENT, bearer
from tests.test_fhir_api import SUBMIT, request_for

DECEASED = "6402010101800002"
CHECK = f'{{"nik": "{RESIDENT}", "nik": "{DECEASED}"}}'
CHECK_NESTED = f'{{"nik": "{RESIDENT}", "extra": {{"kode": 1, "kode": 2}}}}'
BATCH_TOP = f'{{"checks": [{{"nik": "{RESIDENT}"}}], "checks": [{{"nik": "{DECEASED}"}}]}}'
BATCH_ITEM = (
    f'{{"checks": [{{"nik": "{RESIDENT}"}}, '
    f'{{"nik": "{RESIDENT}", "service_type": "outpatient", "nik": "{DECEASED}"}}]}}'
)
FHIR_BODY = json.dumps(request_for(RESIDENT))
FHIR_IN_IDENTIFIER = FHIR_BODY.replace(
    f'"value": "{RESIDENT}"', f'"value": "{RESIDENT}", "value": "{DECEASED}"'
)
FHIR_TOP = FHIR_BODY.replace('"status": "active"', '"status": "active", "status": "cancelled"')

# (path, role, content type, body with a repeated member, that member, a valid body).
DOORS = [
    ("/v1/checks", "desk", "application/json", CHECK, "nik", f'{{"nik": "{RESIDENT}"}}'),
    ("/v1/checks", "desk", "application/json", CHECK_NESTED, "kode", f'{{"nik": "{RESIDENT}"}}'),
    (
        "/v1/checks/batch",
        "integration",
        "application/json",
        BATCH_TOP,
        "checks",
        f'{{"checks": [{{"nik": "{RESIDENT}"}}]}}',
    ),
    (
        "/v1/checks/batch",
        "integration",
        "application/json",
        BATCH_ITEM,
        "nik",
        f'{{"checks": [{{"nik": "{RESIDENT}"}}]}}',
    ),
    (SUBMIT, "integration", FHIR_JSON, FHIR_IN_IDENTIFIER, "value", FHIR_BODY),
    (SUBMIT, "integration", FHIR_JSON, FHIR_TOP, "status", FHIR_BODY),
]
DOOR_IDS = ["check", "check-nested", "batch", "batch-item", "fhir-identifier", "fhir-top"]


def count(session: Session, model: type[object]) -> int:
    """How many rows a table holds now."""
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


def code_and_detail(path: str, response: Any) -> tuple[str, str]:
    """The stable code and the Indonesian detail of an error, in the door's own format."""
    if path == SUBMIT:
        assert response.mimetype == FHIR_JSON
        outcome = response.get_json()
        OperationOutcome.model_validate(outcome)
        [issue] = outcome["issue"]
        assert (issue["severity"], issue["code"]) == ("error", "invalid")
        return issue["details"]["coding"][0]["code"], issue["diagnostics"]
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 400
    return problem["code"], problem["detail"]


@pytest.mark.parametrize(("path", "role", "media", "body", "member", "valid"), DOORS, ids=DOOR_IDS)
def test_a_member_given_twice_is_400_malformed_json_naming_it_and_records_nothing(
    http: FlaskClient,
    keys: dict[str, str],
    registry: Any,
    session: Session,
    path: str,
    role: str,
    media: str,
    body: str,
    member: str,
    valid: str,
) -> None:
    assert json.loads(body)  # Python's own parser takes the body, deciding on the last member.
    response = http.post(path, data=body, headers={**bearer(keys[role]), "Content-Type": media})
    assert response.status_code == 400
    assert code_and_detail(path, response) == (
        "MALFORMED_JSON",
        f'Anggota "{member}" muncul lebih dari sekali.',
    )
    assert count(session, CheckRecord) == 0


@pytest.mark.parametrize(("path", "role", "media", "body", "member", "valid"), DOORS, ids=DOOR_IDS)
def test_a_refused_repeat_does_not_use_up_its_idempotency_key(
    http: FlaskClient,
    keys: dict[str, str],
    registry: Any,
    session: Session,
    path: str,
    role: str,
    media: str,
    body: str,
    member: str,
    valid: str,
) -> None:
    headers = {**bearer(keys[role]), "Content-Type": media, "Idempotency-Key": "RJ-2026-0412"}
    refused = http.post(path, data=body, headers=headers)
    assert refused.status_code == 400
    assert count(session, RememberedAnswer) == 0

    corrected = http.post(path, data=valid, headers=headers)

    assert corrected.status_code in (200, 201), corrected.get_json()
    assert count(session, CheckRecord) == 1
    assert count(session, RememberedAnswer) == 1


@pytest.mark.parametrize(
    ("text", "member"),
    [
        ('{"a": 1, "a": 1}', "a"),
        ('{"a": 1, "b": 2, "c": 3, "b": 4}', "b"),
        ('[{"ok": 1}, {"x": {"y": [{"z": 1, "z": 2}]}}]', "z"),
        ('{"": 1, "": 2}', ""),
        ('{"\\u006eik": 1, "nik": 2}', "nik"),
    ],
)
def test_parse_json_names_the_repeated_member_at_any_depth(text: str, member: str) -> None:
    with pytest.raises(DuplicateMember) as raised:
        parse_json(text.encode())
    assert raised.value.name == member


@pytest.mark.parametrize(
    "data",
    [
        b'{"nik": "6402014101900001", "checks": [{"nik": 1}, {"nik": 2}], "a": {"nik": 3}}',
        b"[1, 2, {}]",
        b"null",
        '\ufeff{"nama": "Siti Aminah"}'.encode(),
        '{"nama": "Siti Aminah"}'.encode("utf-16"),
    ],
)
def test_parse_json_reads_what_json_loads_reads_when_no_member_repeats(data: bytes) -> None:
    assert parse_json(data) == json.loads(data)


def test_a_member_name_shown_in_the_detail_is_cut(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    name = "x" * 1000
    response = http.post(
        "/v1/checks",
        data=f'{{"{name}": 1, "{name}": 2}}',
        headers={**bearer(keys["desk"]), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.get_json()["detail"] == f'Anggota "{"x" * 64}" muncul lebih dari sekali.'


def test_a_body_nested_deeper_than_the_parser_follows_is_400(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    response = http.post(
        "/v1/checks",
        data="[" * 30000 + "]" * 30000,
        headers={**bearer(keys["desk"]), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "MALFORMED_JSON"
    assert count(session, CheckRecord) == 0
