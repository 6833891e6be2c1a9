"""Error lines that never carry personal data: how every log record of the service is written.

The request lines hold codes only (``request_line``). The other records (the app's errors,
gunicorn's error log, libraries' warnings) are text, and some would carry request data:
an exception's message may quote a value (``ValueError: … '6402…'``), and gunicorn names
the URI of a request that failed, query string included, or quotes a request line it could
not parse. So every record is written by ``SafeFormatter``:

- a traceback keeps its frames (file, line, function) and each exception's type, never an
  exception's message nor a source line (a message is where values go; a frame and a type
  are enough to find the fault, and the request's ID finds its request line);
- the message is scrubbed: quoted text (how gunicorn and ``repr`` quote what a client sent)
  becomes ``'…'``, a query string ``?…``, and a run of 8 or more digits (a NIK, a date such
  as ``1990-05-15`` or ``15/05/1990``; separators ``. - /`` and spaces allowed) ``…``;
  IPv4 addresses are kept;
- a record made while a request is answered names that request's ``X-Request-ID``.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from typing import Any

from flask import has_request_context
from gunicorn.glogging import Logger as GunicornLogger

from service.logs.request_line import request_id

# gunicorn's layout, with the logger's name: app errors and gunicorn's read alike.
FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S %z"
WITHHELD = "…"
_SCRUBBED = re.compile(
    r"(?P<ip>\b\d{1,3}(?:\.\d{1,3}){3}\b(?![.\d]))"
    r"|'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\""
    r"|\?[^\s'\"]+"
    r"|\d(?:[ ./-]?\d){7,}"
)


def _withheld(found: re.Match[str]) -> str:
    text = found.group(0)
    if found.group("ip"):
        return text
    if text[0] in "'\"":
        return f"'{WITHHELD}'"
    if text[0] == "?":
        return f"?{WITHHELD}"
    return WITHHELD


def scrub(text: str) -> str:
    """``text`` without quoted text, query strings or long runs of digits."""
    return _SCRUBBED.sub(_withheld, text)


def safe_traceback(error: BaseException) -> str:
    """A traceback of ``error`` and its causes with frames and types only, oldest first."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    parts: list[str] = []
    for position, exception in enumerate(reversed(chain)):
        if position:
            parts.append("\nThen, while handling it or caused by it:\n")
        parts.append("Traceback (most recent call last; messages withheld):")
        frames = traceback.StackSummary.extract(
            traceback.walk_tb(exception.__traceback__), lookup_lines=False
        )
        parts.extend(f'  File "{f.filename}", line {f.lineno}, in {f.name}' for f in frames)
        kind = type(exception)
        parts.append(f"{kind.__module__}.{kind.__qualname__}")
    return "\n".join(parts)


class SafeFormatter(logging.Formatter):
    """Write a record with its message scrubbed and its traceback reduced to frames and types."""

    def format(self, record: logging.LogRecord) -> str:
        """The record's text; another handler's cached traceback text is never reused."""
        record.message = scrub(record.getMessage())
        if has_request_context() and (answering := request_id()) is not None:
            record.message += f" [request_id={answering}]"
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        text = self.formatMessage(record)
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n" + safe_traceback(record.exc_info[1])
        if record.stack_info:
            text += "\n" + self.formatStack(record.stack_info)
        return text


class _StandardError(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler on the standard error of the moment (a test's capture replaces it)."""

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record to ``sys.stderr`` as it is now (under the handler's lock)."""
        self.stream = sys.stderr
        super().emit(record)


def install_safe_logging() -> None:
    """Write every record of this process that reaches the root logger safely (once).

    Without this, Python's last-resort handler would print records of warning and above
    with their full tracebacks, exception messages included; Flask's default handler would
    print the path of a request whose error handler failed.
    """
    root = logging.getLogger()
    if any(isinstance(handler, _StandardError) for handler in root.handlers):
        return
    handler = _StandardError()
    handler.setFormatter(SafeFormatter(FORMAT, DATE_FORMAT))
    root.addHandler(handler)
    from flask.logging import default_handler

    logging.getLogger("service").removeHandler(default_handler)


class SafeGunicornLogger(GunicornLogger):  # type: ignore[misc]
    """gunicorn's logger, its error log written by ``SafeFormatter`` (``logger_class``)."""

    def setup(self, cfg: Any) -> None:
        """Set up as gunicorn does, then make every error-log handler write safely."""
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(SafeFormatter(self.error_fmt, self.datefmt))
