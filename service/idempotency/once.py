"""How a door answers at most once per ``Idempotency-Key``: the request's unit of work."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Response, after_this_request, current_app, request
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from service import clock, db
from service.auth import current_client
from service.errors import Problem
from service.idempotency.keys import InvalidKey, fingerprint, read_key
from service.idempotency.store import (
    PURGE_CHUNK,
    Remembered,
    find_answer,
    purge_expired,
    remember_answer,
)

logger = logging.getLogger(__name__)

# How long a request waits for a concurrent one with the same key before it answers 409.
IN_USE_WAIT_MS = 2000
# Each server process purges expired answers at most this often, after an answer left.
PURGE_EVERY_SECONDS = 60.0
_LOCK_NOT_AVAILABLE = "55P03"
_LAST_PURGE = "jamkesda.idempotency_last_purge"


@dataclass(frozen=True)
class Answer:
    """A door's answer as bytes go out: status, JSON text, media type and ``Location``.

    ``kept`` is the text remembered for a replay when it must differ from the one sent
    (a FHIR answer echoes the caller's NIK, which is never stored); None: the same text.
    """

    status: int
    body: str
    media_type: str
    location: str | None = None
    kept: str | None = None

    def response(self, replayed: bool = False) -> Response:
        """The HTTP answer; a replay says so in ``Idempotent-Replayed``."""
        headers = {"Location": self.location} if self.location else {}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(self.body, status=self.status, headers=headers, mimetype=self.media_type)


Produce = Callable[[Connection], Answer]
Restore = Callable[[str], str]


def _unchanged(text: str) -> str:
    """A kept text that is sent as it was kept."""
    return text


class _RememberedMeanwhile(Exception):
    """A concurrent request with the key committed first: this one's work is undone."""


def answer_once(
    operation: str, produce: Produce, single_statement: bool = False, restore: Restore = _unchanged
) -> Response:
    """Answer with ``produce`` in one unit of work, at most once per client and key.

    Without a key, ``produce`` runs on the request's autocommit connection when its work
    is a single write (``single_statement``), else in a transaction. With a key, it runs
    in a transaction that also remembers the answer; ``restore`` turns a kept text back
    into the text a replay sends.
    """
    try:
        key = read_key(request.headers.get("Idempotency-Key"))
    except InvalidKey as invalid:
        raise Problem(400, "INVALID_IDEMPOTENCY_KEY", str(invalid)) from invalid
    if key is None:
        if single_statement:
            return produce(db.autocommit_connection()).response()
        with db.write_transaction() as connection:
            answer = produce(connection)
        return answer.response()
    body_print = fingerprint(request.get_data())
    for _attempt in range(2):
        try:
            return _answer_for_key(operation, produce, restore, key, body_print)
        except _RememberedMeanwhile:
            continue  # The second time round, the first answer is there to be replayed.
    raise Problem(409, "IDEMPOTENCY_KEY_IN_USE", headers={"Retry-After": "1"})


def _answer_for_key(
    operation: str, produce: Produce, restore: Restore, key: str, body_print: str
) -> Response:
    """One try at the keyed unit of work: replay what is kept, or decide and remember."""
    client_id = current_client().id
    now = clock.now()
    try:
        with db.write_transaction(IN_USE_WAIT_MS) as connection:
            kept = find_answer(connection, client_id, key, now)
            if kept is not None:
                return _replay(kept, operation, body_print, restore)
            answer = produce(connection)
            remembered = Remembered(
                operation=operation,
                fingerprint=body_print,
                status=answer.status,
                media_type=answer.media_type,
                location=answer.location,
                body=answer.body if answer.kept is None else answer.kept,
            )
            if not remember_answer(connection, client_id, key, remembered, now):
                raise _RememberedMeanwhile
    except OperationalError as error:
        if getattr(error.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
            raise
        raise Problem(
            409,
            "IDEMPOTENCY_KEY_IN_USE",
            "Permintaan dengan Idempotency-Key ini masih diproses. Ulangi sebentar lagi.",
            headers={"Retry-After": "1"},
        ) from error
    _purge_now_and_then()
    return answer.response()


def _replay(kept: Remembered, operation: str, body_print: str, restore: Restore) -> Response:
    """The kept answer again, or 422 when the key came with another request."""
    if kept.operation != operation or kept.fingerprint != body_print:
        raise Problem(
            422,
            "IDEMPOTENCY_KEY_REUSED",
            "Idempotency-Key ini sudah dipakai untuk permintaan lain. "
            "Gunakan kunci baru untuk setiap pemeriksaan.",
        )
    answer = Answer(kept.status, restore(kept.body), kept.media_type, kept.location)
    return answer.response(replayed=True)


def _purge_now_and_then() -> None:
    """After this answer has left, delete expired answers, at most once a minute a process."""
    now = time.monotonic()
    if now - current_app.extensions.get(_LAST_PURGE, float("-inf")) < PURGE_EVERY_SECONDS:
        return
    current_app.extensions[_LAST_PURGE] = now
    engine: Engine = current_app.extensions["jamkesda.engine"]

    @after_this_request
    def purge_after(response: Response) -> Response:
        response.call_on_close(lambda: _purge(engine))
        return response


def _purge(engine: Engine) -> None:
    """Delete every expired answer, a chunk per transaction."""
    try:
        while True:
            with engine.begin() as connection:
                if purge_expired(connection, clock.now()) < PURGE_CHUNK:
                    return
    # A purge must never disturb an answer already sent: it waits for the next time.
    except Exception:
        logger.exception("purging expired idempotent answers failed")
