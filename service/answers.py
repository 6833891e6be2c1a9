"""What a door answers: the bytes of an answer, and a check decided but not yet recorded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Response

from service.records import CheckEntry


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


@dataclass(frozen=True)
class Decided:
    """One check decided (or refused) and not yet recorded: its record, and its answer.

    ``render`` makes the answer from the record as it was written (its reference set),
    so that the record and the answer remembered for its Idempotency-Key can be written
    in one statement.
    """

    entry: CheckEntry
    render: Callable[[CheckEntry], Answer]
