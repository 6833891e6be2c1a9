"""The one time helper: instants are stored in UTC and shown in the policy's zone (WITA)."""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo


def now() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return datetime.now(UTC)


def aware(instant: datetime) -> datetime:
    """Read a stored instant: SQLite returns naive values, which are stored in UTC."""
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def local_iso(instant: datetime, zone: tzinfo) -> str:
    """ISO 8601 with the zone's offset, to the second (``2026-11-28T09:14:03+08:00``)."""
    return aware(instant).astimezone(zone).isoformat(timespec="seconds")


def today(zone: tzinfo) -> date:
    """Today's date in the zone (the service date when none is given)."""
    return now().astimezone(zone).date()
