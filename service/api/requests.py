"""Reading a request: the JSON body (415, 400) and a check reference in the path (422)."""

from __future__ import annotations

from typing import Any

from flask import request

from service.check_ids import InvalidCheckId, parse_check_id
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
