"""Request lines, ``X-Request-ID`` and safe error lines (SPEC §11), in process."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from service import create_app
from service.config import ConfigError, Settings, request_log
from service.logs.request_line import request_id_of
from service.logs.safe import safe_traceback, scrub
from tests.conftest import RESIDENT, bearer

GENERATED = re.compile(r"[0-9a-f]{32}")
NAME = "Siti Aminah"
BIRTH = "1990-01-01"
KEY = "jk_" + "k" * 43
REFUSED_IDS = {
    "too long": "a" * 129,
    "empty": "",
    "a space": "desk 7",
    "a tab": "desk\t7",
    "a control character": "desk\x017",
    "a NUL": "desk\x007",
    "a newline": "desk\n7",
    "a slash": "desk/7",
    "non-ASCII": "pemeriksaan-ké-7",
    "a NIK": RESIDENT,
    "a dotted NIK": "6402.0141.0190.0001",
    "a birth date": BIRTH,
    "a key": KEY,
}


def lines(err: str) -> list[dict[str, Any]]:
    """The JSON request lines written to standard error."""
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def sent(http: FlaskClient, method: str, path: str, **options: Any) -> TestResponse:
    """Send a request and close its answer, as a server does (the line is written then)."""
    answer = http.open(path, method=method, buffered=True, **options)
    answer.close()
    return answer


@pytest.mark.parametrize(
    "good", ["a", "A" * 128, "req-7f3a.b_c:d", "550e8400-e29b-41d4-a716-446655440000", "1234567"]
)
def test_an_acceptable_request_id_is_echoed_and_logged(
    http: FlaskClient, capsys: pytest.CaptureFixture[str], good: str
) -> None:
    answer = sent(http, "GET", "/healthz", headers={"X-Request-ID": good})
    assert answer.headers["X-Request-ID"] == good
    [line] = lines(capsys.readouterr().err)
    assert line["request_id"] == good


@pytest.mark.parametrize("bad", REFUSED_IDS.values(), ids=REFUSED_IDS.keys())
def test_a_refused_request_id_is_replaced_and_never_echoed(
    http: FlaskClient, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    # Straight into the environ, as a server would pass it (Werkzeug's client refuses \n).
    answer = sent(http, "GET", "/healthz", environ_base={"HTTP_X_REQUEST_ID": bad})
    generated = answer.headers["X-Request-ID"]
    assert GENERATED.fullmatch(generated)
    err = capsys.readouterr().err
    [line] = lines(err)
    assert line["request_id"] == generated
    if bad:
        assert bad not in err


def test_each_request_without_an_id_gets_its_own(
    http: FlaskClient, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = {sent(http, "GET", "/healthz").headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3
    assert {line["request_id"] for line in lines(capsys.readouterr().err)} == ids


@pytest.mark.parametrize(
    ("method", "path", "status", "media_type", "options"),
    [
        ("GET", f"/tidak-ada/{RESIDENT}", 404, "application/problem+json", {}),
        ("DELETE", "/v1/checks", 405, "application/problem+json", {}),
        (
            "POST",
            "/v1/checks",
            413,
            "application/problem+json",
            {"data": "x" * 70_000, "content_type": "application/json", "key": 1},
        ),
        ("POST", "/console/", 413, "text/html", {"data": {"kunci": "x" * 70_000}}),
        ("POST", "/v1/checks", 401, "application/problem+json", {"json": {"nik": RESIDENT}}),
        ("GET", "/fhir/R4/tidak-ada", 404, "application/fhir+json", {}),
        ("GET", "/console/tidak-ada", 404, "text/html", {}),
        ("GET", "/console/pemeriksaan", 302, "text/html", {}),
    ],
)
def test_every_answer_carries_the_request_id_errors_too(
    http: FlaskClient,
    keys: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    method: str,
    path: str,
    status: int,
    media_type: str,
    options: dict[str, Any],
) -> None:
    keyed = bearer(keys["desk"]) if options.get("key") else {}
    request = {name: value for name, value in options.items() if name != "key"}
    answer = sent(http, method, path, headers={"X-Request-ID": "r-1", **keyed}, **request)
    assert (answer.status_code, answer.mimetype) == (status, media_type)
    assert answer.headers["X-Request-ID"] == "r-1"
    [line] = lines(capsys.readouterr().err)
    assert (line["request_id"], line["method"], line["status"]) == ("r-1", method, status)


def test_a_line_names_the_route_pattern_and_the_caller_never_the_path(
    http: FlaskClient, keys: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    sent(http, "GET", f"/v1/checks/{RESIDENT}", headers=bearer(keys["desk"]))
    sent(http, "GET", f"/v1/audit/checks?nik={RESIDENT}", headers=bearer(keys["auditor"]))
    err = capsys.readouterr().err
    desk, auditor = lines(err)
    assert (desk["route"], desk["status"], desk["facility"]) == (
        "/v1/checks/<check_id>",
        422,
        "1040001",
    )
    assert desk["check_id"] is None
    assert (auditor["route"], auditor["status"], auditor["facility"]) == (
        "/v1/audit/checks",
        200,
        None,
    )
    assert desk["client_id"] != auditor["client_id"]
    assert RESIDENT not in err


def test_a_check_made_or_refused_is_named_in_its_line(
    http: FlaskClient,
    keys: dict[str, str],
    registry: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    made = sent(http, "POST", "/v1/checks", json={"nik": RESIDENT}, headers=bearer(keys["desk"]))
    refused = sent(http, "POST", "/v1/checks", json={"nik": "1"}, headers=bearer(keys["desk"]))
    read = sent(
        http,
        "GET",
        f"/v1/checks/{made.get_json()['check_id'].lower()}",
        headers=bearer(keys["desk"]),
    )
    assert (made.status_code, refused.status_code, read.status_code) == (201, 422, 200)
    checks = [line["check_id"] for line in lines(capsys.readouterr().err)]
    assert checks == [made.get_json()["check_id"], refused.get_json()["check_id"], checks[0]]


def test_request_log_off_writes_no_line_and_still_sends_the_id(
    settings: Settings, engine: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    quiet = create_app(Settings(**{**settings.__dict__, "request_log": False}), engine)
    answer = sent(quiet.test_client(), "GET", "/healthz", headers={"X-Request-ID": "q-1"})
    assert answer.headers["X-Request-ID"] == "q-1"
    assert lines(capsys.readouterr().err) == []


@pytest.mark.parametrize("value", ["", "on", "OFF", " off "])
def test_request_log_reads_on_or_off(value: str) -> None:
    assert request_log({"REQUEST_LOG": value}) is (value.strip().lower() != "off")


def test_request_log_of_another_value_stops_start_up_naming_it() -> None:
    with pytest.raises(ConfigError, match="REQUEST_LOG"):
        request_log({"REQUEST_LOG": "yes"})


def _fault(check_id: str = "") -> Any:
    """A view that fails with personal data in its exceptions' messages, one causing another."""
    try:
        raise KeyError(f"{RESIDENT} {KEY}")
    except KeyError as error:
        raise ValueError(f"no such person: {NAME}, born {BIRTH}") from error


@pytest.fixture
def failing_app(app: Flask) -> Flask:
    """The app with a route that fails unexpectedly (for this test only)."""
    app.add_url_rule("/v1/test-fault/<check_id>", "test_fault", _fault, methods=["POST"])
    return app


def test_an_unexpected_error_is_500_with_a_traceback_of_frames_and_types_only(
    failing_app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = sent(
        failing_app.test_client(),
        "POST",
        f"/v1/test-fault/{RESIDENT}",
        json={"nik": RESIDENT, "patient_name": NAME, "birth_date": BIRTH},
        headers={"X-Request-ID": "boom-1", **bearer(KEY)},
    )
    assert answer.status_code == 500
    assert answer.mimetype == "application/problem+json"
    assert answer.headers["X-Request-ID"] == "boom-1"
    err = capsys.readouterr().err
    assert "service.errors: unexpected error [request_id=boom-1]" in err
    assert "Traceback (most recent call last; messages withheld)" in err
    assert f'File "{__file__}", line' in err
    assert "in _fault" in err
    assert "builtins.KeyError" in err
    assert "builtins.ValueError" in err
    [line] = lines(err)
    assert (line["route"], line["status"], line["check_id"]) == (
        "/v1/test-fault/<check_id>",
        500,
        None,
    )
    for personal in (RESIDENT, NAME, BIRTH, KEY, "jk_"):
        assert personal not in err


def test_a_traceback_keeps_the_chain_oldest_first_without_messages() -> None:
    try:
        _fault()
    except ValueError as error:
        text = safe_traceback(error)
    first, second = text.split("\nThen, while handling it or caused by it:\n")
    assert first.rstrip().endswith("builtins.KeyError")
    assert second.rstrip().endswith("builtins.ValueError")
    assert NAME not in text
    assert RESIDENT not in text


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        (
            "Invalid HTTP request line: 'GET /v1/audit/checks?nik=6402014101900001 HTTP/1.1'",
            "Invalid HTTP request line: '…'",
        ),
        (
            f"Error handling request /v1/audit/checks?nik={RESIDENT}",
            "Error handling request /v1/audit/checks?…",
        ),
        (f"Error handling request /r/{RESIDENT}", "Error handling request /r/…"),
        ("born 1990-01-01, 01/01/1990 or 01.01.1990", "born …, … or …"),
        ("NIK 6402 0141 0190 0001 typed", "NIK … typed"),
        (
            "Invalid request from ip=192.168.100.200: x",
            "Invalid request from ip=192.168.100.200: x",
        ),
        ("Booting worker with pid: 4194304", "Booting worker with pid: 4194304"),
    ],
)
def test_scrubbing_withholds_quoted_text_queries_and_long_digit_runs(
    text: str, scrubbed: str
) -> None:
    assert scrub(text) == scrubbed


def test_a_library_record_with_its_traceback_is_written_safely(
    app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        _fault()
    except ValueError:
        logging.getLogger("sqlalchemy.pool").exception("reset failed for %s", f"'{RESIDENT}'")
    err = capsys.readouterr().err
    assert "[ERROR] sqlalchemy.pool: reset failed for '…'" in err
    assert "builtins.ValueError" in err
    assert RESIDENT not in err
    assert NAME not in err


def test_request_id_of_takes_only_the_characters_of_the_spec() -> None:
    assert request_id_of("Aa0._:-") == "Aa0._:-"
    assert GENERATED.fullmatch(request_id_of(None))
    assert GENERATED.fullmatch(request_id_of("a+b"))
