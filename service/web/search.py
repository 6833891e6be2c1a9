"""Console searches: the posted form checked like the API's filters, kept behind a token.

A search form may hold a NIK, so it is posted, never put in an address (SPEC §10). Its
values are validated by the audit API's own schema and ``check_filter``, so the console
and ``GET /v1/audit/checks`` accept exactly the same values. A valid search is kept as a
``SavedSearch`` of the web session: the NIK only as its keyed hash and its mask. The
result pages then name the search by an opaque token, which opens nothing in any other
session.
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any
from urllib.parse import urlencode

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Facility, SavedSearch
from service import clock
from service.api.audit_schemas import CheckFilterSchema
from service.audit.filters import CheckFilter, InvalidFilter, check_filter
from service.errors import field_messages
from service.nik import mask, normalise

# What a saved search is for: a listing of checks, or a dispute report of one NIK.
CHECKS = "pemeriksaan"
REPORT = "laporan"
# The form's fields, named as the API's query parameters.
SEARCH_FIELDS = ("nik", "facility", "decision", "reason", "from", "to", "operator", "batch")
REPORT_FIELDS = ("nik", "from", "to")
REQUIRED = "Wajib diisi."
# ``check_filter`` names the API's parameters; the form labels them "Dari"/"Sampai".
DATES_REVERSED = "Tanggal 'dari' harus sebelum atau sama dengan tanggal 'sampai'."
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


class InvalidSearch(ValueError):
    """Form values the API would refuse; ``errors`` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("invalid search")
        self.errors = errors


@dataclass(frozen=True)
class Search:
    """A validated search: its filter, the NIK's mask, and the other values as typed."""

    check_filter: CheckFilter
    nik_masked: str | None
    shown: dict[str, str]  # field -> value as typed, every field but the NIK


@dataclass(frozen=True)
class Saved:
    """A search kept for a web session, and the token its pages go by."""

    token: str
    search: Search


def form_values(form: Mapping[str, str], fields: Iterable[str]) -> dict[str, str]:
    """The non-empty values of ``fields`` in a posted form, trimmed."""
    return {name: value.strip() for name in fields if (value := form.get(name, "")).strip()}


def read_search(
    values: Mapping[str, str], zone: tzinfo, hash_key: bytes, required: Iterable[str] = ()
) -> Search:
    """The search of the form's ``values``, or ``InvalidSearch`` naming each bad field."""
    errors = {name: [REQUIRED] for name in required if name not in values}
    query: dict[str, Any]
    try:
        query = CheckFilterSchema().load(values)
    except ValidationError as invalid:
        messages = invalid.messages if isinstance(invalid.messages, dict) else {}
        for name, texts in messages.items():
            errors.setdefault(str(name), []).extend(field_messages(texts))
        # The fields that are valid still go through ``check_filter``: reversed dates
        # are marked together with a bad NIK, not one round after it.
        query = invalid.valid_data if isinstance(invalid.valid_data, dict) else {}
    try:
        selection = check_filter(query, zone, hash_key)
    except InvalidFilter:
        errors.setdefault("from", []).append(DATES_REVERSED)
    if errors:
        raise InvalidSearch(errors)
    nik = query.get("nik")
    shown = {name: value for name, value in values.items() if name != "nik"}
    return Search(selection, mask(nik) if nik else None, shown)


def save_search(session: Session, web_session_id: int, kind: str, search: Search) -> str:
    """Keep ``search`` for the web session; the token of its result pages."""
    token = secrets.token_urlsafe(32)
    document = {
        "kind": kind,
        "filter": {
            name: value.isoformat() if isinstance(value, datetime) else value
            for name, value in dataclasses.asdict(search.check_filter).items()
        },
        "nik_masked": search.nik_masked,
        "shown": search.shown,
    }
    session.add(
        SavedSearch(
            token=token,
            session_id=web_session_id,
            created_at=clock.now(),
            form=json.dumps(document),
        )
    )
    session.flush()
    return token


def find_search(session: Session, token: str, web_session_id: int, kind: str) -> Saved | None:
    """The search of ``token`` if this web session saved it for ``kind``, else None."""
    if not _TOKEN.fullmatch(token):
        return None
    form = session.scalar(
        select(SavedSearch.form).where(
            SavedSearch.token == token, SavedSearch.session_id == web_session_id
        )
    )
    if form is None:
        return None
    document = json.loads(form)
    if document["kind"] != kind:
        return None
    kept = document["filter"]
    for name in ("start", "end"):
        if kept[name] is not None:
            kept[name] = datetime.fromisoformat(kept[name])
    search = Search(CheckFilter(**kept), document["nik_masked"], document["shown"])
    return Saved(token, search)


def access_text(values: Mapping[str, str]) -> str:
    """A search as the access log keeps it: a query string, its NIK masked."""
    logged = {
        name: mask(normalise(value)) if name == "nik" else value for name, value in values.items()
    }
    return urlencode(logged)


def searched_values(search: Search) -> dict[str, str]:
    """The values of a saved search, its NIK as the mask (for the access log)."""
    values = dict(search.shown)
    if search.nik_masked:
        values = {"nik": search.nik_masked, **values}
    return values


def facility_choices(session: Session) -> list[tuple[str, str]]:
    """Every facility on file as (code, name), by name: the search form's choices."""
    rows = session.execute(select(Facility.code, Facility.name).order_by(Facility.name))
    return [(code, name) for code, name in rows]
