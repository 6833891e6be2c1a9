"""The desk page (SPEC §10): a puskesmas without registration software checks a NIK.

The form posts to itself; a decided check redirects to its answer (POST/redirect/GET), so
that reloading the answer never makes a second check. The answer page holds the slip,
which its print stylesheet alone puts on paper.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, request, url_for
from flask import session as cookie

from models import CheckRecord
from service import db
from service.api.requests import app_settings
from service.auth import current_client
from service.check_ids import InvalidCheckId, parse_check_id
from service.decision import Outcome
from service.errors import Problem
from service.records import find_record
from service.web.desk_checks import Refused, desk_check, request_body
from service.web.pages import DESK, page, page_blueprint, signed_in_page
from service.web.shown import FIELD_LABELS, SERVICE_TYPES, facility_name, shown_check
from service.web.signin import add_sign_in
from service.web.slip import PAPER_WIDTHS, slip_of

blueprint = page_blueprint("desk", "/desk")
add_sign_in(blueprint, DESK)

# The cookie session remembers the clerk's user name between checks (it is no secret).
OPERATOR = "petugas"
OPERATOR_MAX = 64
NOT_FOUND = "Tidak ada pemeriksaan dengan nomor ini di fasilitas Anda."


def _form(
    values: dict[str, str], refused: Refused | None = None, status: int = 200
) -> tuple[str, int]:
    return page(
        "desk/check.html",
        status,
        area=DESK,
        values=values,
        refused=refused,
        labels=FIELD_LABELS,
        service_types=SERVICE_TYPES,
    )


@blueprint.route("/periksa", methods=["GET", "POST"])
@signed_in_page(DESK)
def check_form() -> Any:
    """The check form; posted, the check is decided, recorded and its answer shown."""
    if request.method == "GET":
        return _form({"operator_id": str(cookie.get(OPERATOR, ""))})
    body = request_body(request.form)
    cookie[OPERATOR] = body.get("operator_id", "")[:OPERATOR_MAX]
    outcome = desk_check(body)
    if isinstance(outcome, Refused):
        # The NIK is not written back into the page: the clerk types it again.
        values = {name: value for name, value in body.items() if name != "nik"}
        return _form(values, outcome, 422)
    return redirect(url_for("desk.check_result", check_id=outcome), 303)


def _own_record(reference: str) -> CheckRecord:
    """The decided check of the session's facility with this reference, else a 404 page."""
    try:
        record = find_record(db.session(), parse_check_id(reference))
    except InvalidCheckId as typo:
        raise Problem(404, "CHECK_NOT_FOUND", NOT_FOUND) from typo
    if (
        record is None
        or record.facility_code != current_client().facility_code
        or record.decision == Outcome.INVALID_REQUEST.value
    ):
        raise Problem(404, "CHECK_NOT_FOUND", NOT_FOUND)
    return record


@blueprint.route("/periksa/<check_id>", methods=["GET"])
@signed_in_page(DESK)
def check_result(check_id: str) -> Any:
    """A check's answer at a glance, with its printable slip (``?lebar=58`` for 58 mm)."""
    record = _own_record(check_id)
    session = db.session()
    shown = shown_check(
        record, facility_name(session, record.facility_code), app_settings().policy.zone
    )
    return page(
        "desk/result.html",
        area=DESK,
        shown=shown,
        slip=slip_of(record.check_id, request.args.get("lebar")),
        widths=PAPER_WIDTHS,
    )
