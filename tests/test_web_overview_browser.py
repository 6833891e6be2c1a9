"""The console's overview pages in Chromium (SPEC §10): what an auditor sees, and cannot."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Client
from service.clients import revoke_client
from tests.browser import Browsed
from tests.conftest import RESIDENT, bearer
from tests.overview_records import HOSTILE, NIKS, hostile_desk, make_records
from tests.test_web_signin_browser import sign_in

SCRIPT_RAN = "() => typeof window.__x"


@pytest.fixture
def signed_in(
    browsed: Browsed, http: FlaskClient, session: Session, keys: dict[str, str], registry: Any
) -> Browsed:
    """Records at two facilities over two days, a revoked client, an auditor signed in.

    The auditor also reads the audit API with a plain NIK in the query, so that the access
    log has one to mask.
    """
    make_records(http, session, keys, hostile_desk(session))
    other = session.scalars(select(Client).where(Client.facility_code == "1040003")).one()
    revoke_client(session, other.id)
    session.commit()
    answer = http.get(f"/v1/audit/checks?nik={RESIDENT}", headers=bearer(keys["auditor"]))
    assert answer.status_code == 200
    sign_in(browsed, "console", keys["auditor"])
    browsed.page.wait_for_url("**/console/pemeriksaan")
    return browsed


def test_an_auditor_reads_the_four_overview_pages_and_no_plain_nik_is_shown(
    signed_in: Browsed,
) -> None:
    tab = signed_in.page
    tab.get_by_role("link", name="Statistik").click()
    tab.wait_for_url("**/console/statistik")
    assert tab.get_by_role("heading", name="Statistik pemeriksaan").is_visible()
    assert tab.locator("svg.chart").count() == 3
    assert tab.get_by_role("img", name=re.compile("^Tingkat penolakan per fasilitas")).is_visible()
    assert tab.get_by_role("img", name=re.compile("per hari: Puskesmas Loa Janan")).is_visible()
    assert tab.get_by_role("cell", name="66,7%").first.is_visible()
    assert tab.get_by_text("dibagi jumlah pemeriksaan yang menghasilkan keputusan").is_visible()
    assert tab.get_by_role("heading", name=HOSTILE).is_visible()
    assert tab.evaluate(SCRIPT_RAN) == "undefined"
    signed_in.shot("console-stats")

    tab.get_by_role("link", name="Log akses").click()
    tab.wait_for_url("**/console/log-akses")
    assert tab.get_by_role("heading", name="Log akses").is_visible()
    assert tab.get_by_role("cell", name="nik=6402**********01").is_visible()
    assert tab.get_by_role("cell", name="/console/statistik").first.is_visible()
    signed_in.shot("console-access")

    tab.get_by_role("link", name="Riwayat impor").click()
    tab.wait_for_url("**/console/impor")
    assert tab.get_by_role("cell", name="Data kependudukan (Disdukcapil)").is_visible()
    assert tab.get_by_role("cell", name="Ya, mulai berlaku").first.is_visible()
    signed_in.shot("console-imports")

    tab.get_by_role("link", name="Klien API").click()
    tab.wait_for_url("**/console/klien")
    assert tab.get_by_role("cell", name=HOSTILE, exact=True).is_visible()
    assert tab.get_by_text(re.compile("^Dicabut pada")).is_visible()
    assert tab.evaluate(SCRIPT_RAN) == "undefined"
    signed_in.shot("console-clients")

    shown = [url for url, _html in signed_in.pages]
    for path in ("/console/statistik", "/console/log-akses", "/console/impor", "/console/klien"):
        assert any(url.endswith(path) for url in shown), path
    for url, html in signed_in.pages:
        for nik in NIKS:
            assert nik not in html, url
            assert nik not in url


def test_the_statistics_form_is_filled_with_labelled_fields(signed_in: Browsed) -> None:
    tab = signed_in.page
    tab.goto(signed_in.url("/console/statistik"))
    today = tab.get_by_label("Sampai tanggal", exact=True).input_value()
    tab.get_by_label("Dari tanggal", exact=True).fill(today)
    tab.get_by_label("Fasilitas", exact=True).select_option(label="Puskesmas Loa Janan (1040001)")
    # The keyboard alone: Tab from the last field to the button, Enter presses it.
    tab.get_by_label("Fasilitas", exact=True).press("Tab")
    tab.keyboard.press("Enter")
    tab.wait_for_url(re.compile(r"fasilitas=1040001"))
    assert f"dari={today}" in tab.url
    summary = tab.get_by_role("table").first
    assert summary.get_by_role("row").count() == 2  # The header and one facility.
    assert summary.get_by_role("cell", name="50,0%").is_visible()
    assert tab.evaluate(SCRIPT_RAN) == "undefined"
