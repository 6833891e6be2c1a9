"""The console's overview pages (SPEC §10): statistics, the access log, imports, API clients.

Each view reads through the audit package's data access, as the audit API does, and the
access-log hook records every view like an audit API call.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, request
from markupsafe import Markup

from service import clock, db
from service.api.requests import app_settings
from service.audit.access import list_access
from service.audit.clients import list_api_clients
from service.audit.facilities import facilities_by_name
from service.audit.heavy import heavy
from service.audit.snapshots import list_snapshots
from service.audit.stats import check_stats
from service.web import overview_labels as labels
from service.web.charts import Bar, bar_chart, column_chart, scale_top
from service.web.denial_stats import FacilityStats, Tally, facility_stats, overall
from service.web.overview_forms import read_page_cursor, read_stats_form
from service.web.pages import CONSOLE, page, signed_in_page

ACCESS_PAGE_SIZE = 50
STATS_GROUPS = ("facility", "day", "decision")


def register(blueprint: Blueprint) -> None:
    """Add the overview pages to the console's blueprint."""
    blueprint.add_url_rule("/statistik", "stats", signed_in_page(CONSOLE)(heavy(stats)))
    blueprint.add_url_rule("/log-akses", "access", signed_in_page(CONSOLE)(access))
    blueprint.add_url_rule("/impor", "imports", signed_in_page(CONSOLE)(imports))
    blueprint.add_url_rule("/klien", "clients", signed_in_page(CONSOLE)(clients))


def stats() -> Any:
    """Checks per facility and day by decision, with the denial rate drawn and tabled."""
    settings = app_settings()
    zone = settings.policy.zone
    facilities = facilities_by_name(db.session())
    names = {facility.code: facility.name for facility in facilities}
    form = read_stats_form(
        request.args, names.keys(), zone, clock.today(zone), settings.nik_hash_key
    )
    context: dict[str, Any] = {"area": CONSOLE, "form": form, "facilities": facilities}
    if form.check_filter is None:
        return page("console/stats.html", 422, **context)
    rows = check_stats(db.session(), form.check_filter, STATS_GROUPS, zone)
    found = facility_stats(rows, names)
    if not found and form.values["fasilitas"]:
        found = [FacilityStats(form.values["fasilitas"], names[form.values["fasilitas"]])]
    return page(
        "console/stats.html",
        **context,
        labels=labels,
        stats=found,
        total=overall(found),
        day_charts=_day_charts(found, form.days),
        facility_chart=bar_chart(
            "Tingkat penolakan per fasilitas selama periode",
            [_bar(facility.name, facility.period) for facility in found],
        ),
    )


def _bar(label: str, tally: Tally) -> Bar:
    """A chart's bar of a tally, its counts in the tooltip."""
    return Bar(label, tally.rate, f"{tally.not_eligible} dari {tally.decided} keputusan")


def _day_charts(found: list[FacilityStats], days: list[date]) -> dict[str | None, Markup]:
    """One column chart per facility, a column per day, all on the same scale."""
    top = scale_top(tally.rate for facility in found for tally in facility.days.values())
    charts = {}
    for facility in found:
        bars = [
            _bar(labels.short_date(day), facility.days[day])
            if day in facility.days
            else Bar(labels.short_date(day), None)
            for day in days
        ]
        charts[facility.code] = column_chart(
            f"Tingkat penolakan per hari: {facility.name}", bars, top
        )
    return charts


def access() -> Any:
    """The access log, newest first, a page at a time."""
    below = read_page_cursor(request.args)
    found = list_access(db.session(), ACCESS_PAGE_SIZE, below)
    return page(
        "console/access.html",
        area=CONSOLE,
        entries=found.entries,
        next_cursor=found.next_cursor,
        first_page=below is None,
        zone=app_settings().policy.zone,
        labels=labels,
    )


def imports() -> Any:
    """Every data import, newest first."""
    return page(
        "console/imports.html",
        area=CONSOLE,
        snapshots=list_snapshots(db.session()),
        zone=app_settings().policy.zone,
        labels=labels,
    )


def clients() -> Any:
    """Every API client with its facility, oldest first, revoked ones marked."""
    return page(
        "console/clients.html",
        area=CONSOLE,
        clients=list_api_clients(db.session()),
        zone=app_settings().policy.zone,
        labels=labels,
    )
