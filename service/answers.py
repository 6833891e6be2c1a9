"""What a door answers: the bytes of an answer, and a check decided but not yet recorded."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from flask import Response, request

from service.logs import name_in_log, route_pattern
from service.logs.request_line import UNMATCHED
from service.metrics import count_checks, count_replay
from service.records import CheckEntry


@dataclass(frozen=True)
class Answer:
    """A door's answer as bytes go out: status, JSON text, media type and ``Location``.

    ``kept`` is the text remembered for a replay when it must differ from the one sent
    (a FHIR answer echoes the caller's NIK, which is never stored); None: the same text.
    ``check_id`` and ``batch_id`` name what it reports in the request's log line, and
    ``recorded`` the (decision, channel) of each check it reports, for the metrics; they
    are not remembered with it.
    """

    status: int
    body: str
    media_type: str
    location: str | None = None
    kept: str | None = None
    check_id: str | None = None
    batch_id: str | None = None
    recorded: tuple[tuple[str, str], ...] = ()

    def response(self, replayed: bool = False) -> Response:
        """The HTTP answer; a replay says so in ``Idempotent-Replayed``."""
        # Named and counted only now that the answer leaves: what it reports is committed.
        name_in_log(self.check_id, self.batch_id)
        if replayed:
            rule = request.url_rule
            count_replay(UNMATCHED if rule is None else route_pattern(rule))
        else:
            count_checks(self.recorded)
        headers = {"Location": self.location} if self.location else {}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(self.body, status=self.status, headers=headers, mimetype=self.media_type)


@dataclass(frozen=True)
class Decided:
    """One check decided (or refused) and not yet recorded: its record, and its answer.

    ``render`` makes the answer from the record as it was written (its reference set),
    so that the record and the answer remembered for its Idempotency-Key can be written
    in one statement.
    """

    entry: CheckEntry
    render: Callable[[CheckEntry], Answer]

    def answer(self, record: CheckEntry) -> Answer:
        """The answer of ``record`` (the entry as written), naming and counting its check."""
        return dataclasses.replace(
            self.render(record),
            check_id=record.check_id,
            recorded=((record.decision, record.channel),),
        )
