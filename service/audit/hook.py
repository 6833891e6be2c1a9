"""The app hook that records every audit and ledger request before its answer leaves.

SPEC §2.7: no audit read without its record. Refused requests (401, 403, 404, 422) are
recorded too. When the entry cannot be written, the answer is replaced by a 503.

The web pages are recorded the same way (SPEC §10): every view of the console and every
try at a receipt, and a desk page only when it was refused (a desk's checks are on file
as check records already).
"""

from __future__ import annotations

import logging

from flask import Response, current_app, g, request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from service.audit.access import record_access
from service.clients import resolve_key
from service.errors import Problem, problem_response

AUDITED_PREFIXES = ("/v1/audit", "/v1/ledger", "/console", "/r")
# Desk pages are recorded when refused: a wrong key's or role's attempt is worth reviewing.
REFUSALS_PREFIX = "/desk"
REFUSED = frozenset({400, 401, 403, 429})
logger = logging.getLogger(__name__)


def is_audited(path: str) -> bool:
    """Whether a request path belongs to the audit or the ledger API."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in AUDITED_PREFIXES)


def _client_id() -> int | None:
    """The caller: the one the key check found, else the active client of the bearer key."""
    client = g.get("client")
    if client is not None:
        return int(client.id)
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    with Session(current_app.extensions["jamkesda.engine"]) as session:
        found = resolve_key(session, key.strip())
        return found.id if found else None


def _recorded(path: str, status: int) -> bool:
    if is_audited(path):
        return True
    return status in REFUSED and (path == REFUSALS_PREFIX or path.startswith(REFUSALS_PREFIX + "/"))


def record_audit_access(response: Response) -> Response:
    """``after_request``: append the access entry, or answer 503 when it cannot be written.

    A view may set ``g.access_query`` to record instead of the query string (the receipt
    page records the NIK it was posted, masked like a ``nik`` query parameter).
    """
    if not _recorded(request.path, response.status_code) or g.get("rate_limited"):
        # A request over its rate limit is counted in a metric, never stored (SPEC §11):
        # a flood must not grow the access log.
        return response
    try:
        record_access(
            current_app.extensions["jamkesda.engine"],
            client_id=_client_id(),
            method=request.method,
            path=request.path,
            query=g.get("access_query") or request.query_string.decode("utf-8", "replace"),
            status=response.status_code,
            address=request.remote_addr,
        )
    except SQLAlchemyError as error:
        logger.error("audit access not recorded: %s", type(error).__name__)
        response.close()
        return problem_response(Problem(503, "DATABASE_UNAVAILABLE"))
    return response
