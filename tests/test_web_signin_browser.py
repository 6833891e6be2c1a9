"""Signing in and out of the console and the desk page in Chromium (SPEC §10)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Client
from service.clients import revoke_client
from tests.browser import Browsed


def sign_in(browsed: Browsed, area: str, key: str) -> None:
    """Paste ``key`` on the area's sign-in page and press the button."""
    tab = browsed.page
    tab.goto(browsed.url(f"/{area}/"))
    tab.get_by_label("Kunci API").fill(key)
    tab.get_by_role("button", name="Masuk").click()


def test_an_auditor_signs_in_and_out_of_the_console(browsed: Browsed, keys: dict[str, str]) -> None:
    tab = browsed.page
    sign_in(browsed, "console", keys["auditor"])
    tab.wait_for_url("**/console/pemeriksaan")
    assert tab.get_by_text("Masuk sebagai").is_visible()
    tab.get_by_role("button", name="Keluar").click()
    tab.wait_for_url("**/console/?keluar=1")
    assert tab.get_by_text("Anda sudah keluar").is_visible()
    tab.goto(browsed.url("/console/pemeriksaan"))
    assert tab.url.endswith("/console/")


def test_a_revoked_key_is_thrown_out_at_the_next_page(
    browsed: Browsed, keys: dict[str, str], session: Session
) -> None:
    tab = browsed.page
    sign_in(browsed, "console", keys["auditor"])
    tab.wait_for_url("**/console/pemeriksaan")
    auditor = session.scalars(select(Client).where(Client.role == "auditor")).one()
    revoke_client(session, auditor.id)
    session.commit()
    tab.goto(browsed.url("/console/statistik"))
    assert tab.url.endswith("/console/")
    assert tab.get_by_label("Kunci API").is_visible()


def test_a_desk_key_on_the_console_gets_a_clear_refusal(
    browsed: Browsed, keys: dict[str, str]
) -> None:
    sign_in(browsed, "console", keys["desk"])
    assert browsed.page.get_by_role("heading", name="Tidak berhak").is_visible()
    assert browsed.page.get_by_text("hanya untuk kunci auditor").is_visible()
