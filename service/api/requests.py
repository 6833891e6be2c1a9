"""Reading a request (the JSON body, a check reference, the settings) and a fast JSON answer."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from flask import Response, current_app, request

from service.check_ids import InvalidCheckId, parse_check_id
from service.config import Settings
from service.errors import Problem

JSON = "application/json"


# A member name shown in a detail is cut to this many characters.
SHOWN_MEMBER_CHARS = 64


class DuplicateMember(ValueError):
    """A JSON object of the body gives one member twice."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def json_body() -> Any:
    """The parsed JSON body of every JSON door (413 comes from MAX_CONTENT_LENGTH first).

    A body that is not JSON, or whose objects give a member twice, is ``400
    MALFORMED_JSON``; the door records nothing. The body's bytes are read as sent, so an
    Idempotency-Key's fingerprint (of those bytes) is unaffected.
    """
    if not request.is_json:
        raise Problem(415)
    try:
        body = parse_json(request.get_data(cache=True))
    except DuplicateMember as duplicate:
        name = json.dumps(duplicate.name[:SHOWN_MEMBER_CHARS], ensure_ascii=False)
        raise Problem(
            400, "MALFORMED_JSON", f"Anggota {name} muncul lebih dari sekali."
        ) from duplicate
    except (ValueError, RecursionError) as error:
        # RecursionError: a body nested deeper than the parser follows.
        raise Problem(400, "MALFORMED_JSON", "Isi permintaan bukan JSON yang valid.") from error
    if body is None:
        raise Problem(400, "MALFORMED_JSON", "Isi permintaan bukan JSON yang valid.")
    return body


def parse_json(data: bytes) -> Any:
    """JSON text as Python values; ``DuplicateMember`` for an object naming a member twice.

    Parsers disagree on such an object (the first member wins in some, the last in
    Python's), so a proxy and this service could see different patients in one body:
    it is refused rather than decided on either. Other malformed text raises ValueError.
    Bytes are decoded as ``json.loads`` decodes them (UTF-8, -16 or -32, BOM allowed).
    """
    return _DECODER.decode(data.decode(json.detect_encoding(data), "surrogatepass"))


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object's members as a dict; ``DuplicateMember`` naming the first repeated one."""
    members = dict(pairs)
    # The common case costs one length comparison; only a repeat is searched for.
    if len(members) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise DuplicateMember(name)
            seen.add(name)
    return members


# One decoder for every request: ``json.loads`` with a hook builds a new decoder and
# scanner per call, which cost more than the hook itself (timeit, a 200-byte check body:
# json.loads 2.8 µs, with a hook 5 µs, this decoder 3.1 µs).
_DECODER = json.JSONDecoder(object_pairs_hook=_unique_members)


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


def json_answer(
    document: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON answer of a document already in its schema's shape, without the dump.

    flask-smorest dumps a view's result through its response schema, which took 20,000
    Python calls for a page of 50 audit records (five times the query and the documents
    together); for a check's answer the dump and jsonify take 34 µs against 12 µs for
    this (timeit, in process). A view whose documents hold exactly the schema's fields
    returns this instead (the schema still documents it); dates are written
    ``YYYY-MM-DD``, as the schema's ``Date`` fields write them. Tests compare each such
    answer with the schema's dump of the same record.
    """
    return Response(json_text(document), status=status, headers=headers, mimetype=JSON)


def json_text(document: Any) -> str:
    """A document in its schema's shape as compact JSON text (see ``json_answer``)."""
    return json.dumps(document, default=_json_value, separators=(",", ":"))


def _json_value(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} has no JSON form in an answer")
