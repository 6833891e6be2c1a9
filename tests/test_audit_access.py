"""Watching the watchers (SPEC §2.7): every audit and ledger request is itself recorded."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, Text, cast, select
from sqlalchemy.orm import Session

from models import AccessRecord, Base
from service.clients import KEY_PREFIX
from tests.audit_records import UNKNOWN, client_of, post_check
from tests.conftest import bearer
from tests.factories import refusing_inserts
from tests.ledger_records import sequence_all


def access_log(http: FlaskClient, keys: dict[str, str], **params: Any) -> Any:
    """GET /v1/audit/access as the auditor: the JSON body."""
    response = http.get("/v1/audit/access", headers=bearer(keys["auditor"]), query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def entries(session: Session) -> list[AccessRecord]:
    """Every stored access entry, oldest first."""
    session.expire_all()
    return list(session.scalars(select(AccessRecord).order_by(AccessRecord.id)))


@pytest.mark.parametrize(
    ("path", "credential", "status"),
    [
        ("/v1/audit/checks", "auditor", 200),
        ("/v1/audit/checks", "none", 401),
        ("/v1/audit/checks", "unknown", 401),
        ("/v1/audit/checks", "desk", 403),
        ("/v1/audit/checks", "admin", 403),
        ("/v1/audit/stats?group_by=day", "integration", 403),
        ("/v1/audit/checks/K7QM-3XD9-2F4A", "auditor", 422),
        ("/v1/audit/checks?limit=0", "auditor", 422),
        ("/v1/audit/nothing-here", "auditor", 404),
        ("/v1/audit/nothing-here", "none", 404),
        ("/v1/audit", "auditor", 404),
        ("/v1/ledger/checkpoint", "auditor", 200),
        ("/v1/ledger/checkpoint", "desk", 403),
        ("/v1/ledger/entries?start=0&end=5", "auditor", 422),
        ("/v1/ledger/nothing-here", "auditor", 404),
        ("/v1/audit/snapshots", "auditor", 200),
        ("/v1/audit/access", "auditor", 200),
        ("/v1/audit/access", "desk", 403),
    ],
)
def test_every_request_is_recorded_with_client_path_query_and_status(
    http: FlaskClient,
    keys: dict[str, str],
    session: Session,
    engine: Engine,
    path: str,
    credential: str,
    status: int,
) -> None:
    # The sequencer signs the first checkpoint, which the API serves (SPEC §13).
    sequence_all(engine, checkpoint=False)
    key = {"none": None, "unknown": KEY_PREFIX + secrets.token_urlsafe(32)}.get(
        credential, keys.get(credential)
    )
    response = http.get(path, headers=bearer(key) if key else {})
    assert response.status_code == status
    [entry] = entries(session)
    assert entry.method == "GET"
    assert entry.path == path.partition("?")[0]
    assert entry.query == path.partition("?")[2]
    assert entry.status == status
    expected_client = client_of(session, keys[credential]).id if credential in keys else None
    assert entry.client_id == expected_client


def test_the_access_log_lists_its_own_reads_newest_first(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    http.get("/v1/audit/checks?facility=1040001", headers=bearer(keys["auditor"]))
    http.get("/v1/audit/checks", headers=bearer(keys["desk"]))
    http.get("/v1/audit/checks")
    first = access_log(http, keys)
    assert [(item["path"], item["status"]) for item in first["items"]] == [
        ("/v1/audit/checks", 401),
        ("/v1/audit/checks", 403),
        ("/v1/audit/checks", 200),
    ]
    second = access_log(http, keys)
    assert second["items"][0]["path"] == "/v1/audit/access"
    assert second["items"][0]["status"] == 200
    assert second["items"][1:] == first["items"]
    auditor = client_of(session, keys["auditor"])
    desk = client_of(session, keys["desk"])
    newest, unknown, refused, read = second["items"]
    assert newest["client"] == {"id": auditor.id, "name": auditor.name}
    assert refused["client"] == {"id": desk.id, "name": desk.name}
    assert unknown["client"] is None
    assert read["query"] == "facility=1040001"
    assert read["method"] == "GET"
    stored = entries(session)[0]
    assert read["time"] == stored.at.astimezone(
        datetime.fromisoformat(read["time"]).tzinfo
    ).isoformat(timespec="seconds")
    assert read["time"].endswith("+08:00")


def test_requests_outside_the_audit_and_ledger_apis_are_not_recorded(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    post_check(http, keys["desk"], nik=UNKNOWN)
    http.get("/healthz")
    http.get("/v1/auditors")
    http.get("/v1/checks/K7QM-3XD9-2F4A", headers=bearer(keys["desk"]))
    assert entries(session) == []


@pytest.mark.parametrize(
    ("query", "stored"),
    [
        ("nik=6402014101900003", "nik=6402**********03"),
        ("nik=6402+0141+0190+0003", "nik=6402**********03"),
        ("nik=6402.0141.0190.0003&limit=5", "nik=6402**********03&limit=5"),
        ("nik=6402-0141-0190-000", "nik=6402*********00"),
        ("nik=640201", "nik=******"),
        ("operator=6402014101900003", "operator=6402**********03"),
        ("facility=x6402014101900003y", "facility=x6402**********03y"),
        ("facility=%36%34%30%32014101900003", "facility=6402**********03"),
        ("6402014101900003", "6402**********03"),
        ("operator=12345678", "operator=1234**78"),
        ("operator=6402%200141%200190%200003", "operator=6402**********03"),
        (
            "from=2026-03-03&to=2026-03-04T10:00:00%2B08:00",
            "from=2026-03-03&to=2026-03-04T10:00:00+08:00",
        ),
        ("client=12&limit=50", "client=12&limit=50"),
    ],
)
def test_niks_and_long_numbers_are_masked_in_the_stored_query(
    http: FlaskClient, keys: dict[str, str], session: Session, query: str, stored: str
) -> None:
    http.get(f"/v1/audit/checks?{query}", headers=bearer(keys["auditor"]))
    [entry] = entries(session)
    assert entry.query == stored


def test_a_nik_typed_into_the_path_is_masked_too(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    response = http.get("/v1/audit/checks/6402014101900003", headers=bearer(keys["auditor"]))
    assert response.status_code == 422
    [entry] = entries(session)
    assert entry.path == "/v1/audit/checks/6402**********03"


def every_text(session: Session) -> list[str]:
    """Every value of every column of every table, as text."""
    values: list[str] = []
    for table in Base.metadata.sorted_tables:
        columns = [cast(column, Text) for column in table.columns]
        for row in session.execute(select(*columns)):
            values += [str(value) for value in row if value is not None]
    return values


def test_a_searched_nik_is_stored_in_no_table_not_even_the_access_log(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    post_check(http, keys["desk"], nik="6402-0141-0190-0003", operator_id="rina")
    auditor = bearer(keys["auditor"])
    http.get("/v1/audit/checks?nik=6402014101900003", headers=auditor)
    http.get("/v1/audit/checks?nik=6402+0141+0190+0003&operator=6402014101900003", headers=auditor)
    http.get("/v1/audit/checks.csv?nik=6402.0141.0190.0003", headers=auditor).get_data()
    http.get("/v1/audit/stats?group_by=day&nik=6402014101900003", headers=auditor)
    http.get("/v1/audit/checks?nik=6402014101900003", headers=bearer(keys["desk"]))
    http.get("/v1/audit/checks?nik=6402014101900003")
    http.get("/v1/audit/checks/6402014101900003", headers=auditor)
    http.get("/v1/ledger/anything?nik=6402014101900003", headers=auditor)
    found = access_log(http, keys)
    assert len(found["items"]) == 8
    session.expire_all()
    values = every_text(session)
    assert values
    # Neither the NIK nor its hidden middle digits are anywhere.
    assert [value for value in values if "6402014101900003" in value] == []
    assert [value for value in values if "0141019000" in value] == []


class TestPaging:
    """The access log pages like the listing."""

    def test_pages_follow_by_cursor_while_new_entries_arrive(
        self, http: FlaskClient, keys: dict[str, str]
    ) -> None:
        for number in range(5):
            http.get(f"/v1/audit/checks?limit={number + 1}", headers=bearer(keys["auditor"]))
        first = access_log(http, keys, limit=2)
        # Reading the first page added an entry; the next pages must not show it.
        second = access_log(http, keys, limit=2, cursor=first["next_cursor"])
        third = access_log(http, keys, limit=2, cursor=second["next_cursor"])
        assert third["next_cursor"] is None
        queries = [item["query"] for page in (first, second, third) for item in page["items"]]
        assert queries == [f"limit={n}" for n in (5, 4, 3, 2, 1)]

    @pytest.mark.parametrize(
        "params", [{"limit": "0"}, {"limit": "501"}, {"cursor": "zz"}, {"nik": "6402014101900003"}]
    )
    def test_a_wrong_parameter_is_a_422(
        self, http: FlaskClient, keys: dict[str, str], params: dict[str, str]
    ) -> None:
        response = http.get(
            "/v1/audit/access", headers=bearer(keys["auditor"]), query_string=params
        )
        assert response.status_code == 422
        assert response.get_json()["code"] == "INVALID_FILTER"
        assert list(response.get_json()["errors"]) == list(params)


@pytest.fixture
def refusing_access_log(engine: Engine, session: Session) -> Iterator[None]:
    """Make the database refuse every new access entry, as a full disk would."""
    with refusing_inserts(engine, session, "access_log"):
        yield


@pytest.mark.parametrize(
    "path",
    [
        "/v1/audit/checks",
        "/v1/audit/checks.csv",
        "/v1/audit/stats?group_by=decision",
        "/v1/audit/snapshots",
        "/v1/audit/access",
        "/v1/audit/nothing",
    ],
)
def test_no_audit_answer_leaves_without_its_access_entry(
    http: FlaskClient,
    keys: dict[str, str],
    session: Session,
    engine: Engine,
    refusing_access_log: None,
    path: str,
) -> None:
    post_check(http, keys["desk"], nik=UNKNOWN)
    response = http.get(path, headers=bearer(keys["auditor"]))
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["code"] == "DATABASE_UNAVAILABLE"
    assert "items" not in problem
    assert "rows" not in problem
    assert entries(session) == []
    assert engine.pool.checkedout() <= 1  # type: ignore[attr-defined]


def test_a_check_does_not_depend_on_the_access_log(
    http: FlaskClient, keys: dict[str, str], refusing_access_log: None
) -> None:
    response = http.post("/v1/checks", json={"nik": UNKNOWN}, headers=bearer(keys["desk"]))
    assert response.status_code == 201
