"""Counts of check records by facility, decision, reason and WITA day, with denial rates.

``count`` is every record of the group, refused requests (``INVALID_REQUEST``) included.
``decided`` leaves those out: a refused request decided nothing. ``not_eligible`` counts
``NOT_ELIGIBLE`` decisions, and ``denial_rate = not_eligible / decided`` (null when the
group decided nothing), so a facility with many mistyped NIKs does not look kinder.
Grouped by reason, a record with two reasons counts in both groups, and a record with
none (``ELIGIBLE``, ``INVALID_REQUEST``) in the group whose reason is null.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from models import CheckRecord
from service.audit.dialects import local_day, reason_elements
from service.audit.filters import CheckFilter
from service.decision import Outcome

GROUPS = ("facility", "decision", "reason", "day")
DENIAL_RATE_DIGITS = 4


def check_stats(
    session: Session, check_filter: CheckFilter, group_by: Sequence[str], zone: tzinfo
) -> list[dict[str, Any]]:
    """One row per group of ``group_by`` (names of ``GROUPS``), ordered by the groups."""
    statement = stats_statement(check_filter, group_by, zone, session.get_bind().dialect.name)
    return [_row(group_by, row._mapping) for row in session.execute(statement)]


def stats_statement(
    check_filter: CheckFilter, group_by: Sequence[str], zone: tzinfo, dialect: str
) -> Select[Any]:
    """The SELECT of the counts of each group, ordered by the groups."""
    keys: dict[str, ColumnElement[Any] | InstrumentedAttribute[Any]] = {
        "facility": CheckRecord.facility_code,
        "decision": CheckRecord.decision,
        "day": local_day(dialect, zone),
    }
    grouped = select(CheckRecord.decision.label("outcome")).select_from(CheckRecord)
    for name in group_by:
        if name == "reason":
            reasons = reason_elements(dialect)
            grouped = grouped.outerjoin(reasons, true()).add_columns(
                reasons.c.value.label("reason")
            )
        else:
            grouped = grouped.add_columns(keys[name].label(name))
    # Grouping an inner select by its labels lets PostgreSQL match expressions with
    # parameters (the day's zone) between SELECT and GROUP BY.
    inner = check_filter.apply(grouped, dialect).subquery("grouped")
    outcome = inner.c.outcome
    group_columns = [inner.c[name] for name in group_by]
    return (
        select(
            *group_columns,
            func.count().label("count"),
            func.count(case((outcome != Outcome.INVALID_REQUEST.value, 1))).label("decided"),
            func.count(case((outcome == Outcome.NOT_ELIGIBLE.value, 1))).label("not_eligible"),
        )
        .group_by(*group_columns)
        .order_by(*(column.asc().nulls_last() for column in group_columns))
    )


def _row(group_by: Sequence[str], values: Any) -> dict[str, Any]:
    decided, not_eligible = int(values["decided"]), int(values["not_eligible"])
    return {
        **{name: values[name] for name in group_by},
        "count": int(values["count"]),
        "decided": decided,
        "not_eligible": not_eligible,
        "denial_rate": round(not_eligible / decided, DENIAL_RATE_DIGITS) if decided else None,
    }
