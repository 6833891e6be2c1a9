"""Operations logs (SPEC §11): one JSON line per request, ``X-Request-ID``, and safe error lines.

- ``request_line``: the WSGI middleware that gives every answer its ``X-Request-ID`` and
  writes the request's JSON line to standard error when the answer is done;
- ``safe``: how every other record (errors, tracebacks, gunicorn's error log) is written so
  that no NIK, name, birth date or key reaches it.
"""

from __future__ import annotations

from flask import Flask

from service.logs.request_line import (
    Observe,
    RequestLog,
    fill_request_line,
    name_in_log,
    route_pattern,
)
from service.logs.safe import install_safe_logging

__all__ = ["Observe", "install_safe_logging", "name_in_log", "register_logs", "route_pattern"]


def register_logs(app: Flask, write_request_lines: bool, observe: Observe | None = None) -> None:
    """Wrap the app in the request log (its lines written unless ``REQUEST_LOG=off``), which
    also hands each request to ``observe`` (the request metrics, unless ``METRICS=off``)."""
    install_safe_logging()
    zone = app.extensions["jamkesda.settings"].policy.zone
    log = RequestLog(app.wsgi_app, zone, write_request_lines, observe)
    app.wsgi_app = log  # type: ignore[method-assign]
    app.teardown_request(fill_request_line)
