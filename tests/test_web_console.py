"""The console's search, record page, report and CSV (SPEC §10), through the Flask client."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from models import AccessRecord, CheckRecord, Client, SavedSearch
from service.check_ids import new_check_id
from service.registry_key import record_key
from service.web import dispute_report
from tests.audit_records import add_record, client_of
from tests.conftest import RESIDENT, bearer
from tests.ledger_records import sequence_all
from tests.test_web_sessions import csrf_of, sign_in

OTHER_PERSON = "6402010101800003"
SEARCH = "/console/pemeriksaan"
REPORT = "/console/laporan"
# Well formed, its check character right, and no check has it.
UNKNOWN_REFERENCE = new_check_id()


def checked(http: FlaskClient, key: str, nik: str = RESIDENT, **fields: Any) -> str:
    """Make a check through the API; its reference."""
    answer = http.post("/v1/checks", json={"nik": nik, **fields}, headers=bearer(key))
    assert answer.status_code in (201, 422), answer.get_data(as_text=True)
    return str(answer.get_json()["check_id"])


def post_form(http: FlaskClient, path: str, **fields: str) -> Any:
    """Post a console form with its CSRF token."""
    return http.post(path, data={"csrf_token": csrf_of(http, path), **fields})


def search(http: FlaskClient, **fields: str) -> str:
    """Post a search; the address of its results."""
    answer = post_form(http, SEARCH, **fields)
    assert answer.status_code == 303, answer.get_data(as_text=True)
    return str(answer.headers["Location"])


def field_tag(html: str, name: str) -> str:
    """The opening tag of the form field ``name``."""
    found = re.search(rf'<(?:input|select)[^>]*\bid="f-{name}"[^>]*>', html)
    assert found, f"no field {name}"
    return found.group(0)


def references(html: str) -> list[str]:
    """The check references linked from a results page, in order."""
    return re.findall(r'href="/console/pemeriksaan/([0-9A-Z-]{14})"', html)


@pytest.fixture
def auditor(http: FlaskClient, keys: dict[str, str]) -> FlaskClient:
    """The client, signed in to the console with the auditor's key."""
    sign_in(http, "console", keys["auditor"])
    return http


@pytest.mark.parametrize(
    "path", [SEARCH, REPORT, "/console/pemeriksaan/K7QM-3XD9-2F4A", f"{SEARCH}.csv?cari=x"]
)
def test_a_page_without_a_session_sends_the_browser_to_sign_in(
    http: FlaskClient, path: str
) -> None:
    answer = http.get(path)
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/console/"


def test_a_search_by_nik_lists_the_persons_checks_newest_first_by_token(
    auditor: FlaskClient, keys: dict[str, str], registry: dict[str, Any]
) -> None:
    first = checked(auditor, keys["desk"])
    checked(auditor, keys["desk"], OTHER_PERSON)
    second = checked(auditor, keys["integration"])
    results = search(auditor, nik="6402 0141 0190 0001")
    assert re.fullmatch(r"/console/pemeriksaan\?cari=[A-Za-z0-9_-]{43}", results)
    page = auditor.get(results).get_data(as_text=True)
    assert references(page) == [second, first]
    assert "6402**********01" in page
    assert "Puskesmas Loa Janan" in page
    assert "RSUD A.M. Parikesit" in page
    assert RESIDENT not in page


def test_the_facility_is_chosen_by_name_and_sent_as_its_code(
    auditor: FlaskClient, keys: dict[str, str], registry: dict[str, Any]
) -> None:
    form = auditor.get(SEARCH).get_data(as_text=True)
    assert '<option value="1040002">RSUD A.M. Parikesit</option>' in form
    checked(auditor, keys["desk"])
    hospital = checked(auditor, keys["integration"])
    page = auditor.get(search(auditor, facility="1040002")).get_data(as_text=True)
    assert references(page) == [hospital]
    assert '<option value="1040002" selected>' in page


@pytest.mark.parametrize(
    ("fields", "name", "message"),
    [
        ({"nik": "6402 0141 0190"}, "nik", "NIK harus terdiri dari 16 angka."),
        ({"nik": RESIDENT, "from": "2026-02-30"}, "from", "Tanggal harus YYYY-MM-DD"),
        ({"to": "kemarin"}, "to", "Tanggal harus YYYY-MM-DD"),
        ({"from": "2026-03-04", "to": "2026-03-03"}, "from", "harus sebelum atau sama"),
        ({"decision": "MAYBE"}, "decision", "Keputusan tidak dikenal."),
        ({"batch": "B-1234"}, "batch", "Nomor referensi harus 12 huruf/angka"),
    ],
)
def test_a_bad_field_gives_the_form_again_with_that_field_marked(
    auditor: FlaskClient, session: Session, fields: dict[str, str], name: str, message: str
) -> None:
    answer = post_form(auditor, SEARCH, **fields)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert 'aria-invalid="true"' in field_tag(html, name)
    assert f"f-{name}-salah" in field_tag(html, name)  # aria-describedby: its message
    error = re.search(rf'<p class="field-error" id="f-{name}-salah">([^<]*)</p>', html)
    assert error
    assert message in error.group(1)
    # Only the bad field is marked, and a NIK typed is never written back into the page.
    assert html.count('aria-invalid="true"') == 1
    assert RESIDENT not in html
    assert session.scalars(select(SavedSearch)).all() == []


def test_a_search_posted_without_its_csrf_token_is_400_and_not_saved(
    auditor: FlaskClient, session: Session
) -> None:
    answer = auditor.post(SEARCH, data={"nik": RESIDENT})
    assert answer.status_code == 400
    assert "CSRF_INVALID" in answer.get_data(as_text=True)
    assert session.scalars(select(SavedSearch)).all() == []


def test_a_saved_search_keeps_the_nik_only_as_its_hash_and_mask(
    auditor: FlaskClient, session: Session
) -> None:
    search(auditor, nik=RESIDENT, operator="rina")
    saved = session.scalars(select(SavedSearch)).one()
    assert RESIDENT not in saved.form
    assert "6402**********01" in saved.form
    assert "rina" in saved.form


def test_a_search_token_of_another_session_is_not_found(
    app: Flask, auditor: FlaskClient, keys: dict[str, str], registry: dict[str, Any]
) -> None:
    checked(auditor, keys["desk"])
    results = search(auditor, nik=RESIDENT)
    assert auditor.get(results).status_code == 200
    other = app.test_client()
    sign_in(other, "console", keys["auditor"])
    for path in (results, results.replace(SEARCH, f"{SEARCH}.csv")):
        answer = other.get(path)
        assert answer.status_code == 404
        assert "SEARCH_NOT_FOUND" in answer.get_data(as_text=True)
    assert other.get(f"{SEARCH}?cari=not-a-token").status_code == 404


def test_signing_out_forgets_the_sessions_saved_searches(
    auditor: FlaskClient, keys: dict[str, str], registry: dict[str, Any], session: Session
) -> None:
    checked(auditor, keys["desk"])
    search(auditor, nik=RESIDENT)
    assert len(session.scalars(select(SavedSearch)).all()) == 1
    token = csrf_of(auditor, SEARCH)
    assert auditor.post("/console/keluar", data={"csrf_token": token}).status_code == 302
    assert session.scalars(select(SavedSearch)).all() == []


def test_a_search_token_is_not_a_report_token(auditor: FlaskClient) -> None:
    token = search(auditor, nik=RESIDENT).split("cari=")[1]
    assert auditor.get(f"{REPORT}?cari={token}").status_code == 404


def test_the_csv_of_a_search_holds_its_records_with_the_nik_masked(
    auditor: FlaskClient, keys: dict[str, str], registry: dict[str, Any]
) -> None:
    first = checked(auditor, keys["desk"])
    second = checked(auditor, keys["integration"])
    checked(auditor, keys["desk"], OTHER_PERSON)
    token = search(auditor, nik=RESIDENT).split("cari=")[1]
    page = auditor.get(f"{SEARCH}?cari={token}").get_data(as_text=True)
    assert f'href="/console/pemeriksaan.csv?cari={token}"' in page
    answer = auditor.get(f"{SEARCH}.csv?cari={token}")
    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    lines = answer.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("check_id,decided_at,nik_masked,facility")
    assert [line.split(",")[0] for line in lines[1:]] == [second, first]
    assert all(",6402**********01," in line for line in lines[1:])
    assert RESIDENT not in answer.get_data(as_text=True)


def test_results_are_paged_by_the_listings_cursor(
    auditor: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    desk = client_of(session, keys["desk"])
    made = [add_record(session, desk).check_id for _ in range(53)]
    page = auditor.get(search(auditor, nik=RESIDENT)).get_data(as_text=True)
    assert references(page) == made[::-1][:50]
    following = re.search(r'href="(/console/pemeriksaan\?cari=[^"&]+&amp;halaman=[a-p]+)"', page)
    assert following
    rest = auditor.get(following.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert references(rest) == made[::-1][50:]
    assert "Halaman berikutnya" not in rest
    broken = following.group(1).replace("&amp;", "&") + "zz"
    assert auditor.get(broken).status_code == 422


def test_the_record_page_shows_every_field_the_replay_and_the_ledger_state(
    auditor: FlaskClient, keys: dict[str, str], registry: dict[str, Any], engine: Engine
) -> None:
    reference = checked(
        auditor,
        keys["desk"],
        operator_id="rina",
        external_ref="REG-0042",
        service_type="emergency",
        patient_name="Siti Aminah",
    )
    page = auditor.get(f"{SEARCH}/{reference}").get_data(as_text=True)
    for text in (
        reference,
        "6402**********01",
        "Berhak (Jamkesda)",
        "JAMKESDA, kelas II",
        "Puskesmas Loa Janan",
        "test desk",
        "rina",
        "REG-0042",
        "Gawat darurat",
        "API (perangkat lunak pendaftaran)",
        "kukar-2025.1",
        "Nama: Cocok",
        "WITA",
        "Menurut data saat itu",
        "Menurut data sekarang",
        "Sama dengan yang tercatat",
        "belum diurutkan",
    ):
        assert text in page, text
    sequence_all(engine)
    page = auditor.get(f"{SEARCH}/{reference.lower()}").get_data(as_text=True)
    assert "Indeks di ledger</dt><dd>0</dd>" in page
    assert "ukuran 1 daun" in page
    assert "Terverifikasi" in page
    assert "test.jamkesda/ledger\n1\n" in page


def test_a_record_changed_after_sequencing_is_reported_not_verified(
    auditor: FlaskClient, keys: dict[str, str], registry: dict[str, Any], engine: Engine
) -> None:
    reference = checked(auditor, keys["desk"])
    checked(auditor, keys["desk"], OTHER_PERSON)
    sequence_all(engine)
    with engine.begin() as connection:
        connection.execute(
            update(CheckRecord)
            .where(CheckRecord.check_id == reference)
            .values(decision="NOT_ELIGIBLE", reasons=["NOT_RESIDENT"])
        )
    page = auditor.get(f"{SEARCH}/{reference}").get_data(as_text=True)
    assert "Tidak terverifikasi" in page
    assert "telah diubah setelah diurutkan" in page
    assert "Terverifikasi</strong>" not in page
    # The replay of the altered record no longer gives the decision it now claims.
    assert "<strong>Berbeda</strong> dari yang tercatat" in page
    assert page.count('class="replay-part differs"') == 2


def test_a_record_sequenced_after_the_latest_checkpoint_says_none_contains_it_yet(
    auditor: FlaskClient, keys: dict[str, str], registry: dict[str, Any], engine: Engine
) -> None:
    checked(auditor, keys["desk"])
    sequence_all(engine)
    reference = checked(auditor, keys["desk"])
    sequence_all(engine, checkpoint=False)
    page = auditor.get(f"{SEARCH}/{reference}").get_data(as_text=True)
    assert "Indeks daun</dt><dd>1</dd>" in page
    assert "Belum ada checkpoint bertanda tangan yang memuat catatan ini" in page
    assert "Terverifikasi" not in page


def test_a_refused_request_says_it_cannot_be_replayed(
    auditor: FlaskClient, keys: dict[str, str]
) -> None:
    reference = checked(auditor, keys["desk"], "12345")
    answer = auditor.get(f"{SEARCH}/{reference}")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert "Permintaan ditolak (isian tidak valid)" in page
    assert "Tidak ada keputusan yang dapat diulang" in page
    assert "NIK harus terdiri dari 16 angka." in page


def test_an_unknown_policy_version_or_a_stale_registry_key_is_a_message_not_an_error(
    auditor: FlaskClient, keys: dict[str, str], session: Session, registry: dict[str, Any]
) -> None:
    desk = client_of(session, keys["desk"])
    old = add_record(session, desk, policy_version="kukar-1999.9")
    answer = auditor.get(f"{SEARCH}/{old.check_id}")
    assert answer.status_code == 200
    assert "versi kebijakan kukar-1999.9 yang tercatat tidak" in answer.get_data(as_text=True)
    record_key(session, b"another-nik-hash-key")
    session.commit()
    answer = auditor.get(f"{SEARCH}/{add_record(session, desk).check_id}")
    assert answer.status_code == 200
    assert "jamkesda db rehash" in answer.get_data(as_text=True)


@pytest.mark.parametrize(
    ("reference", "status", "text"),
    [
        ("K7QM-3XD9-2F4", 422, "INVALID_CHECK_ID"),
        ("K7QM-3XD9-2F4B", 422, "salah ketik"),
        ("<script>", 422, "INVALID_CHECK_ID"),
        (UNKNOWN_REFERENCE, 404, "CHECK_NOT_FOUND"),
    ],
)
def test_a_malformed_mistyped_or_unknown_reference_gets_its_page(
    auditor: FlaskClient, reference: str, status: int, text: str
) -> None:
    for path in (f"{SEARCH}/{reference}", f"{SEARCH}/{reference}/laporan"):
        answer = auditor.get(path)
        assert answer.status_code == status
        assert answer.mimetype == "text/html"
        assert text in answer.get_data(as_text=True)


def test_the_report_of_one_check_carries_its_proof_and_how_to_verify_it(
    auditor: FlaskClient, keys: dict[str, str], registry: dict[str, Any], engine: Engine
) -> None:
    reference = checked(auditor, keys["desk"], "6402010101800004")
    checked(auditor, keys["desk"])
    sequence_all(engine)
    page = auditor.get(f"{SEARCH}/{reference}/laporan").get_data(as_text=True)
    assert "Tidak berdomisili di Kukar" in page
    assert "ukuran 2 daun" in page
    assert "Terverifikasi" in page
    assert "Bukti inklusi (1 hash, base64" in page
    assert "docs/ombudsman/verify_ledger.py" in page
    assert f"--check-id {reference}" in page
    assert "test.jamkesda/ledger+" in page  # the verifier key
    assert 'src="/static/console-print.js"' in page


def test_the_report_of_a_nik_and_period_holds_each_of_its_checks(
    auditor: FlaskClient, keys: dict[str, str], registry: dict[str, Any], engine: Engine
) -> None:
    first = checked(auditor, keys["desk"])
    second = checked(auditor, keys["integration"])
    checked(auditor, keys["desk"], OTHER_PERSON)
    sequence_all(engine)
    answer = post_form(auditor, REPORT, nik=RESIDENT, **{"from": "2020-01-01", "to": "2099-12-31"})
    assert answer.status_code == 303
    assert re.fullmatch(r"/console/laporan\?cari=[A-Za-z0-9_-]{43}", answer.headers["Location"])
    page = auditor.get(answer.headers["Location"]).get_data(as_text=True)
    assert re.findall(r"Pemeriksaan <span class=\"mono\">([0-9A-Z-]{14})<", page) == [
        first,
        second,
    ]
    assert page.count("Terverifikasi") == 2
    assert "1 Januari 2020" in page
    assert RESIDENT not in page


def test_the_report_form_needs_a_nik_and_both_dates(auditor: FlaskClient) -> None:
    answer = post_form(auditor, REPORT, nik=RESIDENT)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    for name in ("from", "to"):
        assert 'aria-invalid="true"' in field_tag(html, name)
    assert 'aria-invalid="true"' not in field_tag(html, "nik")


def test_a_search_and_a_record_view_are_in_the_access_log_without_the_nik(
    auditor: FlaskClient, keys: dict[str, str], session: Session, registry: dict[str, Any]
) -> None:
    reference = checked(auditor, keys["desk"])
    results = search(auditor, nik=RESIDENT, decision="ELIGIBLE")
    auditor.get(results)
    auditor.get(f"{SEARCH}/{reference}")
    auditor_id = session.scalars(select(Client.id).where(Client.role == "auditor")).one()
    logged = session.scalars(
        select(AccessRecord)
        .where(AccessRecord.client_id == auditor_id, AccessRecord.path.startswith(SEARCH))
        .order_by(AccessRecord.id)
    ).all()
    token = results.split("cari=")[1]
    assert [(entry.method, entry.path, entry.status) for entry in logged[-3:]] == [
        ("POST", SEARCH, 303),
        ("GET", SEARCH, 200),
        ("GET", f"{SEARCH}/{reference}", 200),
    ]
    assert logged[-3].query == "nik=6402**********01&decision=ELIGIBLE"
    assert logged[-2].query == f"cari={token}&nik=6402**********01&decision=ELIGIBLE"
    everything = session.scalars(select(AccessRecord)).all()
    assert all(RESIDENT not in f"{entry.path}?{entry.query}" for entry in everything)


def test_a_long_report_holds_its_newest_checks_and_says_so(
    auditor: FlaskClient, keys: dict[str, str], session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dispute_report, "MAX_CHECKS", 2)
    desk = client_of(session, keys["desk"])
    made = [add_record(session, desk).check_id for _ in range(3)]
    answer = post_form(auditor, REPORT, nik=RESIDENT, **{"from": "2020-01-01", "to": "2099-12-31"})
    page = auditor.get(answer.headers["Location"]).get_data(as_text=True)
    assert re.findall(r"Pemeriksaan <span class=\"mono\">([0-9A-Z-]{14})<", page) == made[1:]
    assert "memuat 2 pemeriksaan terbaru saja" in page
