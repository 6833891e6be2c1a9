"""The patient's receipt (SPEC §10): the full NIK unlocks what was decided for it.

No key and no session: the address on the slip (``/r/<reference>``) asks for the full NIK,
posted (never in an address). Every try is in the access log with the NIK masked
(``g.access_query``), and the log counts the tries of an address (``receipts.tries_wait``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import g, request

from service import db
from service.api.requests import app_settings
from service.errors import Problem
from service.web.pages import page, page_blueprint
from service.web.receipts import MAX_TRIES, ledger_state, tries_wait, unlocked_record
from service.web.shown import facility_name, shown_check

blueprint = page_blueprint("receipt", "/r")

# A reference is 14 characters; what the address holds is shown only this far.
SHOWN_REFERENCE = 32
# The typed NIK goes to the access log (masked there) only this far.
LOGGED_TYPED = 200


@blueprint.route("/<check_id>", methods=["GET"])
def receipt_form(check_id: str) -> Any:
    """The form that asks for the full NIK; it says nothing of whether the reference exists."""
    return page("receipt/form.html", reference=check_id[:SHOWN_REFERENCE])


@blueprint.route("/<check_id>", methods=["POST"])
def unlock(check_id: str) -> Any:
    """The receipt for the right NIK; one "not found" page for anything else."""
    typed = request.form.get("nik", "")
    g.access_query = urlencode({"nik": typed[:LOGGED_TYPED]})
    session = db.session()
    wait = tries_wait(session, request.remote_addr)
    if wait is not None:
        raise Problem(
            429,
            "TOO_MANY_TRIES",
            f"Sudah {MAX_TRIES} kali mencoba dalam satu menit dari alamat ini. Tunggu "
            f"{wait} detik, lalu coba lagi.",
            headers={"Retry-After": str(wait)},
        )
    record = unlocked_record(session, check_id, typed, app_settings().nik_hash_key)
    if record is None:
        return page("receipt/not_found.html", 404)
    shown = shown_check(
        record, facility_name(session, record.facility_code), app_settings().policy.zone
    )
    return page("receipt/unlocked.html", shown=shown, ledger=ledger_state(session, record.check_id))
