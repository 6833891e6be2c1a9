"""``GET /metrics`` in-process (SPEC §11): what it counts, its labels, METRICS=off, the database."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from models import CheckRecord
from service import create_app
from service.config import ConfigError, Settings
from service.imports.command import import_command
from service.ledger.sequencer import sequence
from tests.conftest import RESIDENT, bearer
from tests.test_fhir_api import request_for, submit
from tests.test_health import UNREACHABLE_URL, app_on
from tests.test_imports import person, write_csv
from tests.test_web_desk import check_through_desk
from tests.test_web_sessions import sign_in

# Every NIK sent in these tests, by every way a client could try to put it into a label.
NIKS = (RESIDENT, "6402010101800002", "6402010101800004", "6402010101800005")


def sent(http: FlaskClient, method: str, path: str, **options: Any) -> TestResponse:
    """Send a request and close its answer, as a server does (it is counted then)."""
    answer = http.open(path, method=method, buffered=True, **options)
    answer.close()
    return answer


def scrape(http: FlaskClient) -> str:
    """The text of ``/metrics``, which must answer 200 in Prometheus's text format."""
    answer = sent(http, "GET", "/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return answer.get_data(as_text=True)


def value(text: str, name: str, **labels: str) -> float:
    """The sample ``name`` with exactly ``labels`` in a scrape's text; 0 if absent."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def names(text: str) -> set[str]:
    """The families of a scrape's text."""
    return {family.name for family in text_string_to_metric_families(text)}


def check(http: FlaskClient, key: str, body: dict[str, Any], **headers: str) -> TestResponse:
    """``POST /v1/checks`` with a key."""
    return sent(http, "POST", "/v1/checks", json=body, headers={**bearer(key), **headers})


def test_a_check_counts_once_under_its_decision_and_the_api_channel(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any]
) -> None:
    before = scrape(http)
    answer = check(http, keys["desk"], {"nik": RESIDENT})
    assert answer.status_code == 201
    decision = answer.json["decision"]  # type: ignore[index]
    after = scrape(http)
    counted = "jamkesda_checks_total"
    assert value(after, counted, decision=decision, channel="api") == (
        value(before, counted, decision=decision, channel="api") + 1
    )
    total_before = sum(family_values(before, counted))
    assert sum(family_values(after, counted)) == total_before + 1


def family_values(text: str, name: str) -> list[float]:
    """Every sample value of ``name`` in a scrape's text."""
    return [
        float(sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def test_a_refused_request_counts_as_invalid_request(
    http: FlaskClient, keys: dict[str, str]
) -> None:
    before = scrape(http)
    assert check(http, keys["desk"], {"nik": "12"}).status_code == 422
    after = scrape(http)
    labels = {"decision": "INVALID_REQUEST", "channel": "api"}
    assert value(after, "jamkesda_checks_total", **labels) == (
        value(before, "jamkesda_checks_total", **labels) + 1
    )


def test_a_batch_counts_each_item_under_the_batch_channel(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any]
) -> None:
    before = scrape(http)
    items = [{"nik": RESIDENT}, {"nik": RESIDENT}, {"nik": "bukan NIK"}]
    answer = sent(
        http,
        "POST",
        "/v1/checks/batch",
        json={"checks": items},
        headers=bearer(keys["integration"]),
    )
    assert answer.status_code == 200, answer.text
    results = answer.json["results"]  # type: ignore[index]
    decision = results[0]["check"]["decision"]
    after = scrape(http)
    for labels, added in (
        ({"decision": decision, "channel": "batch"}, 2),
        ({"decision": "INVALID_REQUEST", "channel": "batch"}, 1),
    ):
        assert value(after, "jamkesda_checks_total", **labels) == (
            value(before, "jamkesda_checks_total", **labels) + added
        ), labels


def test_checks_through_the_desk_page_and_fhir_count_under_their_channels(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any], session: Session
) -> None:
    before = scrape(http)
    answer = submit(http, keys["integration"], request_for(RESIDENT))
    answer.close()
    assert answer.status_code == 200
    sign_in(http, "desk", keys["desk"])
    check_through_desk(http, nik=RESIDENT)
    after = scrape(http)
    decisions = {
        record.channel: record.decision for record in session.scalars(select(CheckRecord)).all()
    }
    assert set(decisions) == {"fhir", "desk"}
    for channel, decision in decisions.items():
        labels = {"decision": decision, "channel": channel}
        assert value(after, "jamkesda_checks_total", **labels) == (
            value(before, "jamkesda_checks_total", **labels) + 1
        ), labels
    assert sum(family_values(after, "jamkesda_checks_total")) == (
        sum(family_values(before, "jamkesda_checks_total")) + 2
    )


def test_an_idempotent_replay_counts_as_a_replay_and_not_as_a_check(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any]
) -> None:
    key = {"Idempotency-Key": secrets.token_hex(8)}
    first = check(http, keys["desk"], {"nik": RESIDENT}, **key)
    before = scrape(http)
    again = check(http, keys["desk"], {"nik": RESIDENT}, **key)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json
    after = scrape(http)
    replays = "jamkesda_idempotent_replays_total"
    assert (
        value(after, replays, route="/v1/checks") == value(before, replays, route="/v1/checks") + 1
    )
    assert sum(family_values(after, "jamkesda_checks_total")) == sum(
        family_values(before, "jamkesda_checks_total")
    )


def test_requests_are_counted_by_route_pattern_and_unmatched_paths_by_a_fixed_label(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any]
) -> None:
    made = check(http, keys["desk"], {"nik": RESIDENT})
    check_id = made.json["check_id"]  # type: ignore[index]
    pattern = {"method": "GET", "route": "/v1/checks/<check_id>", "status": "200"}
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    before = scrape(http)
    assert (
        sent(http, "GET", f"/v1/checks/{check_id}", headers=bearer(keys["desk"])).status_code == 200
    )
    assert sent(http, "GET", f"/v1/peserta/{RESIDENT}").status_code == 404
    after = scrape(http)
    requests = "jamkesda_http_requests_total"
    assert value(after, requests, **pattern) == value(before, requests, **pattern) + 1
    assert value(after, requests, **unmatched) == value(before, requests, **unmatched) + 1
    duration = "jamkesda_http_request_duration_seconds_count"
    route = {"method": "GET", "route": "/v1/checks/<check_id>"}
    assert value(after, duration, **route) == value(before, duration, **route) + 1
    assert check_id not in after


def test_a_method_outside_the_standard_set_is_counted_as_other(http: FlaskClient) -> None:
    labels = {"method": "OTHER", "route": "unmatched", "status": "405"}
    before = scrape(http)
    assert sent(http, f"X{RESIDENT}", "/healthz").status_code == 405
    after = scrape(http)
    requests = "jamkesda_http_requests_total"
    assert value(after, requests, **labels) == value(before, requests, **labels) + 1
    assert RESIDENT not in after


def test_no_nik_reaches_the_metrics_whatever_the_client_sends(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any]
) -> None:
    for nik in NIKS:
        check(http, keys["desk"], {"nik": nik}, **{"Idempotency-Key": nik, "X-Request-ID": nik})
        check(http, keys["desk"], {"nik": nik}, **{"Idempotency-Key": nik})
        sent(http, "GET", f"/v1/checks/{nik}", headers=bearer(keys["desk"]))
        sent(http, "GET", f"/{nik}?nik={nik}")
        sent(http, "POST", f"/fhir/R4/Patient/{nik}", json={"nik": nik})
    text = scrape(http)
    for nik in NIKS:
        assert nik not in text
    assert keys["desk"] not in text


def test_metrics_off_removes_the_endpoint_and_counts_nothing(
    settings: Settings,
    engine: Engine,
    http: FlaskClient,
    keys: dict[str, str],
    registry: dict[str, Any],
) -> None:
    off = create_app(dataclasses.replace(settings, metrics=False), engine).test_client()
    before = scrape(http)
    answer = sent(off, "GET", "/metrics")
    assert answer.status_code == 404
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert check(off, keys["desk"], {"nik": RESIDENT}).status_code == 201
    after = scrape(http)
    assert sum(family_values(after, "jamkesda_checks_total")) == sum(
        family_values(before, "jamkesda_checks_total")
    )
    # Only the scrape of ``before`` itself was counted in between (by the app counting).
    requests = "jamkesda_http_requests_total"
    assert sum(family_values(after, requests)) == sum(family_values(before, requests)) + 1


@pytest.mark.parametrize("text", ["yes", "0", "of"])
def test_a_malformed_metrics_setting_is_a_config_error_naming_it(
    env: dict[str, str], text: str
) -> None:
    with pytest.raises(ConfigError, match="METRICS"):
        Settings.from_env({**env, "METRICS": text})


@pytest.mark.parametrize(("text", "expected"), [("", True), ("on", True), (" OFF ", False)])
def test_the_metrics_setting_reads_on_and_off(
    env: dict[str, str], text: str, expected: bool
) -> None:
    assert Settings.from_env({**env, "METRICS": text}).metrics is expected


def test_the_database_families_show_imports_and_the_ledger(
    http: FlaskClient,
    keys: dict[str, str],
    env: dict[str, str],
    engine: Engine,
    tmp_path: Path,
) -> None:
    empty = scrape(http)
    assert value(empty, "jamkesda_metrics_database_up") == 1
    assert value(empty, "jamkesda_ledger_leaves") == 0
    assert value(empty, "jamkesda_ledger_sequencing_lag_seconds") == 0
    path = write_csv(tmp_path / "p.csv", [person(1), person(2), person(3)])
    runner = CliRunner()
    result = runner.invoke(
        import_command, ["population", str(path), "--as-of", "2026-11-01"], env=env
    )
    assert result.exit_code == 0, result.output
    older = write_csv(tmp_path / "o.csv", [person(1)])
    result = runner.invoke(
        import_command, ["population", str(older), "--as-of", "2026-10-01"], env=env
    )
    assert result.exit_code == 0, result.output
    for _ in range(3):
        assert check(http, keys["desk"], {"nik": RESIDENT}).status_code == 201
    queued = scrape(http)
    assert value(queued, "jamkesda_import_runs_total", source="population", outcome="in_force") == 1
    assert value(queued, "jamkesda_import_runs_total", source="population", outcome="history") == 1
    assert value(queued, "jamkesda_import_rows_total", source="population") == 4
    assert (
        value(queued, "jamkesda_import_row_changes_total", source="population", change="added") >= 3
    )
    assert value(queued, "jamkesda_import_last_run_timestamp_seconds", source="population") > 0
    assert value(queued, "jamkesda_ledger_unsequenced_records") == 3
    assert value(queued, "jamkesda_ledger_sequencing_lag_seconds") > 0
    assert value(queued, "jamkesda_ledger_leaves") == 0
    with Session(engine) as session:
        assert sequence(session) == 3
        session.commit()
    sequenced = scrape(http)
    assert value(sequenced, "jamkesda_ledger_leaves") == 3
    assert value(sequenced, "jamkesda_ledger_unsequenced_records") == 0
    assert value(sequenced, "jamkesda_ledger_sequencing_lag_seconds") == 0


@pytest.fixture
def unreachable() -> Iterator[FlaskClient]:
    """A test client of an app whose database cannot be reached."""
    app, engine = app_on(UNREACHABLE_URL)
    try:
        yield app.test_client()
    finally:
        engine.dispose()


def test_metrics_answer_200_without_the_database_families_when_it_is_gone(
    unreachable: FlaskClient,
) -> None:
    sent(unreachable, "GET", "/healthz")
    text = scrape(unreachable)
    assert value(text, "jamkesda_metrics_database_up") == 0
    assert "jamkesda_ledger_leaves" not in names(text)
    assert "jamkesda_import_runs" not in names(text)
    assert (
        value(text, "jamkesda_http_requests_total", method="GET", route="/healthz", status="200")
        >= 1
    )


def test_metrics_need_no_key(app: Flask) -> None:
    answer = sent(app.test_client(), "GET", "/metrics", headers={"Authorization": "Bearer x"})
    assert answer.status_code == 200
