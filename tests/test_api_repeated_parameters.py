"""A query parameter given twice is a 422 naming it, on every endpoint that reads a query.

Readers disagree on ``?nik=A&nik=B`` (the first wins in Flask, the last elsewhere), so
the audit API, the ledger API and the console refuse it instead of taking one silently,
and the access log still records the refused request.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AccessRecord, Client
from service.api.query import REPEATED
from service.check_ids import new_check_id
from tests.conftest import RESIDENT, bearer
from tests.test_web_sessions import sign_in

OTHER_NIK = "6402010101800003"
REFERENCE = new_check_id()

# (path and query, the repeated parameter) of every API endpoint that takes a query.
API = [
    (f"/v1/audit/checks?nik={RESIDENT}&nik={OTHER_NIK}", "nik"),
    ("/v1/audit/checks?limit=5&decision=ELIGIBLE&limit=500", "limit"),
    ("/v1/audit/checks.csv?decision=ELIGIBLE&decision=NOT_ELIGIBLE", "decision"),
    ("/v1/audit/checks.csv?from=2026-01-01&from=2026-02-01", "from"),
    ("/v1/audit/stats?group_by=day&group_by=facility", "group_by"),
    ("/v1/audit/stats?group_by=day&facility=1040001&facility=1040002", "facility"),
    ("/v1/audit/access?limit=1&limit=2", "limit"),
    ("/v1/audit/snapshots?limit=1&limit=1", "limit"),
    ("/v1/audit/clients?role=desk&role=admin", "role"),
    (f"/v1/ledger/proof/inclusion?check_id={REFERENCE}&tree_size=1&tree_size=2", "tree_size"),
    ("/v1/ledger/proof/consistency?first=0&second=0&second=1", "second"),
    ("/v1/ledger/entries?start=0&start=1&end=0", "start"),
]
# The console pages that read their address's query, the same way.
CONSOLE = [
    ("/console/pemeriksaan?cari=abc&cari=def", "cari"),
    ("/console/pemeriksaan?cari=abc&halaman=x&halaman=y", "halaman"),
    ("/console/pemeriksaan.csv?cari=abc&cari=def", "cari"),
    ("/console/laporan?cari=abc&cari=def", "cari"),
    ("/console/statistik?dari=2026-03-01&dari=2026-03-02&sampai=2026-03-31", "dari"),
    ("/console/statistik?fasilitas=1040001&fasilitas=1040003", "fasilitas"),
    ("/console/log-akses?halaman=abc&halaman=def", "halaman"),
]


def logged(session: Session, path: str) -> list[AccessRecord]:
    """The access entries of ``path``, oldest first."""
    session.expire_all()
    return list(
        session.scalars(
            select(AccessRecord).where(AccessRecord.path == path).order_by(AccessRecord.id)
        )
    )


def auditor_id(session: Session) -> int:
    """The id of the ``keys`` fixture's auditor."""
    return session.scalars(select(Client.id).where(Client.role == "auditor")).one()


@pytest.mark.parametrize(("address", "name"), API)
def test_an_api_query_parameter_given_twice_is_422_invalid_filter_naming_it(
    http: FlaskClient, keys: dict[str, str], session: Session, address: str, name: str
) -> None:
    response = http.get(address, headers=bearer(keys["auditor"]))

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["code"] == "INVALID_FILTER"
    assert problem["errors"] == {name: [REPEATED]}
    path = address.split("?")[0]
    [entry] = logged(session, path)
    assert (entry.status, entry.client_id) == (422, auditor_id(session))
    assert RESIDENT not in entry.query
    assert entry.query.count(f"{name}=") == 2


@pytest.mark.parametrize(("address", "name"), API)
def test_the_key_is_checked_before_the_query(
    http: FlaskClient, keys: dict[str, str], session: Session, address: str, name: str
) -> None:
    assert http.get(address).status_code == 401
    assert http.get(address, headers=bearer(keys["desk"])).status_code == 403
    assert [entry.status for entry in logged(session, address.split("?")[0])] == [401, 403]


@pytest.mark.parametrize(
    "address", ["/v1/audit/snapshots?role=desk", "/v1/audit/clients?facility=1040001"]
)
def test_a_list_that_takes_no_parameter_refuses_one_rather_than_ignoring_it(
    http: FlaskClient, keys: dict[str, str], address: str
) -> None:
    response = http.get(address, headers=bearer(keys["auditor"]))
    assert response.status_code == 422
    assert response.get_json()["code"] == "INVALID_FILTER"


@pytest.mark.parametrize("address", ["/v1/audit/snapshots", "/v1/audit/clients"])
def test_a_list_that_takes_no_parameter_still_answers_without_one(
    http: FlaskClient, keys: dict[str, str], address: str
) -> None:
    assert http.get(address, headers=bearer(keys["auditor"])).status_code == 200


@pytest.mark.parametrize(("address", "name"), CONSOLE)
def test_a_console_parameter_given_twice_is_a_422_page_naming_it(
    http: FlaskClient, keys: dict[str, str], session: Session, address: str, name: str
) -> None:
    sign_in(http, "console", keys["auditor"])

    response = http.get(address)

    assert response.status_code == 422
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert f"Parameter &#34;{name}&#34; diberikan lebih dari sekali" in page
    assert "INVALID_FILTER" in page
    [entry] = logged(session, address.split("?")[0])
    assert (entry.status, entry.client_id) == (422, auditor_id(session))
    assert entry.query.count(f"{name}=") == 2


@pytest.mark.parametrize(("address", "name"), CONSOLE)
def test_a_console_page_without_a_session_still_goes_to_sign_in(
    http: FlaskClient, address: str, name: str
) -> None:
    response = http.get(address)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/console/")


def test_a_parameter_given_once_is_still_taken(
    http: FlaskClient, keys: dict[str, str], registry: Any
) -> None:
    made = http.post("/v1/checks", json={"nik": RESIDENT}, headers=bearer(keys["desk"]))
    assert made.status_code == 201
    found = http.get(f"/v1/audit/checks?nik={RESIDENT}", headers=bearer(keys["auditor"]))
    assert found.status_code == 200
    assert [item["check_id"] for item in found.get_json()["items"]] == [made.get_json()["check_id"]]
