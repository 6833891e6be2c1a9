"""The served log (SPEC §11): one JSON line per request through every door, no personal data.

A real ``jamkesda serve`` gets requests on every operation of ``openapi.yaml`` and the web
pages, with a NIK, a name, a birth date and keys in their bodies, queries, paths and
headers, errors included (400, 401, 403, 404, 405, 413, 415, 422, a 500 with its traceback,
request lines gunicorn refuses). Then its whole output (JSON lines, gunicorn's error log,
tracebacks) is read back.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from models import Client
from service.fhir.codes import NIK_SYSTEM
from tests.factories import TODAY, add_facility, add_key, add_membership, add_person, add_snapshot
from tests.served_traffic import Traffic, openapi_operations, raw_answer, read_log
from tests.test_server import running_server

# The patient: a resident born on 23 September 1987 (a woman: day 23 + 40 in the NIK).
NIK = "6402016309870002"
NAME = "Sri Wahyuningsih"
BIRTH = date(1987, 9, 23)
# Structurally invalid (serial 0000): refused, and recorded.
BAD_NIK = "6402016309870000"
JSON = {"Content-Type": "application/json"}
REFERENCE = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")
FACILITIES = {"desk": "1040001", "integration": "1040002"}


def personal_texts(keys: dict[str, str]) -> list[str]:
    """Every form in which the patient's data or a key could show up in a log."""
    day, month, year = f"{BIRTH.day:02d}", f"{BIRTH.month:02d}", f"{BIRTH.year}"
    niks = [NIK, BAD_NIK]
    return [
        *niks,
        *(f"{nik[:4]}.{nik[4:8]}.{nik[8:12]}.{nik[12:]}" for nik in niks),
        *(f"{nik[:4]} {nik[4:8]} {nik[8:12]} {nik[12:]}" for nik in niks),
        NAME,
        NAME.replace(" ", "+"),
        NAME.replace(" ", "%20"),
        "Wahyuningsih",
        BIRTH.isoformat(),
        f"{day}-{month}-{year}",
        f"{day}/{month}/{year}",
        f"{day}.{month}.{year}",
        f"{year}{month}{day}",
        f"{day}{month}{year}",
        *keys.values(),
        "jk_",
    ]


@pytest.fixture
def keys(session: Session) -> dict[str, str]:
    """A desk, an integration client, an auditor and a wrong key; the patient in the registry."""
    for role, code in FACILITIES.items():
        add_facility(session, code, f"Fasilitas {role}")
    population = add_snapshot(session, "population", TODAY - timedelta(days=3))
    jamkesda = add_snapshot(session, "jamkesda", TODAY - timedelta(days=1))
    add_person(session, population, NIK, name=NAME.upper(), birth_date=BIRTH)
    add_membership(session, jamkesda, NIK)
    result = {
        "desk": add_key(session, "desk", FACILITIES["desk"]),
        "integration": add_key(session, "integration", FACILITIES["integration"]),
        "auditor": add_key(session, "auditor"),
        "wrong": "jk_" + "w" * 43,
    }
    session.commit()
    return result


def check_body(**fields: Any) -> dict[str, Any]:
    """A check request with the patient's identity."""
    return {"nik": NIK, "patient_name": NAME, "birth_date": BIRTH.isoformat(), **fields}


def fhir_body() -> dict[str, Any]:
    """A $submit with the patient contained: NIK, name and birth date."""
    patient = {
        "resourceType": "Patient",
        "id": "p",
        "identifier": [{"system": NIK_SYSTEM, "value": NIK}],
        "name": [{"text": NAME}],
        "birthDate": BIRTH.isoformat(),
    }
    return {
        "resourceType": "CoverageEligibilityRequest",
        "status": "active",
        "purpose": ["validation"],
        "patient": {"reference": "#p"},
        "contained": [patient],
        "created": f"{TODAY.isoformat()}T09:00:00+08:00",
        "insurer": {"display": "Jamkesda Kukar"},
    }


def check_traffic(traffic: Traffic) -> str:
    """The checks' doors, with the patient's data, and their errors; the check made."""
    send, checks = traffic.send, "/v1/checks"
    made = send("POST", checks, checks, 201, role="desk", json=check_body())
    check_id = str(made.json()["check_id"])
    traffic.names_check(check_id)
    refused = send("POST", checks, checks, 422, role="desk", json={"nik": BAD_NIK})
    traffic.names_check(refused.json()["check_id"])
    broken = f'{{"nik": "{NIK}", "patient_name": "{NAME}", "birth_date": "{BIRTH}",'
    send("POST", checks, checks, 400, role="desk", data=broken, headers=JSON)
    wrong = {"Authorization": f"Bearer {traffic.keys['wrong']}"}
    send("POST", checks, checks, 401, json=check_body(), headers=wrong)
    send("POST", checks, checks, 403, role="auditor", json=check_body())
    send("POST", checks, checks, 415, role="desk", data=NIK)
    big = json.dumps(check_body(external_ref="x" * (70 * 1024)))
    send("POST", checks, checks, 413, role="desk", data=big, headers=JSON)
    send("DELETE", f"{checks}?nik={NIK}", None, 405)
    send("GET", f"/tidak-ada/{NIK}/{NAME}", None, 404)
    again = {**JSON, "Idempotency-Key": f"{NIK}-{BIRTH}"}
    first = send("POST", checks, checks, 201, role="desk", json=check_body(), headers=again)
    traffic.names_check(first.json()["check_id"])
    send("POST", checks, checks, 201, role="desk", json=check_body(), headers=again)
    traffic.names_check(first.json()["check_id"])  # the replay names the check it repeats
    items = {"checks": [check_body(), {"nik": BAD_NIK, "patient_name": NAME}]}
    send("POST", f"{checks}/batch", f"{checks}/batch", 200, role="integration", json=items)
    route = f"{checks}/<check_id>"
    send("GET", f"{checks}/{check_id}", route, 200, role="desk", check_id=check_id)
    send("GET", f"{checks}/{NIK}", route, 422, role="desk")
    fhir = "/fhir/R4"
    submit = f"{fhir}/CoverageEligibilityRequest/$submit"
    answer = send("POST", submit, submit, 200, role="integration", json=fhir_body())
    fhir_check = answer.json()["id"]
    traffic.names_check(fhir_check)
    read = f"{fhir}/CoverageEligibilityResponse"
    send(
        "GET", f"{read}/{fhir_check}", f"{read}/<check_id>", 200, "integration", check_id=fhir_check
    )
    send("GET", f"{fhir}/metadata", f"{fhir}/metadata", 200)
    return check_id


def audit_traffic(traffic: Traffic, check_id: str) -> None:
    """The audit and ledger APIs and the service endpoints, NIKs in the queries."""
    send, audit, ledger = traffic.send, "/v1/audit", "/v1/ledger"
    for path in ("/healthz", "/readyz", "/openapi.yaml", "/metrics"):
        send("GET", path, path, 200)
    by_nik = {"nik": NIK, "operator": NAME, "from": BIRTH.isoformat()}
    for path in ("checks", "checks.csv"):
        route = f"{audit}/{path}"
        send("GET", route, route, 200, role="auditor", params=by_nik)
    send("GET", f"{audit}/checks", f"{audit}/checks", 403, role="desk", params=by_nik)
    for path in ("", "/replay"):
        route = f"{audit}/checks/<check_id>{path}"
        send("GET", f"{audit}/checks/{check_id}{path}", route, 200, "auditor", check_id=check_id)
    stats = {"group_by": "facility,decision", "nik": NIK}
    send("GET", f"{audit}/stats", f"{audit}/stats", 200, role="auditor", params=stats)
    for path in ("snapshots", "access", "clients"):
        send("GET", f"{audit}/{path}", f"{audit}/{path}", 200, role="auditor")
    for path, params in (
        ("checkpoint", {}),
        ("key", {}),
        ("proof/inclusion", {"check_id": check_id, "tree_size": 1}),
        ("proof/consistency", {"first": 1, "second": 1}),
        ("entries", {"start": 0, "end": 1}),
        ("quarantine", {"nik": NIK}),
    ):
        route = f"{ledger}/{path}"
        # Sequencing may not have caught up yet (a 422): either way, its line is checked.
        send("GET", route, route, None, role="auditor", params=params)


def page_traffic(traffic: Traffic, check_id: str) -> None:
    """The pages: sign-in with a key, a desk check, a console search by NIK, a receipt."""
    send = traffic.send
    desk, result = requests.Session(), "/desk/periksa/<check_id>"
    token = traffic.csrf(desk, "/desk/", "/desk/", None)
    signing_in = {"csrf_token": token, "kunci": traffic.keys["desk"]}
    send("POST", "/desk/", "/desk/", 302, client="desk", web=desk, data=signing_in)
    token = traffic.csrf(desk, "/desk/periksa", "/desk/periksa", "desk")
    form = {"csrf_token": token, **check_body(operator_id="rina")}
    made = send("POST", "/desk/periksa", "/desk/periksa", 303, client="desk", web=desk, data=form)
    desk_check = REFERENCE.search(made.headers["Location"])
    assert desk_check
    traffic.names_check(desk_check.group(0))
    path = f"/desk/periksa/{desk_check.group(0)}"
    send("GET", path, result, 200, client="desk", web=desk, check_id=desk_check.group(0))
    form = {"csrf_token": token, "nik": BAD_NIK, "patient_name": NAME}
    refused = send(
        "POST", "/desk/periksa", "/desk/periksa", 422, client="desk", web=desk, data=form
    )
    shown = REFERENCE.search(refused.text)
    assert shown
    traffic.names_check(shown.group(0))
    send("GET", "/static/desk.css", "/static/<filename>", 200, web=desk)

    console, search = requests.Session(), "/console/pemeriksaan"
    token = traffic.csrf(console, "/console/", "/console/", None)
    wrong = {"csrf_token": token, "kunci": traffic.keys["wrong"]}
    send("POST", "/console/", "/console/", 401, web=console, data=wrong)
    signing_in = {"csrf_token": token, "kunci": traffic.keys["auditor"]}
    send("POST", "/console/", "/console/", 302, client="auditor", web=console, data=signing_in)
    token = traffic.csrf(console, search, search, "auditor")
    by_nik = {"csrf_token": token, "nik": NIK}
    posted = send("POST", search, search, 303, client="auditor", web=console, data=by_nik)
    send("GET", posted.headers["Location"], search, 200, client="auditor", web=console)
    route = f"{search}/<check_id>"
    send("GET", f"{search}/{check_id}", route, 200, client="auditor", web=console)
    traffic.names_check(check_id)
    send("GET", "/console/tidak-ada", None, 404, web=console)

    receipt, route = requests.Session(), "/r/<check_id>"
    token = traffic.csrf(receipt, f"/r/{check_id}", route, None)
    traffic.names_check(check_id)
    for typed, status in ((NIK, 200), (BAD_NIK, 404)):
        unlocking = {"csrf_token": token, "nik": typed}
        send("POST", f"/r/{check_id}", route, status, web=receipt, data=unlocking)
        traffic.names_check(check_id)


def odd_request_lines(traffic: Traffic) -> None:
    """Request lines and headers gunicorn refuses (400), and odd ones it passes on."""
    for head in (
        f"GET /v1/audit/checks?nik={NIK}&n={NAME} HTTP/1.1",
        f"GET /healthz HTTP/1.1\r\nX-{NIK}-{NAME}: {BIRTH}",
    ):
        assert raw_answer(traffic.base, head)[0] == 400, head
    # A NIK as the method is a word gunicorn lets through: the line says OTHER.
    traffic.raw(NIK, "/v1/checks", None, 405, logged="OTHER")
    traffic.raw("GET", f"/v1/checks/{NIK}\x01{BIRTH}", "/v1/checks/<check_id>", 401, "GET")


def break_a_record(engine: Engine, check_id: str) -> None:
    """Put personal data where the service will fail to read it: a reason code it lacks."""
    reasons = json.dumps([{"code": f"{NIK} {NAME} {BIRTH}"}])
    cast = "CAST(:reasons AS JSON)" if engine.dialect.name == "postgresql" else ":reasons"
    with engine.begin() as connection:
        connection.execute(
            text(f"UPDATE check_records SET reasons = {cast} WHERE check_id = :check_id"),
            {"reasons": reasons, "check_id": check_id},
        )


def test_every_door_logs_one_json_line_per_request_and_no_personal_data(
    env: dict[str, str], engine: Engine, session: Session, keys: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    client_ids = {client.role: client.id for client in session.scalars(select(Client))}
    with running_server({**env, "LEDGER_CHECKPOINT_INTERVAL": "0"}, log) as base:
        traffic = Traffic(base, keys, client_ids)
        check_id = check_traffic(traffic)
        audit_traffic(traffic, check_id)
        page_traffic(traffic, check_id)
        odd_request_lines(traffic)
        break_a_record(engine, check_id)
        route = "/v1/checks/<check_id>"
        broken = traffic.send("GET", f"/v1/checks/{check_id}", route, 500, role="desk")
        assert broken.headers["Content-Type"].startswith("application/problem+json")
        traffic.names_check(check_id)
    output, lines = read_log(log)

    assert openapi_operations() <= {(sent.method, sent.route) for sent in traffic.sent}
    facilities = {client_ids[role]: code for role, code in FACILITIES.items()}
    for sent in traffic.sent:
        assert len(lines.get(sent.request_id, [])) == 1, sent
        [line] = lines[sent.request_id]
        assert (line["method"], line["route"], line["status"]) == (
            sent.method,
            sent.route,
            sent.status,
        )
        assert (line["client_id"], line["check_id"]) == (sent.client_id, sent.check_id), sent
        assert line["facility"] == facilities.get(line["client_id"])
        assert isinstance(line["latency_ms"], float)
        assert line["latency_ms"] >= 0
        assert datetime.fromisoformat(line["time"]).utcoffset() == timedelta(hours=8)
    batches = [line["route"] for found in lines.values() for line in found if line["batch_id"]]
    assert batches == ["/v1/checks/batch"]
    # The faults were logged, safely: the traceback with its type, gunicorn's refusals.
    assert "Traceback (most recent call last; messages withheld)" in output
    assert "builtins.ValueError" in output
    assert output.count("Invalid request from ip=127.0.0.1") == 2
    folded = output.casefold()
    for needle in personal_texts(keys):
        assert needle.casefold() not in folded, needle


def test_served_request_ids_are_echoed_when_good_and_replaced_never_echoed_when_bad(
    env: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    good = "simrs-7f3a.b_c:d"
    bad = {"too long": "a" * 129, "control": "desk\x017", "space": "desk 7", "NIK": NIK}
    log = tmp_path / "server.log"
    with running_server(env, log) as base:
        status, headers = raw_answer(base, f"GET /healthz HTTP/1.1\r\nX-Request-ID: {good}")
        assert (status, headers["X-Request-ID"]) == (200, good)
        replaced = {}
        for name, value in bad.items():
            status, headers = raw_answer(base, f"GET /healthz HTTP/1.1\r\nX-Request-ID: {value}")
            assert status == 200, name
            replaced[name] = headers["X-Request-ID"]
            assert re.fullmatch(r"[0-9a-f]{32}", replaced[name]), name
    output, lines = read_log(log)
    assert len(lines[good]) == 1
    for name, generated in replaced.items():
        assert len(lines[generated]) == 1, name
        assert bad[name] not in output, name


def test_a_line_break_in_a_path_cannot_forge_a_log_line(
    env: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    # Issue 14, finding 8: gunicorn's access log wrote the decoded path, so %0D%0A in a
    # path started a new line of the attacker's making, and a NIK in a path was logged.
    forged = '{"time": "2026-01-01", "request_id": "forged", "status": 200}'
    log = tmp_path / "server.log"
    with running_server(env, log) as base:
        for path in (
            "/v1/checks/%0D%0A" + quote(forged, safe=""),
            "/v1/audit/checks/%0A" + quote(forged, safe="") + "%0A",
            f"/v1/checks/{NIK}",
        ):
            assert requests.get(base + path, timeout=10).status_code in (401, 404)
    output, lines = read_log(log)
    assert "forged" not in lines
    assert "forged" not in output
    assert NIK not in output
    # Every line of the server's output is a whole JSON line or a line of gunicorn's own.
    for raw in output.splitlines():
        assert raw.startswith(("{", "[")), raw
