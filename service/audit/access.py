"""The access log of the audit and ledger APIs (SPEC §2.7): write one entry, read a page.

Entries never hold a plain NIK: the ``nik`` parameter is masked like the records mask it,
and so is every other run of eight or more digits, in the query and in the path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_plus

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import AccessRecord, Client
from service import clock
from service.audit.cursor import encode_cursor
from service.nik import mask, normalise

NIK_PARAMETER = "nik"
# Digits, maybe grouped by the separators a NIK is typed with ("6402 0141 0190 0001").
_DIGIT_RUN = re.compile(r"[0-9](?:[\s.\-]*[0-9])*")
_EIGHT_DIGITS = re.compile(r"[0-9]{8}")
# Grouped digits count as a number to mask from this many on; a date (8) stays readable.
GROUPED_DIGITS = 12
# PostgreSQL text cannot hold NUL: an entry keeps U+FFFD in its place (as for bytes that
# are not UTF-8), else a URL with %00 could not be recorded and its answer became a 503.
NUL = "\x00"
NUL_SHOWN_AS = "\ufffd"
# SPEC §13: an entry keeps at most this much of a path and of a query, marked when cut.
KEPT_CHARACTERS = 512
CUT_MARK = "…"


def _masked_run(run: re.Match[str]) -> str:
    text = run.group()
    digits = normalise(text)
    if _EIGHT_DIGITS.search(text) or len(digits) >= GROUPED_DIGITS:
        return mask(digits)
    return text


def kept(text: str) -> str:
    """``text`` as an entry keeps it: at most KEPT_CHARACTERS, ending in CUT_MARK when cut.

    Anyone may send a long path or query, keyless too (SPEC §13): an entry is permanent,
    so what it keeps of them is bounded.
    """
    if len(text) <= KEPT_CHARACTERS:
        return text
    return text[: KEPT_CHARACTERS - len(CUT_MARK)] + CUT_MARK


def mask_digits(text: str) -> str:
    """``text`` with every run of 8+ digits, or of 12+ digits in groups, masked."""
    return _DIGIT_RUN.sub(_masked_run, text)


def masked_query(query_string: str) -> str:
    """A query string, decoded for reading, with its NIKs and other long numbers masked."""
    parameters = []
    for parameter in query_string.split("&"):
        if not parameter:
            continue
        name, equals, value = parameter.partition("=")
        name, value = mask_digits(unquote_plus(name)), unquote_plus(value)
        value = mask(normalise(value)) if name.lower() == NIK_PARAMETER else mask_digits(value)
        parameters.append(f"{name}{equals}{value}")
    return kept("&".join(parameters).replace(NUL, NUL_SHOWN_AS))


def masked_path(path: str) -> str:
    """A request path with long numbers (a NIK typed where a reference goes) masked."""
    return kept(mask_digits(path).replace(NUL, NUL_SHOWN_AS))


def record_access(
    engine: Engine,
    client_id: int | None,
    method: str,
    path: str,
    query: str,
    status: int,
    address: str | None = None,
) -> None:
    """Append one entry in a short transaction of its own, committed before returning."""
    with Session(engine) as session, session.begin():
        session.add(
            AccessRecord(
                at=clock.now(),
                client_id=client_id,
                method=method[:16],
                path=masked_path(path),
                query=masked_query(query),
                status=status,
                address=address[:64] if address else None,
            )
        )


@dataclass(frozen=True)
class AccessPage:
    """Entries with their clients (None: unknown), newest first, and the next cursor."""

    entries: list[tuple[AccessRecord, Client | None]]
    next_cursor: str | None


def list_access(session: Session, limit: int, below_id: int | None = None) -> AccessPage:
    """Up to ``limit`` entries with ids below ``below_id``, newest first."""
    statement = select(AccessRecord, Client).outerjoin(Client, Client.id == AccessRecord.client_id)
    if below_id is not None:
        statement = statement.where(AccessRecord.id < below_id)
    rows = session.execute(statement.order_by(AccessRecord.id.desc()).limit(limit + 1)).all()
    page: list[tuple[AccessRecord, Client | None]] = [
        (entry, client) for entry, client in rows[:limit]
    ]
    next_cursor = encode_cursor(page[-1][0].id) if len(rows) > limit else None
    return AccessPage(page, next_cursor)
