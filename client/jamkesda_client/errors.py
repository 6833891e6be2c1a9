"""The exceptions a call raises: an error answer of the service, or no answer at all."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class JamkesdaError(Exception):
    """Base of every error this library raises."""


class ProblemError(JamkesdaError):
    """The service answered with an error (RFC 9457 problem+json with a stable ``code``).

    ``code`` is None only when the answer was not the service's problem document (for
    example an HTML page of a proxy in front of it). ``check_id`` names the recorded
    attempt when the service recorded it (an invalid check request is recorded too).
    """

    def __init__(
        self,
        status: int,
        code: str | None,
        detail: str,
        *,
        errors: dict[str, list[str]] | None = None,
        check_id: str | None = None,
        body: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        attempts: int = 1,
    ) -> None:
        """Keep the problem's members as attributes."""
        self.status = status
        self.code = code
        self.detail = detail
        self.errors: dict[str, list[str]] = errors or {}
        self.check_id = check_id
        self.body: Mapping[str, Any] = body or {}
        self.request_id = request_id
        self.attempts = attempts
        super().__init__(self._summary())

    def _summary(self) -> str:
        """One line: status, code, detail, the fields in error and the recorded reference."""
        text = f"{self.status} {self.code or 'HTTP error'}: {self.detail}"
        if self.errors:
            fields = "; ".join(f"{name}: {' '.join(texts)}" for name, texts in self.errors.items())
            text += f" [{fields}]"
        if self.check_id:
            text += f" (check_id {self.check_id})"
        return text


class AuthenticationError(ProblemError):
    """401: the key is missing, unknown or revoked."""


class ForbiddenError(ProblemError):
    """403: the key's role may not do this (a desk key reading the audit log, say)."""


class NotFoundError(ProblemError):
    """404: no such check (at the caller's facility), or no such path."""


class InvalidRequestError(ProblemError):
    """422: a field or a filter is wrong (``errors`` names each); a check attempt is recorded."""


class RateLimitedError(ProblemError):
    """429 after the retries were spent: the key made too many requests."""


class ServiceUnavailableError(ProblemError):
    """503 (or a gateway's 502/504) after the retries were spent: nothing was decided."""


_BY_STATUS: dict[int, type[ProblemError]] = {
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    422: InvalidRequestError,
    429: RateLimitedError,
    502: ServiceUnavailableError,
    503: ServiceUnavailableError,
    504: ServiceUnavailableError,
}


def problem_error_class(status: int) -> type[ProblemError]:
    """The exception class for an error status."""
    return _BY_STATUS.get(status, ProblemError)


class TransportError(JamkesdaError):
    """No answer came back, after every attempt.

    ``idempotency_key`` is the key the attempts of a check or batch carried: calling again
    with it later returns the recorded answer if one of the attempts reached the service,
    instead of making a second record.
    """

    def __init__(self, message: str, *, attempts: int, idempotency_key: str | None) -> None:
        """Keep how many attempts were made and with which key."""
        super().__init__(message)
        self.attempts = attempts
        self.idempotency_key = idempotency_key


class JamkesdaTimeoutError(TransportError):
    """Every attempt timed out (connecting, or waiting for the answer)."""


class JamkesdaConnectionError(TransportError):
    """Every attempt failed to connect, or the connection broke."""


class UnexpectedResponseError(JamkesdaError):
    """A success status whose body is not what the API documents (a proxy's page, say)."""
