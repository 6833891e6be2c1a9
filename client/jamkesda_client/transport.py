"""One HTTP call to the service: its attempts, the waits between them, and its errors."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import requests

from jamkesda_client.answers import field_errors
from jamkesda_client.errors import (
    JamkesdaConnectionError,
    JamkesdaTimeoutError,
    ProblemError,
    problem_error_class,
)
from jamkesda_client.retrying import RetryPolicy, retry_after_seconds, retryable_status
from jamkesda_client.version import __version__

USER_AGENT = f"jamkesda-client/{__version__} python-requests/{requests.__version__}"
# How much of an answer that is not problem+json (a proxy's page) goes into the error.
_TEXT_SNIPPET = 200


class Transport:
    """Sends requests with the key, a per-attempt timeout and the retry policy."""

    def __init__(
        self,
        base_url: str,
        key: str,
        timeout: float,
        policy: RetryPolicy,
        session: requests.Session | None = None,
    ) -> None:
        """Check the address and timeout; make a session unless one is given."""
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, not {base_url!r}")
        if timeout <= 0:
            raise ValueError("timeout must be more than 0 seconds")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.policy = policy
        # A session the caller passed in is theirs to close; one made here is closed here.
        self._owns_session = session is None
        self.session = session or requests.Session()
        self._headers = {"Authorization": f"Bearer {key}", "User-Agent": USER_AGENT}

    def close(self) -> None:
        """Close the pooled connections (of a session made here)."""
        if self._owns_session:
            self.session.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        idempotency_key: str | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """A 2xx answer, after as many attempts as the policy allows; else an exception.

        A GET, and a POST carrying an Idempotency-Key, are tried again after a timeout or a
        connection failure: the key makes the service answer a repeat with the first
        attempt's record instead of deciding twice. Any request is tried again on an answer
        that says nothing was done (see ``retryable_status``).
        """
        headers = dict(self._headers)
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        repeatable = method == "GET" or idempotency_key is not None
        attempts = self.policy.retries + 1
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            try:
                response = self.session.request(
                    method,
                    self.base_url + path,
                    params=params,
                    json=json_body,
                    headers=headers,
                    # Connecting and each wait for bytes are bounded, so no attempt hangs.
                    timeout=(self.timeout, self.timeout),
                    stream=stream,
                )
            except requests.Timeout as exc:
                if last or not repeatable:
                    raise JamkesdaTimeoutError(
                        f"{method} {path}: no answer within {self.timeout:g} s "
                        f"({attempt} attempt{'s' if attempt > 1 else ''})",
                        attempts=attempt,
                        idempotency_key=idempotency_key,
                    ) from exc
                self._wait(attempt, None)
                continue
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                # A certificate the client refuses stays refused: trying again cannot help.
                if last or not repeatable or isinstance(exc, requests.exceptions.SSLError):
                    raise JamkesdaConnectionError(
                        f"{method} {self.base_url}{path}: cannot reach the service "
                        f"({_reason(exc)}; {attempt} attempt{'s' if attempt > 1 else ''})",
                        attempts=attempt,
                        idempotency_key=idempotency_key,
                    ) from exc
                self._wait(attempt, None)
                continue
            if 200 <= response.status_code < 300:
                return response
            problem = problem_from(response, attempt)
            if last or not retryable_status(problem.status, problem.code):
                raise problem
            self._wait(attempt, retry_after_seconds(response.headers.get("Retry-After")))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _wait(self, attempt: int, retry_after: float | None) -> None:
        """Sleep before the next attempt (``attempt`` is the number of the one that failed)."""
        time.sleep(self.policy.wait_seconds(attempt - 1, retry_after))


def _reason(exc: Exception) -> str:
    """Why a connection failed, without the URL (its query may hold a NIK)."""
    inner = exc.args[0] if exc.args else None
    reason = getattr(inner, "reason", None)
    if reason is not None:
        # urllib3 prefixes the connection's repr; the cause after the last colon reads best.
        return str(reason).rsplit(": ", 1)[-1]
    return type(exc).__name__


def problem_from(response: requests.Response, attempts: int) -> ProblemError:
    """The exception for an error answer, read from its problem+json body when it has one."""
    body: dict[str, Any] | None = None
    try:
        parsed = response.json()
        if isinstance(parsed, dict):
            body = parsed
    except ValueError:
        pass
    finally:
        response.close()
    status = response.status_code
    request_id = response.headers.get("X-Request-ID")
    cls = problem_error_class(status)
    if body is None:
        text = " ".join(response.text.split())[:_TEXT_SNIPPET]
        detail = f"HTTP {status} {response.reason or ''}".strip() + (f": {text}" if text else "")
        return cls(status, None, detail, request_id=request_id, attempts=attempts)
    check_id = body.get("check_id")
    return cls(
        status,
        None if body.get("code") is None else str(body["code"]),
        str(body.get("detail") or body.get("title") or response.reason or ""),
        errors=field_errors(body.get("errors")),
        check_id=None if check_id is None else str(check_id),
        body=body,
        request_id=request_id,
        attempts=attempts,
    )
