"""The ledger API's refusals: only auditors, and nothing outside the latest checkpoint."""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, update
from sqlalchemy.orm import Session

from models import CheckRecord
from service.check_ids import new_check_id
from service.clients import KEY_PREFIX
from tests.audit_records import client_of
from tests.conftest import bearer
from tests.ledger_records import add_records, check_id_of, sequence_all, without_foreign_keys

ENDPOINTS = [
    "/v1/ledger/checkpoint",
    "/v1/ledger/key",
    "/v1/ledger/proof/inclusion?check_id={check_id}&tree_size=1",
    "/v1/ledger/proof/consistency?first=1&second=1",
    "/v1/ledger/entries?start=0&end=1",
]


@pytest.fixture
def sequenced(engine: Engine, session: Session, keys: dict[str, str]) -> list[str]:
    """Four records in the log and its checkpoint, then two more sequenced after it."""
    desk = client_of(session, keys["desk"])
    ids = add_records(session, desk, 4)
    sequence_all(engine)
    ids += add_records(session, desk, 2, first=4)
    sequence_all(engine, checkpoint=False)
    return [check_id_of(session, record_id) for record_id in ids]


def problem(http: FlaskClient, keys: dict[str, str], path: str, **query: Any) -> Any:
    """The problem body of a refused ledger request as the auditor, checked for its form."""
    response = http.get(path, headers=bearer(keys["auditor"]), query_string=query)
    assert response.mimetype == "application/problem+json", response.get_data(as_text=True)
    return response.get_json()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    ("credential", "status"),
    [
        ("auditor", 200),
        ("desk", 403),
        ("integration", 403),
        ("admin", 403),
        ("none", 401),
        ("unknown", 401),
    ],
)
def test_only_an_auditor_key_gets_in(
    http: FlaskClient,
    keys: dict[str, str],
    sequenced: list[str],
    endpoint: str,
    credential: str,
    status: int,
) -> None:
    unknown = {"unknown": bearer(KEY_PREFIX + secrets.token_urlsafe(32)), "none": {}}
    headers = bearer(keys[credential]) if credential in keys else unknown[credential]
    path = endpoint.replace("{check_id}", sequenced[0])
    response = http.get(path, headers=headers)
    assert response.status_code == status, response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/v1/ledger/proof/inclusion", {"tree_size": 0}),
        ("/v1/ledger/proof/inclusion", {"tree_size": 5}),
        ("/v1/ledger/proof/consistency", {"first": 0, "second": 4}),
        ("/v1/ledger/proof/consistency", {"first": 3, "second": 2}),
        ("/v1/ledger/proof/consistency", {"first": 1, "second": 5}),
        ("/v1/ledger/entries", {"start": 0, "end": 5}),
        ("/v1/ledger/entries", {"start": 2, "end": 2}),
        ("/v1/ledger/entries", {"start": 4, "end": 4}),
        ("/v1/ledger/entries", {"start": 0, "end": 0}),
    ],
)
def test_sizes_and_ranges_outside_the_latest_checkpoint_are_422(
    http: FlaskClient, keys: dict[str, str], sequenced: list[str], path: str, query: Any
) -> None:
    if "tree_size" in query:
        query = {**query, "check_id": sequenced[0]}
    body = problem(http, keys, path, **query)
    assert (body["status"], body["code"]) == (422, "OUTSIDE_CHECKPOINT")
    assert body["checkpoint_size"] == 4


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/v1/ledger/proof/inclusion", {"check_id": "X"}, "tree_size"),
        ("/v1/ledger/proof/inclusion", {"tree_size": 1}, "check_id"),
        ("/v1/ledger/proof/consistency", {"first": "one", "second": 2}, "first"),
        ("/v1/ledger/proof/consistency", {"first": 1, "second": -2}, "second"),
        ("/v1/ledger/entries", {"start": 0}, "end"),
        ("/v1/ledger/entries", {"start": 0, "end": 1, "limit": 5}, "limit"),
    ],
)
def test_missing_malformed_or_unknown_parameters_are_422_naming_them(
    http: FlaskClient, keys: dict[str, str], sequenced: list[str], path: str, query: Any, field: str
) -> None:
    body = problem(http, keys, path, **query)
    assert (body["status"], body["code"]) == (422, "INVALID_FILTER")
    assert list(body["errors"]) == [field]


def test_an_empty_log_answers_every_range_with_422(http: FlaskClient, keys: dict[str, str]) -> None:
    body = problem(http, keys, "/v1/ledger/entries", start=0, end=1)
    assert (body["code"], body["checkpoint_size"]) == ("OUTSIDE_CHECKPOINT", 0)


def test_a_record_sequenced_after_the_checkpoint_is_not_in_its_tree(
    http: FlaskClient, keys: dict[str, str], sequenced: list[str]
) -> None:
    query = {"check_id": sequenced[4], "tree_size": 4}
    body = problem(http, keys, "/v1/ledger/proof/inclusion", **query)
    assert (body["status"], body["code"], body["leaf_index"]) == (422, "NOT_IN_TREE", 4)


def test_a_record_not_yet_sequenced_is_not_in_the_tree(
    http: FlaskClient, keys: dict[str, str], session: Session, sequenced: list[str]
) -> None:
    [waiting] = add_records(session, client_of(session, keys["desk"]), 1, first=9)
    query = {"check_id": check_id_of(session, waiting), "tree_size": 4}
    body = problem(http, keys, "/v1/ledger/proof/inclusion", **query)
    assert (body["status"], body["code"], body["leaf_index"]) == (422, "NOT_IN_TREE", None)


def test_an_unknown_reference_is_404_and_a_mistyped_one_422(
    http: FlaskClient, keys: dict[str, str], sequenced: list[str]
) -> None:
    path = "/v1/ledger/proof/inclusion"
    unknown = problem(http, keys, path, check_id=new_check_id(), tree_size=4)
    assert (unknown["status"], unknown["code"]) == (404, "CHECK_NOT_FOUND")
    typo = sequenced[0][:-1] + ("A" if sequenced[0][-1] != "A" else "B")
    mistyped = problem(http, keys, path, check_id=typo, tree_size=4)
    assert (mistyped["status"], mistyped["code"]) == (422, "INVALID_CHECK_ID")


def test_an_entry_whose_record_was_deleted_or_altered_is_a_409_naming_it(
    http: FlaskClient, keys: dict[str, str], engine: Engine, session: Session
) -> None:
    desk = client_of(session, keys["desk"])
    ids = add_records(session, desk, 8)
    sequence_all(engine)
    with without_foreign_keys(engine) as connection:
        connection.execute(delete(CheckRecord).where(CheckRecord.id == ids[3]))
        # A JSON string where the leaf encoding needs an array: no leaf bytes exist for it.
        connection.execute(update(CheckRecord).where(CheckRecord.id == ids[6]).values(reasons="x"))

    def entries(start: int) -> Any:
        response = http.get(
            "/v1/ledger/entries",
            headers=bearer(keys["auditor"]),
            query_string={"start": start, "end": 8},
        )
        return response.status_code, response.get_json()

    # Each page stops just before a leaf it cannot serve, so every entry keeps its index.
    assert [entries(0)[0], len(entries(0)[1]["entries"])] == [200, 3]
    status, body = entries(3)
    assert (status, body["code"], body["leaf_index"]) == (409, "ENTRY_UNAVAILABLE", 3)
    assert body["detail"] == "Entri 3 tidak dapat disajikan: catatan pemeriksaannya telah dihapus."
    assert [entries(4)[0], len(entries(4)[1]["entries"])] == [200, 2]
    status, body = entries(6)
    assert (status, body["code"], body["leaf_index"]) == (409, "ENTRY_UNAVAILABLE", 6)
    assert body["detail"] == (
        "Entri 6 tidak dapat disajikan: catatan pemeriksaannya tidak lagi dapat dikodekan "
        "(kolom reasons)."
    )
    assert [entries(7)[0], len(entries(7)[1]["entries"])] == [200, 1]


# Every English word of the ledger's details before they were translated (and a few more
# that a half-translated sentence would show); a detail holds none of them. Parameter names
# (tree_size, first, second, start, end) may appear: they are the API's, not English prose.
ENGLISH = re.compile(
    r"\b(must|be|between|up to|from|the|latest|size|tree|range|leaf|its|record|was|"
    r"deleted|can|longer|encoded|log|has|no|entry|with|this|index|not|sequenced|yet|is|"
    r"of|and|or|outside|missing|unknown|invalid)\b",
    re.IGNORECASE,
)


def texts_of(body: dict[str, Any]) -> list[str]:
    """The detail of a problem and every message of its ``errors``."""
    messages = [text for texts in (body.get("errors") or {}).values() for text in texts]
    return [body["detail"], *messages]


def assert_indonesian(body: dict[str, Any]) -> None:
    """Each text of a problem is one Indonesian sentence, with no English word in it."""
    for text in texts_of(body):
        assert not ENGLISH.findall(text), (ENGLISH.findall(text), text)
    assert body["detail"].endswith("."), body["detail"]


def test_every_ledger_refusal_reads_as_one_indonesian_sentence(
    http: FlaskClient, keys: dict[str, str], session: Session, sequenced: list[str]
) -> None:
    [waiting] = add_records(session, client_of(session, keys["desk"]), 1, first=9)
    typo = sequenced[0][:-1] + ("A" if sequenced[0][-1] != "A" else "B")
    asked: list[tuple[str, dict[str, Any]]] = [
        ("/v1/ledger/proof/inclusion", {"check_id": sequenced[0], "tree_size": 0}),
        ("/v1/ledger/proof/inclusion", {"check_id": sequenced[0], "tree_size": 5}),
        ("/v1/ledger/proof/inclusion", {"check_id": sequenced[0], "tree_size": -1}),
        ("/v1/ledger/proof/inclusion", {"check_id": sequenced[0], "tree_size": "x"}),
        ("/v1/ledger/proof/inclusion", {"check_id": sequenced[0]}),
        ("/v1/ledger/proof/inclusion", {"check_id": sequenced[4], "tree_size": 4}),
        ("/v1/ledger/proof/inclusion", {"check_id": check_id_of(session, waiting), "tree_size": 4}),
        ("/v1/ledger/proof/inclusion", {"check_id": new_check_id(), "tree_size": 4}),
        ("/v1/ledger/proof/inclusion", {"check_id": typo, "tree_size": 4}),
        ("/v1/ledger/proof/inclusion", {"check_id": "X", "tree_size": 4}),
        ("/v1/ledger/proof/consistency", {"first": 0, "second": 4}),
        ("/v1/ledger/proof/consistency", {"first": 3, "second": 2}),
        ("/v1/ledger/proof/consistency", {"first": 1, "second": 5}),
        ("/v1/ledger/proof/consistency", {"first": "one", "second": 2}),
        ("/v1/ledger/proof/consistency", {"first": 1, "second": -2}),
        ("/v1/ledger/proof/consistency", {"first": 1, "second": 2, "third": 3}),
        ("/v1/ledger/entries", {"start": 0, "end": 5}),
        ("/v1/ledger/entries", {"start": 2, "end": 2}),
        ("/v1/ledger/entries", {"start": 4, "end": 4}),
        ("/v1/ledger/entries", {"start": 0, "end": 0}),
        ("/v1/ledger/entries", {"start": 0}),
        ("/v1/ledger/entries", {"start": 0, "end": 10**30}),
        ("/v1/ledger/entries?start=0&start=1&end=1", {}),
    ]
    codes = set()
    for path, query in asked:
        if "?" in path:
            body = http.get(path, headers=bearer(keys["auditor"])).get_json()
        else:
            body = problem(http, keys, path, **query)
        assert body["status"] in (404, 422), body
        codes.add(body["code"])
        assert_indonesian(body)
    assert codes == {
        "OUTSIDE_CHECKPOINT",
        "INVALID_FILTER",
        "NOT_IN_TREE",
        "CHECK_NOT_FOUND",
        "INVALID_CHECK_ID",
    }


def test_an_empty_log_says_so_in_indonesian(http: FlaskClient, keys: dict[str, str]) -> None:
    empty: list[tuple[str, dict[str, Any]]] = [
        ("/v1/ledger/entries", {"start": 0, "end": 1}),
        ("/v1/ledger/proof/consistency", {"first": 1, "second": 1}),
        ("/v1/ledger/proof/inclusion", {"check_id": new_check_id(), "tree_size": 1}),
    ]
    for path, query in empty:
        body = problem(http, keys, path, **query)
        assert body["code"] == "OUTSIDE_CHECKPOINT"
        assert body["detail"].startswith("Checkpoint terakhir masih kosong (0 entri)")
        assert_indonesian(body)


def test_an_unservable_entry_is_refused_in_indonesian(
    http: FlaskClient, keys: dict[str, str], engine: Engine, session: Session
) -> None:
    ids = add_records(session, client_of(session, keys["desk"]), 3)
    sequence_all(engine)
    with without_foreign_keys(engine) as connection:
        connection.execute(delete(CheckRecord).where(CheckRecord.id == ids[0]))
        connection.execute(update(CheckRecord).where(CheckRecord.id == ids[1]).values(reasons="x"))
    for start in (0, 1):
        body = problem(http, keys, "/v1/ledger/entries", start=start, end=3)
        assert body["code"] == "ENTRY_UNAVAILABLE"
        assert_indonesian(body)
