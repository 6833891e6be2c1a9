"""The client library's retries, timeouts and errors, against fake services on loopback.

Each fake is a real HTTP server (or a bare socket) in a thread of the test: the client's
requests cross TCP exactly as they would to the service, so what is counted here is what a
service would have received.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime

import pytest
from jamkesda_client import (
    AuthenticationError,
    CheckRequest,
    CheckResult,
    Client,
    ForbiddenError,
    InvalidRequestError,
    JamkesdaConnectionError,
    JamkesdaTimeoutError,
    NotFoundError,
    ProblemError,
    RateLimitedError,
    ServiceUnavailableError,
    UnexpectedResponseError,
)
from jamkesda_client.retrying import RetryPolicy, retry_after_seconds

from tests.client_fakes import (
    Answer,
    check_body,
    json_answer,
    problem_answer,
    scripted_server,
    silent_server,
)
from tests.test_server import free_port

NIK = "6402014101900001"
KEY = "desk-key"
# Idempotency-Key: 1–64 printable ASCII characters (SPEC §9.1).
PRINTABLE_KEY = re.compile(r"[\x20-\x7e]{1,64}")


def fast_client(url: str, **options: float) -> Client:
    """A client whose backoff waits are a few milliseconds, so tests time only what they mean."""
    settings: dict[str, float] = {"timeout": 2.0, "retries": 3, "backoff": 0.01, **options}
    return Client(
        url,
        KEY,
        timeout=settings["timeout"],
        retries=int(settings["retries"]),
        backoff=settings["backoff"],
        max_wait=settings.get("max_wait", 10.0),
    )


def test_two_503_then_201_returns_the_201_after_three_requests_with_one_key() -> None:
    with (
        scripted_server(
            problem_answer(503, "DATABASE_UNAVAILABLE"),
            problem_answer(503, "DATABASE_UNAVAILABLE"),
            json_answer(201, check_body("HQ4Z-8N1C-7B2F")),
        ) as fake,
        fast_client(fake.url) as client,
    ):
        result = client.check(NIK, operator_id="rina")
    assert result.check_id == "HQ4Z-8N1C-7B2F"
    assert result.decision == "ELIGIBLE"
    assert len(fake.requests) == 3
    keys = {seen.headers["Idempotency-Key"] for seen in fake.requests}
    assert len(keys) == 1
    assert PRINTABLE_KEY.fullmatch(keys.pop())
    assert all(seen.json() == {"nik": NIK, "operator_id": "rina"} for seen in fake.requests)
    assert all(seen.headers["Authorization"] == f"Bearer {KEY}" for seen in fake.requests)


def test_each_logical_check_gets_its_own_idempotency_key() -> None:
    with (
        scripted_server(json_answer(201, check_body()), json_answer(201, check_body())) as fake,
        fast_client(fake.url) as client,
    ):
        client.check(NIK)
        client.check(NIK)
    first, second = (seen.headers["Idempotency-Key"] for seen in fake.requests)
    assert first != second


def test_a_key_given_by_the_caller_is_sent_and_a_malformed_one_sends_nothing() -> None:
    with (
        scripted_server(json_answer(201, check_body())) as fake,
        fast_client(fake.url) as client,
    ):
        client.check(NIK, idempotency_key="REG-0042/visit-1")
        with pytest.raises(ValueError, match="Idempotency-Key"):
            client.check(NIK, idempotency_key="x" * 65)
    assert [seen.headers["Idempotency-Key"] for seen in fake.requests] == ["REG-0042/visit-1"]


def test_429_waits_for_retry_after_before_trying_again() -> None:
    with (
        scripted_server(
            problem_answer(429, "RATE_LIMITED", Retry_After=1), json_answer(201, check_body())
        ) as fake,
        fast_client(fake.url) as client,
    ):
        result = client.check(NIK)
    assert result.check_id == "K7QM-3XD9-2F4A"
    first, second = fake.requests
    # The backoff alone would have waited at most 10 ms: the second second is Retry-After's.
    assert second.at - first.at >= 0.95
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]


def test_a_retry_after_longer_than_max_wait_is_cut_to_max_wait() -> None:
    with (
        scripted_server(
            problem_answer(503, "DATABASE_UNAVAILABLE", Retry_After=3600),
            json_answer(201, check_body()),
        ) as fake,
        fast_client(fake.url, max_wait=0.2) as client,
    ):
        client.check(NIK)
    first, second = fake.requests
    assert 0.15 <= second.at - first.at < 2


def test_409_key_in_use_is_asked_again_with_the_same_key_until_answered() -> None:
    with (
        scripted_server(
            problem_answer(409, "IDEMPOTENCY_KEY_IN_USE", Retry_After=1),
            json_answer(201, check_body(), **{"Idempotent-Replayed": "true"}),
        ) as fake,
        fast_client(fake.url) as client,
    ):
        result = client.check(NIK)
    assert result.replayed is True
    first, second = fake.requests
    assert second.at - first.at >= 0.95
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]


def test_a_batch_sends_its_items_and_one_key_on_every_attempt() -> None:
    answer = {
        "batch_id": "B-1",
        "results": [
            {"index": 1, "status": 422, "problem": {"code": "INVALID_NIK", "check_id": "X-2"}},
            {"index": 0, "status": 201, "check": check_body("X-1")},
        ],
    }
    with (
        scripted_server(problem_answer(503, "DATABASE_UNAVAILABLE"), json_answer(200, answer)) as f,
        fast_client(f.url) as client,
    ):
        batch = client.check_batch(
            [
                {"nik": NIK, "service_date": date(2026, 11, 27), "operator_id": None},
                CheckRequest("123", service_type="inpatient"),
            ]
        )
    assert [seen.path for seen in f.requests] == ["/v1/checks/batch"] * 2
    assert f.requests[0].json() == {
        "checks": [
            {"nik": NIK, "service_date": "2026-11-27"},
            {"nik": "123", "service_type": "inpatient"},
        ]
    }
    assert len({seen.headers["Idempotency-Key"] for seen in f.requests}) == 1
    # Results come in the order of the items, whatever order the answer lists them in.
    assert isinstance(batch.results[0], CheckResult)
    assert batch.results[0].check_id == "X-1"
    assert [(p.index, p.code, p.check_id) for p in batch.problems] == [(1, "INVALID_NIK", "X-2")]


@pytest.mark.parametrize(
    ("status", "code", "exception"),
    [
        (400, "MALFORMED_JSON", ProblemError),
        (401, "UNAUTHENTICATED", AuthenticationError),
        (403, "FORBIDDEN", ForbiddenError),
        (404, "CHECK_NOT_FOUND", NotFoundError),
        (409, "ENTRY_UNAVAILABLE", ProblemError),
        (422, "IDEMPOTENCY_KEY_REUSED", InvalidRequestError),
        (500, "INTERNAL_ERROR", ProblemError),
    ],
)
def test_an_error_that_retrying_cannot_mend_is_raised_after_one_request(
    status: int, code: str, exception: type[ProblemError]
) -> None:
    with (
        scripted_server(problem_answer(status, code)) as fake,
        fast_client(fake.url) as client,
        pytest.raises(exception) as raised,
    ):
        client.check(NIK)
    assert len(fake.requests) == 1
    assert (raised.value.status, raised.value.code, raised.value.attempts) == (status, code, 1)


def test_a_refused_check_raises_with_every_member_of_the_problem() -> None:
    problem = problem_answer(
        422,
        "INVALID_NIK",
        detail="Periksa kembali isian yang ditandai.",
        errors={"nik": ["NIK harus 16 angka."]},
        check_id="K7QM-3XD9-2F4A",
    )
    with (
        scripted_server(problem) as fake,
        fast_client(fake.url) as client,
        pytest.raises(InvalidRequestError) as raised,
    ):
        client.check("1234")
    error = raised.value
    assert error.status == 422
    assert error.code == "INVALID_NIK"
    assert error.detail == "Periksa kembali isian yang ditandai."
    assert error.errors == {"nik": ["NIK harus 16 angka."]}
    assert error.check_id == "K7QM-3XD9-2F4A"
    assert "INVALID_NIK" in str(error)
    assert "K7QM-3XD9-2F4A" in str(error)


def test_503_until_the_retries_are_spent_raises_service_unavailable() -> None:
    answers = [problem_answer(503, "DATABASE_UNAVAILABLE") for _ in range(3)]
    with (
        scripted_server(*answers) as fake,
        fast_client(fake.url, retries=2) as client,
        pytest.raises(ServiceUnavailableError) as raised,
    ):
        client.check(NIK)
    assert len(fake.requests) == 3
    assert raised.value.code == "DATABASE_UNAVAILABLE"
    assert raised.value.attempts == 3


def test_429_until_the_retries_are_spent_raises_rate_limited() -> None:
    answers = [problem_answer(429, "RATE_LIMITED", Retry_After=0) for _ in range(2)]
    with (
        scripted_server(*answers) as fake,
        fast_client(fake.url, retries=1) as client,
        pytest.raises(RateLimitedError),
    ):
        client.check(NIK)
    assert len(fake.requests) == 2


def test_a_get_is_tried_again_on_503() -> None:
    with (
        scripted_server(
            problem_answer(503, "DATABASE_UNAVAILABLE"), json_answer(200, check_body("X-9"))
        ) as fake,
        fast_client(fake.url) as client,
    ):
        result = client.get_check("X-9")
    assert result.check_id == "X-9"
    assert [(seen.method, seen.path) for seen in fake.requests] == [("GET", "/v1/checks/X-9")] * 2
    assert "Idempotency-Key" not in fake.requests[0].headers


def test_a_proxy_error_page_is_retried_then_raised_with_its_text() -> None:
    page = Answer(502, {"Content-Type": "text/html"}, b"<html><h1>502 Bad Gateway</h1></html>")
    with (
        scripted_server(page, page) as fake,
        fast_client(fake.url, retries=1) as client,
        pytest.raises(ServiceUnavailableError) as raised,
    ):
        client.check(NIK)
    assert len(fake.requests) == 2
    assert raised.value.code is None
    assert "502 Bad Gateway" in raised.value.detail


def test_a_success_that_is_not_json_raises_unexpected_response() -> None:
    page = Answer(200, {"Content-Type": "text/html"}, b"<html>captive portal</html>")
    with (
        scripted_server(page) as fake,
        fast_client(fake.url) as client,
        pytest.raises(UnexpectedResponseError),
    ):
        client.check(NIK)


def test_a_service_that_never_answers_raises_a_timeout_in_bounded_time() -> None:
    timeout, retries, backoff = 0.3, 2, 0.05
    with silent_server() as fake, fast_client(fake.url, timeout=timeout, retries=retries) as client:
        started = time.monotonic()
        with pytest.raises(JamkesdaTimeoutError) as raised:
            client.check(NIK)
        elapsed = time.monotonic() - started
        connections = len(fake.connections)
    attempts = retries + 1
    assert raised.value.attempts == attempts
    assert connections == attempts
    assert raised.value.idempotency_key
    # Each attempt waits its timeout; the waits between them add at most 2 × backoff.
    assert timeout * attempts <= elapsed < timeout * attempts + retries * backoff + 1.0


def test_a_refused_connection_raises_a_connection_error_after_the_retries() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with fast_client(url, retries=2) as client:
        started = time.monotonic()
        with pytest.raises(JamkesdaConnectionError) as raised:
            client.check(NIK)
    assert raised.value.attempts == 3
    assert "refused" in str(raised.value).lower()
    assert time.monotonic() - started < 2


def test_backoff_is_full_jitter_under_an_exponential_bound_and_max_wait() -> None:
    policy = RetryPolicy(retries=5, backoff=0.5, max_wait=3.0)
    for retry, bound in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 3.0), (6, 3.0)]:
        waits = [policy.wait_seconds(retry) for _ in range(200)]
        assert all(0 <= wait <= bound for wait in waits)
        # Full jitter spreads the waits over the whole range, not near the bound only.
        assert min(waits) < bound / 4
        assert max(waits) > bound * 3 / 4
    assert policy.wait_seconds(0, retry_after=2.0) == 2.0
    assert policy.wait_seconds(0, retry_after=60.0) == 3.0


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    now = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
    assert retry_after_seconds("1") == 1.0
    assert retry_after_seconds(" 30 ") == 30.0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=7), usegmt=True), now) == 7
    assert retry_after_seconds(format_datetime(now - timedelta(hours=1), usegmt=True), now) == 0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("-5") is None
    assert retry_after_seconds(None) is None
