"""How a door answers at most once per ``Idempotency-Key``: the request's unit of work.

Two kinds of door: one that records one check (``answer_check``: ``/v1/checks``, FHIR
``$submit``) and one whose unit of work writes several rows (``answer_unit``: a batch).
Without a key each writes as usual. With a key, the remembered answer is looked up first
(a replay costs one statement), and a first answer is remembered in the same commit as
what it reports: on PostgreSQL in the record's own statement, elsewhere in a transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from flask import Response, after_this_request, current_app, request
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from service import clock, db
from service.answers import Answer, Decided
from service.auth import current_client
from service.errors import Problem
from service.idempotency.keys import InvalidKey, fingerprint, read_key
from service.idempotency.store import (
    PURGE_CHUNK,
    KeyUse,
    Remembered,
    find_answer,
    purge_expired,
    record_remembering,
    remember_answer,
)
from service.records import append_record

logger = logging.getLogger(__name__)

# Each server process purges expired answers at most this often, after an answer left.
PURGE_EVERY_SECONDS = 60.0
_LOCK_NOT_AVAILABLE = "55P03"
_LAST_PURGE = "jamkesda.idempotency_last_purge"

Decide = Callable[[Connection], Decided]
Produce = Callable[[Connection], Answer]
Restore = Callable[[str], str]


def _unchanged(text: str) -> str:
    """A kept text that is sent as it was kept."""
    return text


def in_use() -> Problem:
    """The 409 of a key whose first request is still being processed."""
    return Problem(
        409,
        "IDEMPOTENCY_KEY_IN_USE",
        "Permintaan dengan Idempotency-Key ini masih diproses. Ulangi sebentar lagi.",
        headers={"Retry-After": "1"},
    )


def answer_check(operation: str, decide: Decide, restore: Restore = _unchanged) -> Response:
    """Decide one check, record it and answer, at most once per client and key.

    Without a key the record is one statement on the request's autocommit connection.
    ``restore`` turns a kept text back into the text a replay sends.
    """
    key = _key()
    connection = db.autocommit_connection()
    if key is None:
        return _recorder(decide(connection))(connection).response()
    use = _use(operation, key)
    if (kept := find_answer(connection, use)) is not None:
        return _replay(kept, use, restore)
    decided = decide(connection)
    if connection.dialect.name == "postgresql":
        answer = _unless_in_use(lambda: record_remembering(connection, use, decided))
    else:
        record = _recorder(decided)
        answer = _unless_in_use(lambda: _in_transaction(connection, use, record))
    return _answered(connection, use, answer, restore)


def _recorder(decided: Decided) -> Produce:
    """The unit of work of one decided check: its record, then its answer."""
    return lambda connection: decided.answer(append_record(connection, decided.entry))


def answer_unit(operation: str, produce: Produce) -> Response:
    """Run a unit of work of several writes in one transaction and answer, at most once."""
    key = _key()
    connection = db.autocommit_connection()
    if key is None:
        with db.transaction(connection):
            produced = produce(connection)
        # Answered once committed: the answer names and counts what it reports.
        return produced.response()
    use = _use(operation, key)
    if (kept := find_answer(connection, use)) is not None:
        return _replay(kept, use, _unchanged)
    answer = _unless_in_use(lambda: _in_transaction(connection, use, produce))
    return _answered(connection, use, answer, _unchanged)


class _Taken(Exception):
    """A concurrent request remembered the key first: this one's work is undone."""


def _in_transaction(connection: Connection, use: KeyUse, produce: Produce) -> Answer | None:
    """The unit of work and its remembered answer in one transaction; None if taken."""
    try:
        with db.transaction(connection):
            answer = produce(connection)
            if not remember_answer(connection, use, answer):
                raise _Taken
    except _Taken:
        return None
    return answer


def _key() -> str | None:
    """The request's Idempotency-Key (None: none sent), or 400 for a malformed one."""
    try:
        return read_key(request.headers.get("Idempotency-Key"))
    except InvalidKey as invalid:
        raise Problem(400, "INVALID_IDEMPOTENCY_KEY", str(invalid)) from invalid


def _use(operation: str, key: str) -> KeyUse:
    """This request's use of its key."""
    return KeyUse(
        client_id=current_client().id,
        key=key,
        operation=operation,
        fingerprint=fingerprint(request.get_data()),
        at=clock.now(),
    )


def _unless_in_use(write: Callable[[], Answer | None]) -> Answer | None:
    """Run ``write``; a wait for a concurrent request with the key that lasts too long is 409."""
    try:
        return write()
    except OperationalError as error:
        if getattr(error.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
            raise
        raise in_use() from error


def _answered(
    connection: Connection, use: KeyUse, answer: Answer | None, restore: Restore
) -> Response:
    """The first answer; or, when a concurrent request remembered the key first, its answer."""
    if answer is None:
        kept = find_answer(connection, use)
        if kept is None:
            raise in_use()
        return _replay(kept, use, restore)
    _purge_now_and_then()
    return answer.response()


def _replay(kept: Remembered, use: KeyUse, restore: Restore) -> Response:
    """The kept answer again, or 422 when the key came with another request."""
    if kept.operation != use.operation or kept.fingerprint != use.fingerprint:
        raise Problem(
            422,
            "IDEMPOTENCY_KEY_REUSED",
            "Idempotency-Key ini sudah dipakai untuk permintaan lain. "
            "Gunakan kunci baru untuk setiap pemeriksaan.",
        )
    # The answers that report a check point at it (``/v1/checks/{check_id}``, FHIR's read).
    check_id = kept.location.rsplit("/", 1)[-1] if kept.location else None
    body = restore(kept.body)
    answer = Answer(kept.status, body, kept.media_type, kept.location, check_id=check_id)
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
