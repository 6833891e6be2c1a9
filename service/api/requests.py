"""Reading a JSON request body: 415 for another type, 400 for text that is not JSON."""

from __future__ import annotations

from typing import Any

from flask import request

from service.errors import Problem


def json_body() -> Any:
    """The parsed JSON body of the request (413 comes from MAX_CONTENT_LENGTH first)."""
    if not request.is_json:
        raise Problem(415)
    body = request.get_json(silent=True)
    if body is None:
        raise Problem(400, "MALFORMED_JSON", "Isi permintaan bukan JSON yang valid.")
    return body
