"""Operations logs (SPEC §11): one JSON line per request, ``X-Request-ID``, and safe error lines.

- ``request_line``: the WSGI middleware that gives every answer its ``X-Request-ID`` and
  writes the request's JSON line to standard error when the answer is done;
- ``safe``: how every other record (errors, tracebacks, gunicorn's error log) is written so
  that no NIK, name, birth date or key reaches it.
"""

from __future__ import annotations

from flask import Flask

from service.logs.request_line import RequestLog, fill_request_line, name_in_log
from service.logs.safe import install_safe_logging

__all__ = ["install_safe_logging", "name_in_log", "register_logs"]


def register_logs(app: Flask, write_request_lines: bool) -> None:
    """Wrap the app in the request log (its lines written unless ``REQUEST_LOG=off``)."""
    install_safe_logging()
    zone = app.extensions["jamkesda.settings"].policy.zone
    app.wsgi_app = RequestLog(app.wsgi_app, zone, write_request_lines)  # type: ignore[method-assign]
    app.teardown_request(fill_request_line)
