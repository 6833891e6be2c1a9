"""One error envelope for everything: RFC 9457 problem+json with a stable ``code``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from flask import Flask, Response, current_app, json, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, UnprocessableEntity
from werkzeug.http import HTTP_STATUS_CODES

from service import db

PROBLEM_JSON = "application/problem+json"
# The body limit of every route but those that set their own (a batch: 1 MiB).
MAX_BODY_BYTES = 64 * 1024
logger = logging.getLogger(__name__)

# The stable machine code of each status when nothing more specific applies.
DEFAULT_CODES = {
    400: "MALFORMED_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "INVALID_REQUEST",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}

# Indonesian details: a clerk may see these in the desk software.
DEFAULT_DETAILS = {
    400: "Permintaan tidak dapat dibaca.",
    401: "Kunci API tidak ada, tidak dikenal, atau sudah dicabut.",
    403: "Kunci API ini tidak berhak memakai layanan ini.",
    404: "Alamat atau data yang diminta tidak ditemukan.",
    405: "Metode HTTP ini tidak didukung untuk alamat ini.",
    413: f"Isi permintaan lebih dari {MAX_BODY_BYTES // 1024} KiB.",
    415: "Isi permintaan harus berupa JSON (Content-Type: application/json).",
    422: "Isi permintaan tidak valid.",
    429: (
        "Terlalu banyak permintaan dengan kunci API ini. Ini bukan penolakan: ulangi setelah "
        "jumlah detik di Retry-After."
    ),
    500: "Terjadi kesalahan pada layanan. Ulangi sebentar lagi.",
    503: (
        "Layanan sementara tidak dapat memastikan data. Ini bukan penolakan: ulangi sebentar lagi."
    ),
}


class Problem(Exception):
    """An error answer: raise it anywhere in a request to send it."""

    def __init__(
        self,
        status: int,
        code: str | None = None,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or code)
        self.status = status
        self.code = code or DEFAULT_CODES.get(status, "ERROR")
        self.detail = detail or DEFAULT_DETAILS.get(status, "")
        # Headers the answer carries besides the body (``Retry-After``, ``Allow``).
        self.headers = dict(headers or {})
        if status == 401:
            self.headers.setdefault("WWW-Authenticate", 'Bearer realm="jamkesda"')
        self.extra = extra


def problem_document(problem: Problem) -> dict[str, Any]:
    """A problem's RFC 9457 members, with its code and extra members."""
    return {
        "type": "about:blank",
        "title": _title(problem.status),
        "status": problem.status,
        "detail": problem.detail,
        "code": problem.code,
        **problem.extra,
    }


def problem_text(problem: Problem) -> str:
    """A problem's body as the answer carries it."""
    return json.dumps(problem_document(problem), ensure_ascii=False)


ProblemRenderer = Callable[[Problem], Response]
_RENDERERS = "jamkesda.problem_renderers"


def register_problem_renderer(app: Flask, prefix: str, renderer: ProblemRenderer) -> None:
    """Render the problems of paths under ``prefix`` in another format (FHIR's own)."""
    app.extensions.setdefault(_RENDERERS, []).append((prefix, renderer))


def problem_response(problem: Problem) -> Response:
    """Render a problem as JSON with its status and standard members.

    A door with an error format of its own (FHIR's OperationOutcome) renders the problems
    of its paths itself, whatever raised them: a view, the key check, or Werkzeug.
    """
    for prefix, renderer in current_app.extensions.get(_RENDERERS, ()):
        if request.path.startswith(prefix):
            return renderer(problem)  # type: ignore[no-any-return]
    return current_app.response_class(
        problem_text(problem),
        status=problem.status,
        mimetype=PROBLEM_JSON,
        headers=problem.headers,
    )


def _title(status: int) -> str:
    return HTTP_STATUS_CODES.get(status, "Error")


def field_messages(messages: Any) -> list[str]:
    """A field's messages as a flat list of texts (list fields nest them by index)."""
    if isinstance(messages, dict):
        return [text for value in messages.values() for text in field_messages(value)]
    if isinstance(messages, list | tuple):
        return [text for value in messages for text in field_messages(value)]
    return [str(messages)]


def _from_invalid_arguments(error: UnprocessableEntity) -> Response | None:
    """webargs' 422 for query parameters (``.data["messages"]`` by location and field)."""
    data = getattr(error, "data", None)
    messages = data.get("messages") if isinstance(data, dict) else None
    if not isinstance(messages, dict):
        return None
    errors = {
        field: field_messages(texts)
        for by_field in messages.values()
        if isinstance(by_field, dict)
        for field, texts in by_field.items()
    }
    code = "INVALID_FILTER" if set(messages) == {"query"} else "INVALID_REQUEST"
    return problem_response(Problem(422, code, "Periksa parameter yang ditandai.", errors=errors))


def _from_http_exception(error: HTTPException) -> Response:
    if (
        isinstance(error, UnprocessableEntity)
        and (answer := _from_invalid_arguments(error)) is not None
    ):
        return answer
    status = error.code or 500
    headers = {}
    if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
        headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
    return problem_response(Problem(status, detail=_detail(status), headers=headers))


def _detail(status: int) -> str | None:
    """The text of a status raised outside a view; a body limit names the route's own."""
    limit = request.max_content_length
    if status == 413 and limit is not None and limit != MAX_BODY_BYTES:
        return f"Isi permintaan lebih dari {limit // 1024} KiB."
    return None


def _from_database_error(error: SQLAlchemyError) -> Response:
    # A database fault must never turn into a denial: nothing was decided.
    logger.error("database unavailable: %s", type(error).__name__)
    # The fault may have broken the session's connection too (killed connections, a
    # restart): its rollback then fails as well, and must not turn the 503 into a 500.
    with suppress(SQLAlchemyError):
        db.session().rollback()
    return problem_response(Problem(503, "DATABASE_UNAVAILABLE"))


def _from_unexpected(error: Exception) -> Response:
    logger.exception("unexpected error")
    return problem_response(Problem(500))


def register_error_handlers(app: Flask) -> None:
    """Send every error, expected or not, as problem+json."""
    app.register_error_handler(Problem, problem_response)
    app.register_error_handler(HTTPException, _from_http_exception)
    app.register_error_handler(SQLAlchemyError, _from_database_error)
    app.register_error_handler(Exception, _from_unexpected)
