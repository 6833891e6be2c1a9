"""OpenAPI helpers: document error answers once, the same way on every view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_smorest import Api, Blueprint

from service.api.schemas import ProblemSchema
from service.errors import PROBLEM_JSON

# The OpenAPI security requirement of every endpoint that takes a key.
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]

# The optional header of the doors that decide (SPEC §9.1).
IDEMPOTENCY_KEY: dict[str, Any] = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": "1–64 printable ASCII characters, one per logical request: a retry with "
    "the same key and body gets the first answer again (header Idempotent-Replayed: true) "
    "for 24 hours and records nothing more.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[\\x20-\\x7e]+$"},
}
IN_USE = "A request with the same Idempotency-Key is still being processed (Retry-After: 1)"

ERROR_DESCRIPTIONS = {
    400: "Malformed JSON",
    401: "Missing, unknown or revoked key",
    403: "The key's role may not do this",
    404: "Not found",
    409: "Conflicts with the stored data",
    413: "Body over 64 KiB",
    415: "Body is not application/json",
    422: "Invalid request",
    429: "Over the key's rate limit (RATE_LIMITED); nothing recorded, retry after Retry-After",
    503: "The database could not be reached; nothing was decided",
}


# The header of every 429: whole seconds until the key's bucket holds a token again.
RETRY_AFTER: dict[str, Any] = {
    "Retry-After": {
        "description": "Seconds to wait before the next request with this key",
        "schema": {"type": "integer", "minimum": 1},
    }
}


class ProblemApi(Api):  # type: ignore[misc]
    """flask-smorest's Api without its own error envelope: ours is problem+json."""

    DEFAULT_ERROR_RESPONSE_NAME = None


def problems(
    blp: Blueprint, *statuses: int, **descriptions: str
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Document the problem+json answers a view can give (``s422="..."`` overrides a text).

    ``alt_response`` only documents, yet wraps the view in a function that runs on every
    request; seven of them were a twentieth of a check's CPU. So the documentation is
    built on a wrapped copy and then given to the view itself (flask-smorest reads it
    from the view's ``_apidoc``, which the outer decorators copy with ``functools.wraps``).

    Every view that takes a key (it documents 401) may also answer 429 (SPEC §11).
    """
    if 401 in statuses and 429 not in statuses:
        statuses = (*statuses, 429)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        documented = view
        for status in statuses:
            description = descriptions.get(f"s{status}", ERROR_DESCRIPTIONS[status])
            documented = blp.alt_response(
                status,
                schema=ProblemSchema,
                description=description,
                content_type=PROBLEM_JSON,
                headers=RETRY_AFTER if status == 429 else None,
            )(documented)
        view._apidoc = documented._apidoc  # type: ignore[attr-defined]
        return view

    return decorate
