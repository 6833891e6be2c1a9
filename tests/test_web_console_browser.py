"""The console in Chromium (SPEC §10): search, record page, printed report, escaping, privacy."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.browser import Browsed
from tests.conftest import RESIDENT, TEST_LEDGER_SIGNER, bearer
from tests.factories import add_facility, add_key
from tests.ledger_records import sequence_all
from tests.pdf_text import pdf_text
from tests.test_web_signin_browser import sign_in

OTHER_PERSON = "6402010101800003"
NIKS = (RESIDENT, OTHER_PERSON)
PAYLOAD = "<script>window.__x=1</script>\"'<b>"


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    """The served app without its own sequencer: the test sequences when it needs to."""
    return {**env, "LEDGER_SEQUENCER": "off"}


def api_check(browsed: Browsed, key: str, nik: str, **fields: Any) -> str:
    """A check made through the served API; its reference."""
    answer = requests.post(
        browsed.url("/v1/checks"), json={"nik": nik, **fields}, headers=bearer(key), timeout=10
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["check_id"])


def search_by_nik(browsed: Browsed, nik: str) -> None:
    """Type a NIK on the search page and search."""
    tab = browsed.page
    tab.goto(browsed.url("/console/pemeriksaan"))
    tab.get_by_label("NIK", exact=True).fill(nik)
    tab.get_by_role("button", name="Cari").click()
    tab.wait_for_url("**/console/pemeriksaan?cari=*")


def assert_no_plain_nik(browsed: Browsed) -> None:
    """No page the browser was sent, nor its address, holds a plain NIK."""
    assert browsed.pages
    for url, html in browsed.pages:
        for nik in NIKS:
            assert nik not in url
            assert nik not in html, url


def test_an_auditor_finds_a_persons_checks_reads_one_and_prints_the_report(
    browsed: Browsed, keys: dict[str, str], registry: dict[str, Any], engine: Engine
) -> None:
    tab = browsed.page
    at_puskesmas = api_check(browsed, keys["desk"], RESIDENT, operator_id="rina")
    at_hospital = api_check(browsed, keys["integration"], RESIDENT, operator_id="budi")
    api_check(browsed, keys["desk"], OTHER_PERSON)
    sequence_all(engine)
    sign_in(browsed, "console", keys["auditor"])
    tab.wait_for_url("**/console/pemeriksaan")

    search_by_nik(browsed, RESIDENT)
    rows = tab.locator("table.results tbody tr")
    assert rows.count() == 2
    assert at_hospital in rows.nth(0).inner_text()
    assert "RSUD A.M. Parikesit" in rows.nth(0).inner_text()
    assert at_puskesmas in rows.nth(1).inner_text()
    assert "Puskesmas Loa Janan" in rows.nth(1).inner_text()
    assert tab.get_by_text("6402**********01").first.is_visible()
    browsed.shot("console-search")

    tab.get_by_role("link", name=at_puskesmas).click()
    tab.wait_for_url(f"**/console/pemeriksaan/{at_puskesmas}")
    replay = tab.locator(".replay")
    assert replay.get_by_role("heading", name="Menurut data saat itu").is_visible()
    assert replay.get_by_role("heading", name="Menurut data sekarang").is_visible()
    assert replay.get_by_text("Sama dengan yang tercatat").count() == 2
    ledger = tab.locator("section", has=tab.get_by_role("heading", name="Status di ledger"))
    assert "ukuran 3 daun" in ledger.inner_text()
    assert ledger.locator(".verdict-ok").inner_text().endswith("Terverifikasi")
    browsed.shot("console-record")

    tab.get_by_role("link", name="Laporan sengketa", exact=True).click()
    tab.get_by_label("NIK", exact=True).fill(RESIDENT)
    tab.get_by_label("Dari tanggal").fill("2020-01-01")
    tab.get_by_label("Sampai tanggal").fill("2099-12-31")
    tab.get_by_role("button", name="Buat laporan").click()
    tab.wait_for_url("**/console/laporan?cari=*")
    assert tab.locator(".report-check").count() == 2
    browsed.shot("console-report")
    # The Print button opens the browser's print dialog.
    tab.evaluate("window.print = () => { window.__printed = true; }")
    tab.get_by_role("button", name="Cetak laporan").click()
    assert tab.evaluate("window.__printed") is True

    text = pdf_text(tab.pdf(format="A4"))
    for expected in (
        "Laporan sengketa",
        at_puskesmas,
        at_hospital,
        "Puskesmas Loa Janan",
        "RSUD A.M. Parikesit",
        "Menurut data sekarang",
        "Terverifikasi",
        TEST_LEDGER_SIGNER.name,
        "verify_ledger.py",
    ):
        assert expected in text, expected
    assert "Cetak laporan" not in text  # the button is not printed
    assert_no_plain_nik(browsed)


def test_script_from_a_request_or_an_import_is_shown_as_text(
    browsed: Browsed, keys: dict[str, str], registry: dict[str, Any], session: Session
) -> None:
    tab = browsed.page
    add_facility(session, "1040009", PAYLOAD)
    key = add_key(session, "desk", "1040009")
    session.commit()
    reference = api_check(browsed, key, RESIDENT, operator_id=PAYLOAD, external_ref=PAYLOAD)
    sign_in(browsed, "console", keys["auditor"])
    tab.wait_for_url("**/console/pemeriksaan")
    tab.get_by_label("Fasilitas").select_option(label=PAYLOAD)
    tab.get_by_role("button", name="Cari").click()
    tab.wait_for_url("**/console/pemeriksaan?cari=*")
    row = tab.locator("table.results tbody tr")
    assert row.count() == 1
    assert row.inner_text().count(PAYLOAD) == 2  # the facility and the operator
    assert tab.evaluate("typeof window.__x") == "undefined"

    tab.get_by_role("link", name=reference).click()
    tab.wait_for_url(f"**/console/pemeriksaan/{reference}")
    fields = tab.locator("dl.record-fields").inner_text()
    assert fields.count(PAYLOAD) == 3  # facility, operator and registration number
    assert tab.locator("dl.record-fields b").count() == 0
    assert tab.evaluate("typeof window.__x") == "undefined"
    assert_no_plain_nik(browsed)
