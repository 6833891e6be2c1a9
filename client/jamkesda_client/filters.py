"""The audit API's filters as Python keywords, turned into its query parameters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Union

FilterValue = Union[str, int, date, datetime, None]

# ``from`` is a Python keyword: callers write ``from_=`` or ``since=``.
_RENAMED = {"from_": "from", "since": "from"}


def _query_value(value: str | int | date | datetime) -> str:
    """A filter value as the query string carries it (dates and date-times in ISO 8601)."""
    if isinstance(value, date):  # a datetime is a date too
        return value.isoformat()
    return str(value)


def audit_query(filters: dict[str, FilterValue]) -> dict[str, str]:
    """Query parameters of ``GET /v1/audit/checks`` (and the CSV and stats) from keywords.

    Filters: nik, facility, client, operator, decision, reason, from (``from_`` or
    ``since``), to, batch, limit. A filter left None is not sent. Unknown names are sent as
    given: the service answers ``422 INVALID_FILTER`` naming them, or knows a newer filter.
    """
    query: dict[str, str] = {}
    for name, value in filters.items():
        if value is None:
            continue
        parameter = _RENAMED.get(name, name)
        if parameter in query:
            raise TypeError(f"the filter {parameter!r} is given twice (from_ and since)")
        query[parameter] = _query_value(value)
    return query


def group_by_value(group_by: str | Sequence[str]) -> str:
    """``group_by`` as the comma list the service reads."""
    if isinstance(group_by, str):
        return group_by
    return ",".join(group_by)
