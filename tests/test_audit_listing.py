"""GET /v1/audit/checks and /v1/audit/checks/{check_id}: find and explain every check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models import Client
from service.check_ids import new_check_id
from tests.audit_records import (
    MOVED_OUT,
    RESIDENT,
    UNKNOWN,
    add_people,
    add_record,
    client_of,
    post_check,
)
from tests.conftest import bearer
from tests.factories import TODAY
from tests.ledger_records import sequence_all

WITA = ZoneInfo("Asia/Makassar")
FACILITY_OF = {"desk": "1040001", "integration": "1040002", "other_desk": "1040003"}


@dataclass(frozen=True)
class Spec:
    """A record to insert, and what the filters should see of it."""

    name: str
    role: str
    nik: str | None
    decision: str
    at: datetime
    reasons: list[str] = field(default_factory=list)
    operator: str | None = None


def wita(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant of March 2026 on the WITA clock."""
    return datetime(2026, 3, day, hour, minute, tzinfo=WITA)


SPECS = [
    Spec("r1", "desk", RESIDENT, "ELIGIBLE", wita(3, 10), operator="rina"),
    Spec("r2", "integration", MOVED_OUT, "NOT_ELIGIBLE", wita(4, 9), ["NOT_RESIDENT"], "budi"),
    Spec(
        "r3",
        "other_desk",
        RESIDENT,
        "NOT_ELIGIBLE",
        wita(5, 8),
        ["RESIDENCY_TOO_SHORT", "JAMKESDA_NOT_ENROLLED"],
        "budi",
    ),
    Spec("r4", "desk", UNKNOWN, "NOT_ELIGIBLE", wita(5, 23, 30), ["NIK_NOT_FOUND"], "rina"),
    Spec("r5", "desk", None, "INVALID_REQUEST", wita(6, 0, 30)),
    Spec("r6", "integration", RESIDENT, "COVERED_BY_JKN", wita(6, 12), ["JKN_ACTIVE"]),
    Spec("r7", "desk", MOVED_OUT, "UNDETERMINED", wita(7, 7), ["DATA_UNAVAILABLE"], "sari"),
]


@pytest.fixture
def clients(session: Session, keys: dict[str, str]) -> dict[str, Client]:
    """The client of each role's key."""
    return {role: client_of(session, key) for role, key in keys.items()}


@pytest.fixture
def records(session: Session, clients: dict[str, Client]) -> dict[str, str]:
    """SPECS inserted oldest first: name -> check_id."""
    result = {}
    for spec in SPECS:
        record = add_record(
            session,
            clients[spec.role],
            nik=spec.nik,
            decision=spec.decision,
            reasons=spec.reasons,
            decided_at=spec.at,
            operator_id=spec.operator,
            errors={"nik": ["NIK harus terdiri dari 16 angka."]}
            if spec.decision == "INVALID_REQUEST"
            else None,
        )
        result[spec.name] = record.check_id
    return result


def auditor_get(http: FlaskClient, keys: dict[str, str], path: str, **params: Any) -> Any:
    """GET an audit path as the auditor; the response."""
    query = f"?{urlencode(params)}" if params else ""
    return http.get(path + query, headers=bearer(keys["auditor"]))


def listed(http: FlaskClient, keys: dict[str, str], **params: Any) -> list[str]:
    """The check_ids of a one-page listing."""
    response = auditor_get(http, keys, "/v1/audit/checks", limit=500, **params)
    assert response.status_code == 200, response.get_json()
    return [item["check_id"] for item in response.get_json()["items"]]


def assert_invalid_filter(response: Any, *fields: str) -> None:
    """A 422 problem naming exactly ``fields``."""
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["code"] == "INVALID_FILTER"
    assert problem["status"] == 422
    assert sorted(problem["errors"]) == sorted(fields)
    assert all(problem["errors"][name] for name in fields)


def matches(spec: Spec, params: dict[str, Any], clients: dict[str, Client]) -> bool:
    """The oracle: whether ``spec`` meets every filter of ``params``."""
    checks: dict[str, Callable[[Any], bool]] = {
        "nik": lambda v: spec.nik == v.replace(" ", ""),
        "facility": lambda v: FACILITY_OF[spec.role] == v,
        "client": lambda v: clients[spec.role].id == v,
        "operator": lambda v: spec.operator == v,
        "decision": lambda v: spec.decision == v,
        "reason": lambda v: v in spec.reasons,
        "from": lambda v: spec.at.date() >= datetime.fromisoformat(v).date(),
        "to": lambda v: spec.at.date() <= datetime.fromisoformat(v).date(),
    }
    return all(checks[name](value) for name, value in params.items())


FILTERS = [
    {"nik": RESIDENT},
    {"nik": MOVED_OUT},
    {"nik": "6402 0141 0190 0003"},
    {"facility": "1040001"},
    {"facility": "1040002"},
    {"facility": "9999999"},
    {"client": "integration"},
    {"client": "other_desk"},
    {"operator": "budi"},
    {"operator": "Budi"},
    {"decision": "NOT_ELIGIBLE"},
    {"decision": "INVALID_REQUEST"},
    {"decision": "COVERED_BY_JKN"},
    {"reason": "NOT_RESIDENT"},
    {"reason": "JAMKESDA_NOT_ENROLLED"},
    {"reason": "DECEASED"},
    {"from": "2026-03-05"},
    {"to": "2026-03-05"},
    {"from": "2026-03-05", "to": "2026-03-05"},
    {"nik": RESIDENT, "decision": "NOT_ELIGIBLE"},
    {"nik": RESIDENT, "facility": "1040002"},
    {"facility": "1040001", "reason": "NIK_NOT_FOUND", "operator": "rina"},
    {"client": "desk", "from": "2026-03-06", "decision": "INVALID_REQUEST"},
    {"operator": "budi", "reason": "RESIDENCY_TOO_SHORT", "to": "2026-03-05"},
    {"decision": "NOT_ELIGIBLE", "from": "2026-03-04", "to": "2026-03-05", "facility": "1040002"},
    {
        "nik": RESIDENT,
        "facility": "1040003",
        "client": "other_desk",
        "operator": "budi",
        "decision": "NOT_ELIGIBLE",
        "reason": "RESIDENCY_TOO_SHORT",
        "from": "2026-03-05",
        "to": "2026-03-05",
    },
]


@pytest.mark.parametrize("params", FILTERS, ids=[urlencode(p) for p in FILTERS])
def test_every_filter_alone_and_combined_selects_exactly_the_matching_records(
    http: FlaskClient,
    keys: dict[str, str],
    clients: dict[str, Client],
    records: dict[str, str],
    params: dict[str, str],
) -> None:
    query: dict[str, Any] = dict(params)
    if "client" in query:
        query["client"] = clients[query["client"]].id
    expected = [records[spec.name] for spec in reversed(SPECS) if matches(spec, query, clients)]
    assert listed(http, keys, **query) == expected


def test_the_listing_is_newest_first_across_every_facility(
    http: FlaskClient, keys: dict[str, str], records: dict[str, str]
) -> None:
    assert listed(http, keys) == [records[spec.name] for spec in reversed(SPECS)]


def test_a_nik_is_found_through_its_keyed_hash_whatever_separators_were_typed(
    http: FlaskClient, keys: dict[str, str], records: dict[str, str]
) -> None:
    expected = [records["r6"], records["r3"], records["r1"]]
    for typed in (RESIDENT, "6402 0141 0190 0001", "6402.0141.0190.0001", "6402-0141-0190-0001"):
        assert listed(http, keys, nik=typed) == expected


def test_records_made_through_the_api_are_listed_with_everything_an_auditor_needs(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    add_people(session)
    made = post_check(
        http,
        keys["desk"],
        nik=RESIDENT,
        operator_id="rina",
        external_ref="REG-0042",
        patient_name="Siti Aminah",
    )
    refused = post_check(http, keys["integration"], nik="123", operator_id="budi")
    response = auditor_get(http, keys, "/v1/audit/checks")
    items = response.get_json()["items"]
    assert [item["check_id"] for item in items] == [refused["check_id"], made["check_id"]]
    assert response.get_json()["next_cursor"] is None
    item = items[1]
    assert {key: item[key] for key in made} == made
    assert item["data_as_of"]["population"] is not None
    assert auditor_get(http, keys, f"/v1/audit/checks/{made['check_id']}").get_json() == item
    assert item["facility"] == {"code": "1040001", "name": "Puskesmas Loa Janan"}
    assert item["client"]["name"] == "test desk"
    assert item["operator_id"] == "rina"
    assert item["request"]["external_ref"] == "REG-0042"
    assert item["request"]["identity_provided"] == {"name": True, "birth_date": False}
    assert items[0]["decision"] == "INVALID_REQUEST"
    assert items[0]["errors"] == refused["errors"]
    assert items[0]["facility"]["code"] == "1040002"


def test_every_listed_item_is_exactly_what_the_record_endpoint_answers(
    http: FlaskClient,
    keys: dict[str, str],
    session: Session,
    engine: Engine,
    records: dict[str, str],
) -> None:
    """The listing writes its JSON without the schema's dump; the record endpoint dumps."""
    add_people(session)
    post_check(http, keys["desk"], nik=RESIDENT, service_type="emergency", birth_date="1990-01-01")
    post_check(http, keys["integration"], nik=MOVED_OUT, patient_name="X", external_ref="RM-1")
    post_check(http, keys["desk"], nik="123")
    sequence_all(engine)
    post_check(http, keys["desk"], nik=RESIDENT)
    items = auditor_get(http, keys, "/v1/audit/checks", limit=500).get_json()["items"]
    assert len(items) == len(SPECS) + 4
    assert {item["decision"] for item in items} >= {"ELIGIBLE", "NOT_ELIGIBLE", "INVALID_REQUEST"}
    assert any(item["coverage"] for item in items)
    assert any(item["emergency_notice"] for item in items)
    assert any(item["ledger"] for item in items)
    assert not all(item["ledger"] for item in items)
    for item in items:
        single = auditor_get(http, keys, f"/v1/audit/checks/{item['check_id']}")
        assert single.get_json() == item


@pytest.mark.parametrize(
    ("params", "field_name"),
    [
        ({"nik": "123"}, "nik"),
        ({"nik": "6402014101900000"}, "nik"),
        ({"nik": "6402013201900001"}, "nik"),
        ({"nik": ""}, "nik"),
        ({"decision": "MAYBE"}, "decision"),
        ({"decision": "not_eligible"}, "decision"),
        ({"reason": "NOT_A_REASON"}, "reason"),
        ({"client": "abc"}, "client"),
        ({"client": "0"}, "client"),
        ({"from": "03-03-2026"}, "from"),
        ({"from": "2026-02-30"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"to": "2026-03-03T25:00:00"}, "to"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": ""}, "cursor"),
        ({"facility_code": "1040001"}, "facility_code"),
        ({"NIK": RESIDENT}, "NIK"),
        ({"group_by": "facility"}, "group_by"),
    ],
)
def test_an_invalid_or_unknown_parameter_is_a_422_naming_it(
    http: FlaskClient, keys: dict[str, str], params: dict[str, str], field_name: str
) -> None:
    assert_invalid_filter(auditor_get(http, keys, "/v1/audit/checks", **params), field_name)


def test_every_invalid_parameter_is_named_at_once(http: FlaskClient, keys: dict[str, str]) -> None:
    response = auditor_get(
        http, keys, "/v1/audit/checks", nik="12", limit="0", decision="X", other="1"
    )
    assert_invalid_filter(response, "nik", "limit", "decision", "other")


def test_from_after_to_is_a_422(http: FlaskClient, keys: dict[str, str]) -> None:
    response = auditor_get(
        http, keys, "/v1/audit/checks", **{"from": "2026-03-05", "to": "2026-03-03"}
    )
    assert_invalid_filter(response, "from")


@pytest.mark.parametrize(
    ("path", "params", "field_name"),
    [
        ("/v1/audit/checks", {"from": "0001-01-01"}, "from"),
        ("/v1/audit/checks", {"to": "9999-12-31"}, "to"),
        ("/v1/audit/checks.csv", {"to": "9999-12-31"}, "to"),
        ("/v1/audit/stats", {"group_by": "day", "from": "0001-01-01"}, "from"),
        ("/v1/audit/stats", {"group_by": "day", "to": "9999-12-31"}, "to"),
    ],
)
def test_a_date_at_the_edge_of_the_calendar_is_a_422_not_a_500(
    http: FlaskClient, keys: dict[str, str], path: str, params: dict[str, str], field_name: str
) -> None:
    assert_invalid_filter(auditor_get(http, keys, path, **params), field_name)


@pytest.mark.parametrize("limit", [1, 500])
def test_limit_accepts_1_to_500(
    http: FlaskClient, keys: dict[str, str], records: dict[str, str], limit: int
) -> None:
    response = auditor_get(http, keys, "/v1/audit/checks", limit=limit)
    assert response.status_code == 200
    assert len(response.get_json()["items"]) == min(limit, len(SPECS))


def test_the_default_page_holds_50(
    http: FlaskClient, keys: dict[str, str], session: Session, clients: dict[str, Client]
) -> None:
    for _ in range(51):
        add_record(session, clients["desk"])
    body = auditor_get(http, keys, "/v1/audit/checks").get_json()
    assert len(body["items"]) == 50
    assert body["next_cursor"]


class TestWitaDays:
    """A date means its whole day in WITA; a date-time is exact; a naive one is WITA."""

    @pytest.fixture
    def late_and_early(self, session: Session, clients: dict[str, Client]) -> tuple[str, str]:
        """A check at 23:30 WITA on 3 March and one at 00:30 WITA on 4 March."""
        late = add_record(session, clients["desk"], decided_at=wita(3, 23, 30))
        early = add_record(session, clients["desk"], decided_at=wita(4, 0, 30))
        assert late.decided_at.astimezone(UTC).day == 3
        assert early.decided_at.astimezone(UTC).day == 3
        return late.check_id, early.check_id

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"from": "2026-03-03", "to": "2026-03-03"}, ["late"]),
            ({"from": "2026-03-04", "to": "2026-03-04"}, ["early"]),
            ({"to": "2026-03-03"}, ["late"]),
            ({"from": "2026-03-04"}, ["early"]),
            ({"from": "2026-03-03", "to": "2026-03-04"}, ["early", "late"]),
            ({"to": "2026-03-03T23:30:00+08:00"}, ["late"]),
            ({"to": "2026-03-03T23:29:59+08:00"}, []),
            ({"from": "2026-03-03T23:30:00+08:00", "to": "2026-03-03T23:30:00+08:00"}, ["late"]),
            ({"from": "2026-03-03T15:30:00Z", "to": "2026-03-03T15:30:00Z"}, ["late"]),
            ({"from": "2026-03-03T16:00:00+00:00"}, ["early"]),
            ({"from": "2026-03-04T00:00:00"}, ["early"]),
            ({"to": "2026-03-03T23:59:59"}, ["late"]),
            ({"from": "2026-03-03T23:31"}, ["early"]),
            ({"to": "2026-03-04T00:30:00 08:00"}, ["early", "late"]),
        ],
    )
    def test_from_and_to_read_dates_as_wita_days(
        self,
        http: FlaskClient,
        keys: dict[str, str],
        late_and_early: tuple[str, str],
        params: dict[str, str],
        expected: list[str],
    ) -> None:
        late, early = late_and_early
        ids = {"late": late, "early": early}
        assert listed(http, keys, **params) == [ids[name] for name in expected]


class TestCursor:
    """Pages follow each other by id: new records never duplicate or skip an item."""

    def test_pages_cover_every_record_once_while_new_ones_arrive(
        self,
        http: FlaskClient,
        keys: dict[str, str],
        session: Session,
        clients: dict[str, Client],
        records: dict[str, str],
    ) -> None:
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": 3}
            if cursor:
                params["cursor"] = cursor
            body = auditor_get(http, keys, "/v1/audit/checks", **params).get_json()
            seen += [item["check_id"] for item in body["items"]]
            pages += 1
            # A new check arrives between every two pages.
            add_record(session, clients["integration"])
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert pages == 3
        assert seen == [records[spec.name] for spec in reversed(SPECS)]
        assert len(listed(http, keys)) == len(SPECS) + pages

    def test_a_filtered_listing_pages_the_same_way(
        self, http: FlaskClient, keys: dict[str, str], records: dict[str, str]
    ) -> None:
        first = auditor_get(http, keys, "/v1/audit/checks", facility="1040001", limit=2)
        body = first.get_json()
        second = auditor_get(
            http, keys, "/v1/audit/checks", facility="1040001", limit=2, cursor=body["next_cursor"]
        ).get_json()
        assert [i["check_id"] for i in body["items"] + second["items"]] == [
            records["r7"],
            records["r5"],
            records["r4"],
            records["r1"],
        ]
        assert second["next_cursor"] is None

    def test_a_page_that_ends_exactly_at_the_last_record_has_no_next_cursor(
        self, http: FlaskClient, keys: dict[str, str], records: dict[str, str]
    ) -> None:
        body = auditor_get(http, keys, "/v1/audit/checks", limit=len(SPECS)).get_json()
        assert len(body["items"]) == len(SPECS)
        assert body["next_cursor"] is None

    @pytest.mark.parametrize(
        "cursor",
        ["abc", "aWQ6MA", "aWQ6LTE", "eHg6MTA", "aWQ6MTA!", "aWQ6MTA=", "aWQ6MDEw", "%%%"],
        ids=["garbage", "zero", "negative", "wrong-prefix", "stray", "padded", "leading-0", "pct"],
    )
    def test_a_malformed_or_altered_cursor_is_a_422(
        self, http: FlaskClient, keys: dict[str, str], cursor: str
    ) -> None:
        assert_invalid_filter(auditor_get(http, keys, "/v1/audit/checks", cursor=cursor), "cursor")


class TestRecord:
    """GET /v1/audit/checks/{check_id}: one record of any facility, fully explained."""

    def test_the_record_holds_the_check_response_and_who_how_and_on_which_data(
        self, http: FlaskClient, keys: dict[str, str], session: Session
    ) -> None:
        add_people(session)
        made = post_check(
            http,
            keys["integration"],
            nik=MOVED_OUT,
            operator_id="budi",
            external_ref="RM-77",
            birth_date="1990-01-01",
            service_type="emergency",
        )
        response = auditor_get(http, keys, f"/v1/audit/checks/{made['check_id']}")
        assert response.status_code == 200
        record = response.get_json()
        assert {key: record[key] for key in made} == made
        assert record["decision"] == "NOT_ELIGIBLE"
        assert record["facility"] == {"code": "1040002", "name": "RSUD A.M. Parikesit"}
        client = client_of(session, keys["integration"])
        assert record["client"] == {"id": client.id, "name": client.name}
        assert record["operator_id"] == "budi"
        assert record["channel"] == "api"
        assert record["request"] == {
            "service_date": TODAY.isoformat(),
            "service_type": "emergency",
            "external_ref": "RM-77",
            "identity_provided": {"name": False, "birth_date": True},
        }
        snapshots = auditor_get(http, keys, "/v1/audit/snapshots").get_json()["items"]
        by_source = {s["source"]: s["id"] for s in snapshots if s["source"] != "facilities"}
        assert record["data_snapshots"] == {**by_source, "jkn": None}
        assert record["latency_ms"] >= 0
        assert record["ledger"] is None
        assert record["errors"] is None

    def test_the_reference_is_case_insensitive_and_dashes_are_optional(
        self, http: FlaskClient, keys: dict[str, str], records: dict[str, str]
    ) -> None:
        check_id = records["r2"]
        for typed in (
            check_id.lower(),
            check_id.replace("-", ""),
            check_id.lower().replace("-", ""),
        ):
            response = auditor_get(http, keys, f"/v1/audit/checks/{typed}")
            assert response.status_code == 200
            assert response.get_json()["check_id"] == check_id

    def test_a_mistyped_reference_is_a_422(
        self, http: FlaskClient, keys: dict[str, str], records: dict[str, str]
    ) -> None:
        check_id = records["r2"]
        last = check_id[-1]
        typo = check_id[:-1] + ("0" if last != "0" else "1")
        for wrong in (typo, "K7QM-3XD9", "hello"):
            response = auditor_get(http, keys, f"/v1/audit/checks/{wrong}")
            assert response.status_code == 422
            assert response.mimetype == "application/problem+json"
            assert response.get_json()["code"] == "INVALID_CHECK_ID"

    def test_an_unknown_reference_is_a_404(
        self, http: FlaskClient, keys: dict[str, str], records: dict[str, str]
    ) -> None:
        response = auditor_get(http, keys, f"/v1/audit/checks/{new_check_id()}")
        assert response.status_code == 404
        assert response.get_json()["code"] == "CHECK_NOT_FOUND"

    def test_a_refused_request_shows_its_errors_and_no_dispute(
        self, http: FlaskClient, keys: dict[str, str]
    ) -> None:
        refused = post_check(http, keys["desk"], nik="6402 0141 0190", service_date="kemarin")
        record = auditor_get(http, keys, f"/v1/audit/checks/{refused['check_id']}").get_json()
        assert record["decision"] == "INVALID_REQUEST"
        assert record["eligible"] is False
        assert record["errors"] == refused["errors"]
        assert set(record["errors"]) == {"nik", "service_date"}
        assert record["dispute"] is None
        assert record["nik_masked"] == "6402******90"
        assert record["request"]["service_date"] is None

    def test_the_auditor_reads_records_of_every_facility(
        self, http: FlaskClient, keys: dict[str, str], records: dict[str, str]
    ) -> None:
        for name in ("r1", "r2", "r3"):
            assert auditor_get(http, keys, f"/v1/audit/checks/{records[name]}").status_code == 200
