"""Fake services on loopback for the client library's tests: real sockets, scripted answers.

``scripted_server`` answers each request with the next answer of its script and records
what it was sent; ``silent_server`` accepts connections and never answers. Neither mocks
anything inside the client: the client speaks HTTP to them over TCP as to the service.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Body = bytes | Callable[[BaseHTTPRequestHandler], None]


@dataclass(frozen=True)
class Answer:
    """One scripted answer: a status, headers, and a body (or a writer of its own)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Body = b""


@dataclass(frozen=True)
class Seen:
    """One request the fake received, and when (``time.monotonic``)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        """The request body as JSON."""
        return json.loads(self.body)


def json_answer(status: int, body: Any, **headers: str) -> Answer:
    """An answer with a JSON body."""
    return Answer(
        status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()
    )


def problem_answer(status: int, code: str, **members: Any) -> Answer:
    """A problem+json answer as the service writes it; ``Retry_After`` becomes a header."""
    headers = {"Content-Type": "application/problem+json"}
    if "Retry_After" in members:
        headers["Retry-After"] = str(members.pop("Retry_After"))
    body = {"type": "about:blank", "title": "Error", "status": status, "code": code, **members}
    body.setdefault("detail", f"detail of {code}")
    return Answer(status, headers, json.dumps(body).encode())


def check_body(check_id: str = "K7QM-3XD9-2F4A", decision: str = "ELIGIBLE") -> dict[str, Any]:
    """A check answer as ``POST /v1/checks`` gives it."""
    eligible = decision in ("ELIGIBLE", "COVERED_BY_JKN")
    return {
        "check_id": check_id,
        "decided_at": "2026-11-28T09:14:03+08:00",
        "nik_masked": "6402**********01",
        "decision": decision,
        "eligible": eligible,
        "reasons": (
            []
            if decision == "ELIGIBLE"
            else [{"code": "DATA_UNAVAILABLE", "message": "Data belum tersedia."}]
        ),
        "coverage": (
            {"scheme": "JAMKESDA", "class": "III", "valid_until": None}
            if decision == "ELIGIBLE"
            else None
        ),
        "identity_match": {"name": "NOT_PROVIDED", "birth_date": "NOT_PROVIDED"},
        "policy_version": "kukar-2025.1",
        "data_as_of": {"population": "2026-11-25", "jamkesda": "2026-11-27", "jkn": None},
        "dispute": (
            None
            if decision == "ELIGIBLE"
            else {"reference": check_id, "message": "Ajukan keberatan dengan nomor ini."}
        ),
        "emergency_notice": None,
    }


class ScriptedServer:
    """A ``ThreadingHTTPServer`` on a free loopback port that answers from a script."""

    def __init__(self, answers: list[Answer]) -> None:
        """Bind a free loopback port; serve nothing until ``serve``."""
        self._answers = list(answers)
        self._lock = threading.Lock()
        self.requests: list[Seen] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _next(self, seen: Seen) -> Answer:
        """Record a request and take the next answer (a 500 once the script is spent)."""
        with self._lock:
            self.requests.append(seen)
            if not self._answers:
                return problem_answer(500, "SCRIPT_SPENT")
            return self._answers.pop(0)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        """A handler class bound to this server's script."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.1 keeps connections open between attempts, as a real service does.
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                """Record the request and send the next scripted answer."""
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(
                    self.command, self.path, dict(self.headers.items()), body, time.monotonic()
                )
                answer = fake._next(seen)
                if callable(answer.body):
                    answer.body(self)
                    return
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = _answer  # noqa: N815 - http.server's method names

            def log_message(self, format: str, *args: Any) -> None:
                """Keep the test output quiet."""

        return Handler

    def serve(self) -> threading.Thread:
        """Serve in a daemon thread that notices ``close`` within 20 ms."""
        thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        thread.start()
        return thread

    def close(self) -> None:
        """Stop serving and close the listening socket."""
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def scripted_server(*answers: Answer) -> Iterator[ScriptedServer]:
    """A scripted fake service for the duration of the block."""
    server = ScriptedServer(list(answers))
    server.serve()
    try:
        yield server
    finally:
        server.close()


class SilentServer:
    """Accepts TCP connections, reads nothing, answers nothing: a hung service."""

    def __init__(self) -> None:
        """Listen on a free loopback port and start accepting."""
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.connections: list[socket.socket] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        """Take every connection and hold it open until closed."""
        while not self._stopping.is_set():
            try:
                connection, _address = self._listener.accept()
            except TimeoutError:
                continue
            self.connections.append(connection)

    def close(self) -> None:
        """Stop accepting and close every held connection."""
        self._stopping.set()
        self._thread.join()
        for connection in self.connections:
            connection.close()
        self._listener.close()


@contextmanager
def silent_server() -> Iterator[SilentServer]:
    """A hung fake service for the duration of the block."""
    server = SilentServer()
    try:
        yield server
    finally:
        server.close()
