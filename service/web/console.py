"""The Ombudsman's console (SPEC §10): auditors search, read and report on checks.

A search may name a NIK, so its form is posted and kept on the server
(``service.web.search``); its result pages, its CSV and its report go by an opaque token
of the session. The hook of ``service.audit.hook`` records every page view; a view here
sets ``g.access_query`` to what was searched, its NIK masked, so that the access log
says what an auditor looked for without holding the NIK.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, redirect, request, stream_with_context, url_for

from service import db
from service.api.requests import app_settings, check_not_found, check_reference
from service.audit.cursor import InvalidCursor, decode_cursor
from service.audit.export import csv_export
from service.audit.heavy import heavy
from service.audit.records import AuditEntry, find_entry, list_records
from service.decision import Outcome, Reason
from service.errors import Problem
from service.web import console_overview
from service.web.dispute_report import check_report, search_report
from service.web.dossier import dossier, latest_signed
from service.web.pages import CONSOLE, page, page_blueprint, signed_in_page
from service.web.record_labels import DECISIONS, REASONS, Words
from service.web.search import (
    CHECKS,
    REPORT,
    REPORT_FIELDS,
    SEARCH_FIELDS,
    InvalidSearch,
    Saved,
    access_text,
    facility_choices,
    find_search,
    form_values,
    read_search,
    save_search,
    searched_values,
)
from service.web.signin import add_sign_in

blueprint = page_blueprint("console", "/console")
add_sign_in(blueprint, CONSOLE)
console_overview.register(blueprint)

PAGE_SIZE = 50


@blueprint.context_processor
def console_words() -> dict[str, Any]:
    """The labels and choices every console template may use."""
    return {
        "words": Words(app_settings().policy.zone),
        "decision_choices": [(o.value, DECISIONS[o]) for o in Outcome],
        "reason_choices": [(r.value, REASONS[r]) for r in Reason],
    }


def _saved(kind: str) -> Saved:
    """The search named by ``?cari=``, if this session saved it; else the 404 page."""
    found = find_search(db.session(), request.args.get("cari", ""), g.web_session_id, kind)
    if found is None:
        raise Problem(
            404,
            "SEARCH_NOT_FOUND",
            "Pencarian ini tidak ada, atau dibuat di sesi lain. Ulangi pencarian.",
        )
    g.access_query = f"cari={found.token}&{access_text(searched_values(found.search))}"
    return found


def _posted(kind: str, fields: tuple[str, ...], required: tuple[str, ...] = ()) -> Any:
    """Validate and keep a posted search; redirect to its results, or the form again (422)."""
    values = form_values(request.form, fields)
    g.access_query = access_text(values)
    settings = app_settings()
    try:
        search = read_search(values, settings.policy.zone, settings.nik_hash_key, required)
    except InvalidSearch as invalid:
        # The NIK is never written back into the form: no page shows a plain NIK.
        shown = {name: value for name, value in values.items() if name != "nik"}
        return _form(kind, 422, values=shown, errors=invalid.errors)
    token = save_search(db.session(), g.web_session_id, kind, search)
    db.session().commit()
    endpoint = "console.checks" if kind == CHECKS else "console.report"
    return redirect(url_for(endpoint, cari=token), code=303)


def _form(kind: str, status: int = 200, **context: Any) -> Any:
    """The search page or the report page, with its form and what ``context`` adds."""
    if kind == CHECKS:
        context["facilities"] = facility_choices(db.session())
        return page("console/checks.html", status, area=CONSOLE, **context)
    return page("console/report.html", status, area=CONSOLE, **context)


def _page_cursor() -> int | None:
    """The record the requested page follows (``&halaman=``), None for the first page."""
    cursor = request.args.get("halaman")
    if cursor is None:
        return None
    try:
        return decode_cursor(cursor)
    except InvalidCursor as invalid:
        raise Problem(422, "INVALID_CURSOR", str(invalid)) from invalid


@blueprint.route("/pemeriksaan", methods=["GET", "POST"])
@signed_in_page(CONSOLE)
def checks() -> Any:
    """Search check records: the form, and a saved search's results, newest first."""
    if request.method == "POST":
        return _posted(CHECKS, SEARCH_FIELDS)
    if "cari" not in request.args:
        return _form(CHECKS, values={}, errors={})
    saved = _saved(CHECKS)
    results = list_records(db.session(), saved.search.check_filter, PAGE_SIZE, _page_cursor())
    return _form(CHECKS, values=saved.search.shown, errors={}, saved=saved, results=results)


@blueprint.route("/pemeriksaan.csv", methods=["GET"])
@signed_in_page(CONSOLE)
@heavy
def checks_csv() -> Response:
    """Every record of a saved search as CSV, streamed (``service.audit.export``)."""
    saved = _saved(CHECKS)
    sessions = current_app.extensions["jamkesda.sessions"]
    chunks = csv_export(sessions, saved.search.check_filter, app_settings().policy.zone)
    return Response(
        stream_with_context(chunks),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="pemeriksaan.csv"'},
    )


def _entry(check_id: str) -> AuditEntry:
    """The record of a typed reference; the invalid or the not-found page otherwise."""
    entry = find_entry(db.session(), check_reference(check_id))
    if entry is None:
        raise check_not_found()
    return entry


@blueprint.route("/pemeriksaan/<string:check_id>", methods=["GET"])
@signed_in_page(CONSOLE)
@heavy
def record(check_id: str) -> Any:
    """One record: every field, its replay beside it, and its ledger state."""
    session, settings = db.session(), app_settings()
    entry = _entry(check_id)
    shown = dossier(session, entry, settings, latest_signed(session, settings))
    return page("console/record.html", area=CONSOLE, dossier=shown)


@blueprint.route("/pemeriksaan/<string:check_id>/laporan", methods=["GET"])
@signed_in_page(CONSOLE)
@heavy
def record_report(check_id: str) -> Any:
    """The printable dispute report of one check."""
    made = check_report(db.session(), _entry(check_id), app_settings())
    return page("console/report.html", area=CONSOLE, report=made, values={}, errors={})


@blueprint.route("/laporan", methods=["GET", "POST"])
@signed_in_page(CONSOLE)
@heavy
def report() -> Any:
    """The dispute report of one NIK over a date range: the form, then the report."""
    if request.method == "POST":
        return _posted(REPORT, REPORT_FIELDS, required=REPORT_FIELDS)
    if "cari" not in request.args:
        return _form(REPORT, values={}, errors={})
    saved = _saved(REPORT)
    made = search_report(db.session(), saved.search.check_filter, app_settings())
    return _form(REPORT, values=saved.search.shown, errors={}, saved=saved, report=made)
