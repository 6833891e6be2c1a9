"""One JSON line per request on standard error, and ``X-Request-ID`` on every answer.

``RequestLog`` wraps the whole WSGI app, so that it sees every answer, errors included
(404, 405, 413, problem+json, HTML error pages), and times the request from its arrival
in the app until the server has sent the last byte and closed the answer (a streamed CSV
export too). The Flask side fills in what only it knows (``fill_request_line``, at the
request's teardown): the route's pattern and the caller; a door names the check or batch it
made (``name_in_log``). A line holds codes and numbers only: never a path, a query, a
header, or a body, so that no NIK, name, birth date or key can reach it.

The same middleware hands the request's method, route, status and latency to ``observe``
(the Prometheus request metrics, ``service.metrics``), so that the route is found once and
both read the same values.
"""

from __future__ import annotations

import json
import re
import secrets
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, tzinfo
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from flask import g, request
from werkzeug.routing import Rule

from service.check_ids import InvalidCheckId, parse_check_id
from service.clients import KEY_PREFIX

HEADER = "X-Request-ID"
# SPEC §11: a request's own ID is kept when it is 1-128 of these characters...
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# ...unless it could be a NIK or a date (only digits and separators, 8 digits or more) or
# holds an API key (SPEC §11: no NIK, birth date or key in any log line, ever).
_NUMERIC_ID = re.compile(r"[0-9.:_-]+")
_MIN_NUMERIC_DIGITS = 8
# The methods a line names as sent; any other word (a client's invention) is "OTHER".
_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
# The route of a request that matched none (404, 405): never its path, which may be a NIK.
UNMATCHED = "unmatched"
LINE = "jamkesda.request_line"
REQUEST_ID = "jamkesda.request_id"
# ``<string:check_id>`` → ``<check_id>``: the pattern as SPEC §11 writes it.
_CONVERTER = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")
_patterns: dict[str, str] = {}
# Given each answered request's method, route pattern (or UNMATCHED), status and seconds.
Observe = Callable[[str, str, int, float], None]


def request_id_of(sent: str | None) -> str:
    """The request's ``X-Request-ID`` if acceptable, else a new one (32 hex digits).

    A refused ID is never echoed, in the answer or in the log: it may hold anything.
    """
    if sent is not None and _ACCEPTED_ID.fullmatch(sent) and not _could_be_personal(sent):
        return sent
    return secrets.token_hex(16)


def _could_be_personal(sent: str) -> bool:
    """Whether an acceptable ID could still be a NIK, a date or a key (``jk_…``)."""
    if KEY_PREFIX in sent:
        return True
    if _NUMERIC_ID.fullmatch(sent) is None:
        return False
    return sum(char.isdigit() for char in sent) >= _MIN_NUMERIC_DIGITS


class RequestLog:
    """WSGI middleware: ``X-Request-ID`` on every answer, (``write``) its JSON line, and
    (``observe``) its request metrics."""

    def __init__(
        self,
        app: WSGIApplication,
        zone: tzinfo,
        write: bool = True,
        observe: Observe | None = None,
    ) -> None:
        self.app = app
        self.zone = zone
        self.write = write
        self.observe = observe

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Answer through the app, with the header added and the line kept for the close."""
        started = time.perf_counter()
        request_id = request_id_of(environ.get("HTTP_X_REQUEST_ID"))
        method = environ.get("REQUEST_METHOD", "")
        arrived = time.time()
        line: dict[str, Any] = {
            "time": None,
            "request_id": request_id,
            "method": method if method in _METHODS else "OTHER",
            "route": None,
            "status": None,
            "latency_ms": None,
            "client_id": None,
            "facility": None,
            "check_id": None,
            "batch_id": None,
        }
        environ[REQUEST_ID] = request_id
        environ[LINE] = line
        header = (HEADER, request_id)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            line["status"] = int(status[:3])
            headers.append(header)
            return start_response(status, headers, exc_info)

        try:
            body = self.app(environ, start)
        except BaseException:
            # Flask answers every exception itself; one that escapes is the server's 500.
            line["status"] = 500
            self._close(line, arrived, started)
            raise
        return _Closing(body, lambda: self._close(line, arrived, started))

    def _close(self, line: dict[str, Any], arrived: float, started: float) -> None:
        """Count the request and write its line once its answer is done."""
        seconds = time.perf_counter() - started
        if self.observe is not None:
            self.observe(line["method"], line["route"] or UNMATCHED, line["status"] or 500, seconds)
        if not self.write:
            return
        line["latency_ms"] = round(seconds * 1000, 3)
        line["time"] = datetime.fromtimestamp(arrived, self.zone).isoformat(timespec="milliseconds")
        # One line in one write (standard error is line-buffered: one system call), so the
        # lines of other threads and workers never cut into it.
        try:
            sys.stderr.write(json.dumps(line) + "\n")
        except (OSError, ValueError):
            # A log that cannot be written (closed, full disk) must not fail a sent answer.
            return


class _Closing:
    """An answer's body whose ``close()`` runs the app's close, then ``after``."""

    def __init__(self, body: Iterable[bytes], after: Callable[[], None]) -> None:
        self.body = body
        self.after: Callable[[], None] | None = after

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        """Close the body (the app's teardown of a streamed answer), then write the line."""
        after, self.after = self.after, None
        if after is None:
            return
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            after()


def route_pattern(rule: Rule) -> str:
    """The route's pattern as SPEC §11 writes it: ``/v1/checks/<check_id>``."""
    pattern = _patterns.get(rule.rule)
    if pattern is None:
        pattern = _patterns[rule.rule] = _CONVERTER.sub(r"<\1>", rule.rule)
    return pattern


def fill_request_line(_error: BaseException | None = None) -> None:
    """``teardown_request``: the route's pattern, the caller, and a check named in the path."""
    line = request.environ.get(LINE)
    if line is None:
        return
    rule = request.url_rule
    if rule is not None:
        line["route"] = route_pattern(rule)
    client = g.get("client")
    if client is not None:
        line["client_id"] = client.id
        line["facility"] = client.facility_code
    if line["check_id"] is None and request.view_args and "check_id" in request.view_args:
        line["check_id"] = _reference(request.view_args["check_id"])


def _reference(text: Any) -> str | None:
    """A well-formed reference, canonical; None for anything else (it might be a NIK)."""
    try:
        return parse_check_id(str(text))
    except InvalidCheckId:
        return None


def name_in_log(check_id: str | None = None, batch_id: str | None = None) -> None:
    """Name in the request's line the check (or batch) it made, refused and recorded, or sent."""
    line = request.environ.get(LINE)
    if line is None:
        return
    if check_id is not None:
        line["check_id"] = check_id
    if batch_id is not None:
        line["batch_id"] = batch_id


def request_id() -> str | None:
    """The ID of the request being answered (None outside the middleware)."""
    return request.environ.get(REQUEST_ID)
