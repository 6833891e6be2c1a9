"""Requests to a served app that remember what each one's log line must say; reading the log."""

from __future__ import annotations

import json
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

from tests.test_server import REPO_DIR
from tests.test_web_sessions import CSRF

LINE_KEYS = [
    "time",
    "request_id",
    "method",
    "route",
    "status",
    "latency_ms",
    "client_id",
    "facility",
    "check_id",
    "batch_id",
]


@dataclass
class Sent:
    """A request as sent, and what its log line must say."""

    request_id: str
    method: str
    route: str | None
    status: int
    client_id: int | None = None
    check_id: str | None = None


@dataclass
class Traffic:
    """Requests to the served app at ``base``, each with an X-Request-ID of its own.

    ``keys`` and ``client_ids`` are by role: ``role="desk"`` sends the desk's key and
    expects its client in the line; ``client="desk"`` only expects it (a signed-in page).
    """

    base: str
    keys: dict[str, str]
    client_ids: dict[str, int]
    sent: list[Sent] = field(default_factory=list)

    def next_id(self) -> str:
        """The X-Request-ID of the next request."""
        return f"t{len(self.sent):03d}.logs"

    def send(
        self,
        method: str,
        path: str,
        route: str | None,
        status: int | None,
        role: str | None = None,
        client: str | None = None,
        web: requests.Session | None = None,
        check_id: str | None = None,
        **options: Any,
    ) -> requests.Response:
        """Send one request; its answer must echo its ID, and have ``status`` unless None."""
        request_id = self.next_id()
        headers = {"X-Request-ID": request_id, **options.pop("headers", {})}
        if role is not None:
            headers["Authorization"] = f"Bearer {self.keys[role]}"
        answer = (web or requests.Session()).request(
            method, self.base + path, headers=headers, allow_redirects=False, timeout=15, **options
        )
        assert answer.status_code == (status or answer.status_code), (path, answer.text[:500])
        assert answer.headers["X-Request-ID"] == request_id, (method, path)
        client_id = self.client_ids[caller] if (caller := client or role) else None
        self.sent.append(Sent(request_id, method, route, answer.status_code, client_id, check_id))
        return answer

    def names_check(self, check_id: str | None) -> None:
        """The last request's line must name this check."""
        self.sent[-1].check_id = check_id

    def csrf(self, web: requests.Session, path: str, route: str, client: str | None) -> str:
        """GET a page (a request of its own) and its form's CSRF token."""
        answer = self.send("GET", path, route, 200, client=client, web=web)
        found = CSRF.search(answer.text)
        assert found, path
        return found.group(1)

    def raw(self, method: str, path: str, route: str | None, status: int, logged: str) -> None:
        """Send a request line as is (``logged``: the method its line must name)."""
        request_id = self.next_id()
        head = f"{method} {path} HTTP/1.1\r\nX-Request-ID: {request_id}"
        assert raw_answer(self.base, head)[0] == status, head
        self.sent.append(Sent(request_id, logged, route, status))


def raw_answer(base: str, head: str) -> tuple[int, dict[str, str]]:
    """Send ``head`` (a request line, maybe headers) as is; the answer's status and headers."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(f"{head}\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        received = b""
        while b"\r\n\r\n" not in received and (chunk := raw.recv(4096)):
            received += chunk
    status_line, *header_lines = received.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split(" ")[1]), headers


def openapi_operations() -> set[tuple[str, str]]:
    """Every (method, route) of ``openapi.yaml``, routes written as Flask patterns."""
    document = yaml.safe_load((REPO_DIR / "openapi.yaml").read_text("utf-8"))
    return {
        (method.upper(), re.sub(r"\{([^}]+)\}", r"<\1>", path))
        for path, operations in document["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }


def read_log(log: Path) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    """The server's whole output, and its JSON lines by request ID (every one parsed)."""
    output = log.read_text("utf-8")
    lines: dict[str, list[dict[str, Any]]] = {}
    for raw in output.splitlines():
        if raw.startswith("{"):
            entry = json.loads(raw)
            assert list(entry) == LINE_KEYS, raw
            lines.setdefault(entry["request_id"], []).append(entry)
    return output, lines
