"""GET /v1/audit/stats: counts and denial rates by facility, decision, reason and WITA day."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from itertools import combinations, permutations
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import Client
from tests.audit_records import add_record, client_of
from tests.conftest import bearer

WITA = ZoneInfo("Asia/Makassar")
GROUPS = ("facility", "decision", "reason", "day")
COUNTS = ("count", "decided", "not_eligible", "denial_rate")
FACILITY_OF = {"desk": "1040001", "integration": "1040002", "other_desk": "1040003"}

# (role, decision, reasons, WITA day of March 2026, hour, minute)
RECORDS: list[tuple[str, str, list[str], int, int, int]] = [
    ("desk", "ELIGIBLE", [], 3, 8, 0),
    ("desk", "ELIGIBLE", [], 3, 23, 30),
    ("desk", "NOT_ELIGIBLE", ["NOT_RESIDENT"], 4, 0, 30),
    ("desk", "NOT_ELIGIBLE", ["NOT_RESIDENT", "RESIDENCY_TOO_SHORT"], 4, 9, 0),
    ("desk", "INVALID_REQUEST", [], 4, 10, 0),
    ("desk", "INVALID_REQUEST", [], 4, 11, 0),
    ("integration", "NOT_ELIGIBLE", ["NIK_NOT_FOUND"], 3, 7, 0),
    ("integration", "NOT_ELIGIBLE", ["JAMKESDA_INACTIVE"], 3, 12, 0),
    ("integration", "NOT_ELIGIBLE", ["RESIDENCY_TOO_SHORT"], 5, 12, 0),
    ("integration", "COVERED_BY_JKN", ["JKN_ACTIVE"], 5, 13, 0),
    ("other_desk", "UNDETERMINED", ["DATA_UNAVAILABLE"], 5, 6, 0),
    ("other_desk", "INVALID_REQUEST", [], 5, 6, 30),
]


def at(day: int, hour: int, minute: int) -> datetime:
    """An instant of March 2026 on the WITA clock."""
    return datetime(2026, 3, day, hour, minute, tzinfo=WITA)


@pytest.fixture
def records(session: Session, keys: dict[str, str]) -> None:
    """RECORDS, inserted as the check use-case would have written them."""
    clients: dict[str, Client] = {role: client_of(session, key) for role, key in keys.items()}
    for role, decision, reasons, day, hour, minute in RECORDS:
        add_record(
            session,
            clients[role],
            decision=decision,
            reasons=reasons,
            decided_at=at(day, hour, minute),
        )


def stats(http: FlaskClient, keys: dict[str, str], **params: str) -> Any:
    """GET /v1/audit/stats as the auditor."""
    return http.get(f"/v1/audit/stats?{urlencode(params)}", headers=bearer(keys["auditor"]))


def expected_rows(group_by: tuple[str, ...], selected: list[int] | None = None) -> list[Any]:
    """The oracle: rows computed in Python from RECORDS, ordered by the groups, nulls last."""
    counts: Counter[tuple[Any, ...]] = Counter()
    decided: Counter[tuple[Any, ...]] = Counter()
    denied: Counter[tuple[Any, ...]] = Counter()
    for index, (role, decision, reasons, day, _hour, _minute) in enumerate(RECORDS):
        if selected is not None and index not in selected:
            continue
        by_reason: list[str | None] = list(reasons) or [None]
        for reason in by_reason if "reason" in group_by else [None]:
            values = {
                "facility": FACILITY_OF[role],
                "decision": decision,
                "reason": reason,
                "day": f"2026-03-{day:02d}",
            }
            key = tuple(values[name] for name in group_by)
            counts[key] += 1
            decided[key] += decision != "INVALID_REQUEST"
            denied[key] += decision == "NOT_ELIGIBLE"

    def order(key: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple((value is None, value or "") for value in key)

    return [
        {
            **dict(zip(group_by, key, strict=True)),
            "count": counts[key],
            "decided": decided[key],
            "not_eligible": denied[key],
            "denial_rate": round(denied[key] / decided[key], 4) if decided[key] else None,
        }
        for key in sorted(counts, key=order)
    ]


EVERY_GROUPING = [
    subset for size in range(1, len(GROUPS) + 1) for subset in combinations(GROUPS, size)
]


@pytest.mark.parametrize("group_by", EVERY_GROUPING, ids=",".join)
def test_every_combination_of_groups_counts_right(
    http: FlaskClient, keys: dict[str, str], records: None, group_by: tuple[str, ...]
) -> None:
    response = stats(http, keys, group_by=",".join(group_by))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["rows"] == expected_rows(group_by)


@pytest.mark.parametrize(
    "group_by", list(permutations(("day", "reason", "facility"))), ids=",".join
)
def test_rows_are_sorted_by_the_groups_in_the_order_given(
    http: FlaskClient, keys: dict[str, str], records: None, group_by: tuple[str, ...]
) -> None:
    rows = stats(http, keys, group_by=",".join(group_by)).get_json()["rows"]
    assert rows == expected_rows(group_by)
    assert all(set(row) == {*group_by, *COUNTS} for row in rows)


def test_denial_rates_compare_facilities_and_leave_refused_requests_out(
    http: FlaskClient, keys: dict[str, str], records: None
) -> None:
    rows = stats(http, keys, group_by="facility").get_json()["rows"]
    assert rows == [
        # 2 of 4 decisions denied; the 2 refused requests count but decide nothing.
        {"facility": "1040001", "count": 6, "decided": 4, "not_eligible": 2, "denial_rate": 0.5},
        {"facility": "1040002", "count": 4, "decided": 4, "not_eligible": 3, "denial_rate": 0.75},
        {"facility": "1040003", "count": 2, "decided": 1, "not_eligible": 0, "denial_rate": 0.0},
    ]


def test_a_group_that_decided_nothing_has_no_denial_rate(
    http: FlaskClient, keys: dict[str, str], records: None
) -> None:
    rows = stats(http, keys, group_by="decision", decision="INVALID_REQUEST").get_json()["rows"]
    assert rows == [
        {
            "decision": "INVALID_REQUEST",
            "count": 3,
            "decided": 0,
            "not_eligible": 0,
            "denial_rate": None,
        }
    ]


def test_days_are_wita_days(http: FlaskClient, keys: dict[str, str], records: None) -> None:
    rows = stats(http, keys, group_by="day", facility="1040001").get_json()["rows"]
    # 23:30 WITA on 3 March is the 3rd; 00:30 WITA on 4 March (16:30 UTC on the 3rd) the 4th.
    assert [(row["day"], row["count"]) for row in rows] == [("2026-03-03", 2), ("2026-03-04", 4)]


def test_a_record_with_two_reasons_counts_in_both_and_one_without_under_null(
    http: FlaskClient, keys: dict[str, str], records: None
) -> None:
    rows = stats(http, keys, group_by="reason", facility="1040001").get_json()["rows"]
    assert [(row["reason"], row["count"]) for row in rows] == [
        ("NOT_RESIDENT", 2),
        ("RESIDENCY_TOO_SHORT", 1),
        (None, 4),
    ]


@pytest.mark.parametrize(
    ("params", "selected"),
    [
        ({"facility": "1040002"}, [6, 7, 8, 9]),
        ({"decision": "NOT_ELIGIBLE"}, [2, 3, 6, 7, 8]),
        ({"reason": "RESIDENCY_TOO_SHORT"}, [3, 8]),
        ({"from": "2026-03-04", "to": "2026-03-04"}, [2, 3, 4, 5]),
        ({"to": "2026-03-03T23:00:00+08:00"}, [0, 6, 7]),
        ({"facility": "1040001", "from": "2026-03-04"}, [2, 3, 4, 5]),
    ],
)
def test_the_listings_filters_apply(
    http: FlaskClient,
    keys: dict[str, str],
    records: None,
    params: dict[str, str],
    selected: list[int],
) -> None:
    for group_by in (("facility", "decision"), ("reason",), ("day", "facility")):
        response = stats(http, keys, group_by=",".join(group_by), **params)
        assert response.get_json()["rows"] == expected_rows(group_by, selected)


def test_no_record_gives_no_rows(http: FlaskClient, keys: dict[str, str]) -> None:
    response = stats(http, keys, group_by="facility,decision")
    assert response.status_code == 200
    assert response.get_json() == {"rows": []}


@pytest.mark.parametrize(
    ("params", "field_name"),
    [
        ({}, "group_by"),
        ({"group_by": ""}, "group_by"),
        ({"group_by": "month"}, "group_by"),
        ({"group_by": "facility,month"}, "group_by"),
        ({"group_by": "facility,facility"}, "group_by"),
        ({"group_by": "facility,"}, "group_by"),
        ({"group_by": "facility", "limit": "10"}, "limit"),
        ({"group_by": "facility", "cursor": "aWQ6MTA"}, "cursor"),
        ({"group_by": "facility", "decision": "NOPE"}, "decision"),
        ({"group_by": "facility", "nik": "640201"}, "nik"),
    ],
)
def test_a_wrong_group_by_or_filter_is_a_422(
    http: FlaskClient, keys: dict[str, str], params: dict[str, str], field_name: str
) -> None:
    response = stats(http, keys, **params)
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["code"] == "INVALID_FILTER"
    assert list(problem["errors"]) == [field_name]


def test_group_by_names_may_have_spaces_around_them(
    http: FlaskClient, keys: dict[str, str], records: None
) -> None:
    response = stats(http, keys, group_by="facility , decision")
    assert response.get_json()["rows"] == expected_rows(("facility", "decision"))
