"""Reading a request: the JSON body (415, 400), a check reference (422, 404), the settings."""

from __future__ import annotations

from typing import Any

from flask import current_app, request

from service.check_ids import InvalidCheckId, parse_check_id
from service.config import Settings
from service.errors import Problem


def json_body() -> Any:
    """The parsed JSON body of the request (413 comes from MAX_CONTENT_LENGTH first)."""
    if not request.is_json:
        raise Problem(415)
    body = request.get_json(silent=True)
    if body is None:
        raise Problem(400, "MALFORMED_JSON", "Isi permintaan bukan JSON yang valid.")
    return body


def check_reference(text: str) -> str:
    """The canonical check reference in a path, or 422 ``INVALID_CHECK_ID`` for a typo."""
    try:
        return parse_check_id(text)
    except InvalidCheckId as exc:
        raise Problem(422, "INVALID_CHECK_ID", str(exc)) from exc


def check_not_found() -> Problem:
    """The 404 for a well-formed reference that names no check."""
    return Problem(404, "CHECK_NOT_FOUND", "Tidak ada pemeriksaan dengan nomor ini.")


def app_settings() -> Settings:
    """The settings the app was built with."""
    return current_app.extensions["jamkesda.settings"]  # type: ignore[no-any-return]
