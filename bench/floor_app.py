"""The floor of the stack for a check: the product's own check with no web framework.

This is not the product and serves no user. ``bench_checks`` runs it under the project's
gunicorn configuration, on the same data, to measure how many checks a second this machine
could answer if the HTTP layer cost nothing beyond gunicorn itself. ``POST /v1/checks``
here reads the JSON body with the standard library, resolves each key once, validates only
the NIK and takes today as the service date, then runs ``check_eligibility`` (the product's
two statements, its decision and its record) on a connection its thread keeps, and writes
the product's document with ``json.dumps``. It leaves out Flask's request handling, the
marshmallow validation of the other fields, the problem+json errors and the pool's
check-out, which the product needs. Every other request goes to the product's app, so the
ratio is taken against the same ``/healthz``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from service import clock, create_app
from service.checks import CheckContext, CheckRequest, check_eligibility, record_invalid_request
from service.clients import Caller, resolve_key
from service.config import Settings
from service.documents import check_document
from service.nik import InvalidNik, parse_nik

StartResponse = Callable[..., Any]


class FloorApp:
    """A WSGI app: ``POST /v1/checks`` handled bare, everything else by the product's app."""

    def __init__(self) -> None:
        self.product = create_app()
        # gunicorn_conf.post_worker_init gives the app its key cache through this.
        self.extensions = self.product.extensions
        self.settings: Settings = self.extensions["jamkesda.settings"]
        self.engine: Engine = self.extensions["jamkesda.autocommit_engine"]
        self.callers: dict[str, Caller | None] = {}
        self.local = threading.local()

    def connection(self) -> Connection:
        """The autocommit connection of this thread, opened on its first check."""
        connection: Connection | None = getattr(self.local, "connection", None)
        if connection is None:
            connection = self.local.connection = self.engine.connect()
        return connection

    def caller(self, authorization: str) -> Caller | None:
        """The caller of a bearer key, looked up once per worker."""
        key = authorization.removeprefix("Bearer ").strip()
        if key not in self.callers:
            with Session(self.engine) as session:
                client = resolve_key(session, key)
                self.callers[key] = Caller.of(client) if client else None
        return self.callers[key]

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Answer a check bare; hand anything else to the product."""
        if environ.get("PATH_INFO") != "/v1/checks" or environ.get("REQUEST_METHOD") != "POST":
            return self.product(environ, start_response)
        started = time.perf_counter()
        client = self.caller(environ.get("HTTP_AUTHORIZATION", ""))
        if client is None or client.facility_code is None:
            return _answer(start_response, "401 Unauthorized", {"code": "UNAUTHORIZED"})
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(size))
        policy = self.settings.policy
        context = CheckContext(client, policy, self.settings.nik_hash_key, started)
        try:
            nik = parse_nik(body["nik"]).value
        except InvalidNik as invalid:
            errors = {"nik": [str(invalid)]}
            refused = record_invalid_request(self.connection(), context, body, errors)
            problem = {"code": "INVALID_NIK", "errors": errors, "check_id": refused.check_id}
            return _answer(start_response, "422 Unprocessable Entity", problem)
        request = CheckRequest(
            nik=nik,
            service_date=clock.today(policy.zone),
            service_type=body.get("service_type", "outpatient"),
        )
        result = check_eligibility(self.connection(), context, request)
        document = check_document(result.record, result.snapshots, policy.zone)
        location = ("Location", f"/v1/checks/{result.record.check_id}")
        return _answer(start_response, "201 Created", document, location)


def _answer(
    start_response: StartResponse, status: str, document: Any, *headers: tuple[str, str]
) -> list[bytes]:
    text = json.dumps(document, default=str, separators=(",", ":")).encode()
    length = ("Content-Length", str(len(text)))
    start_response(status, [("Content-Type", "application/json"), length, *headers])
    return [text]


app = FloorApp()
