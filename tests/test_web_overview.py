"""The console's overview pages (SPEC §10): statistics, access log, imports, API clients."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import AccessRecord, Client
from service import clock
from service.audit.access import record_access
from service.clients import key_hash, revoke_client
from tests.conftest import RESIDENT, bearer
from tests.factories import add_snapshot
from tests.html_tables import tables_of
from tests.overview_records import HOSTILE, NIKS, hostile_desk, make_records
from tests.test_web_sessions import sign_in

WITA = ZoneInfo("Asia/Makassar")
PAGES = {
    "/console/statistik": "Statistik pemeriksaan",
    "/console/log-akses": "Log akses",
    "/console/impor": "Riwayat impor data",
    "/console/klien": "Klien API",
}
SUMMARY = "Jumlah pemeriksaan per keputusan dan tingkat penolakan tiap fasilitas"
# Berhak, Dijamin JKN, Tidak berhak, Belum dapat dipastikan, Isian tidak valid, all,
# decided, denial rate.
LOA_JANAN = ["1", "0", "2", "0", "1", "4", "3", "66,7%"]


@pytest.fixture
def records(http: FlaskClient, session: Session, keys: dict[str, str], registry: Any) -> None:
    """The overview records (``tests.overview_records``), and an auditor signed in."""
    make_records(http, session, keys, hostile_desk(session))
    sign_in(http, "console", keys["auditor"])


@pytest.fixture
def auditor(http: FlaskClient, keys: dict[str, str]) -> FlaskClient:
    """The test client with an auditor signed in to the console."""
    sign_in(http, "console", keys["auditor"])
    return http


def html(http: FlaskClient, path: str, status: int = 200) -> str:
    """The page at ``path``, which must answer ``status``."""
    answer = http.get(path)
    assert answer.status_code == status, answer.get_data(as_text=True)[:2000]
    assert answer.mimetype == "text/html"
    return answer.get_data(as_text=True)


def field_tag(page: str, name: str) -> str:
    """The ``<input>`` or ``<select>`` tag of the form field ``name``."""
    found = re.search(rf'<(?:input|select)[^>]*\bid="{name}"[^>]*>', page)
    assert found, f"no field {name}"
    return found.group()


@pytest.mark.parametrize("path", list(PAGES))
def test_an_overview_page_without_a_session_sends_the_browser_to_sign_in(
    http: FlaskClient, path: str
) -> None:
    answer = http.get(path)
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/console/"


@pytest.mark.parametrize("path", list(PAGES))
def test_an_overview_page_is_refused_to_a_desk_session(
    http: FlaskClient, keys: dict[str, str], path: str
) -> None:
    sign_in(http, "desk", keys["desk"])
    page = html(http, path, 403)
    assert "hanya untuk kunci auditor" in page
    assert "<table" not in page


@pytest.mark.parametrize(("path", "heading"), list(PAGES.items()))
def test_an_overview_page_renders_for_an_auditor_under_the_strict_policy(
    records: None, http: FlaskClient, path: str, heading: str
) -> None:
    answer = http.get(path)
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert f"<h1>{heading}</h1>" in page
    assert 'href="/static/overview.css"' in page
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    # The policy forbids inline styles and scripts: the pages carry none.
    assert " style=" not in page
    assert "<script" not in page
    assert 'aria-current="page"' in page
    for nik in NIKS:
        assert nik not in page


def test_statistics_count_each_facility_and_day_with_the_denial_rate(
    records: None, http: FlaskClient
) -> None:
    page = html(http, "/console/statistik")
    tables = tables_of(page)
    summary = tables[SUMMARY]
    assert summary[0][-1] == "Tingkat penolakan"
    assert summary[1:] == [
        [f"{HOSTILE} 6402999", "0", "0", "1", "0", "0", "1", "1", "100,0%"],
        ["Puskesmas Loa Janan 1040001", *LOA_JANAN],
        ["Semua fasilitas", "1", "0", "3", "0", "1", "5", "4", "75,0%"],
    ]
    today = clock.today(WITA)
    yesterday = today - timedelta(days=1)
    days = tables["Puskesmas Loa Janan: pemeriksaan per hari (hanya hari yang ada pemeriksaannya)"]
    assert days[1:] == [
        [yesterday.strftime("%d-%m-%Y"), "0", "0", "1", "0", "0", "1", "1", "100,0%"],
        [today.strftime("%d-%m-%Y"), "1", "0", "1", "0", "1", "3", "2", "50,0%"],
    ]
    # The definition is on the page, in words.
    assert "dibagi jumlah pemeriksaan yang\n    menghasilkan keputusan" in page
    assert "tidak dihitung" in page
    # One chart of the period per facility, and one per day for each facility.
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 3
    assert "Tingkat penolakan per hari: Puskesmas Loa Janan" in page
    # The default period is the last 30 WITA days.
    assert f'value="{(today - timedelta(days=29)).isoformat()}"' in field_tag(page, "dari")
    assert f'value="{today.isoformat()}"' in field_tag(page, "sampai")


def test_statistics_of_one_facility_chosen_by_name(records: None, http: FlaskClient) -> None:
    page = html(http, "/console/statistik?fasilitas=1040001")
    assert tables_of(page)[SUMMARY][1:] == [["Puskesmas Loa Janan 1040001", *LOA_JANAN]]
    assert '<option value="1040001" selected>Puskesmas Loa Janan (1040001)</option>' in page


def test_statistics_of_a_period_leave_out_the_days_before_it(
    records: None, http: FlaskClient
) -> None:
    today = clock.today(WITA).isoformat()
    page = html(http, f"/console/statistik?dari={today}&sampai={today}")
    assert tables_of(page)[SUMMARY][2] == [
        "Puskesmas Loa Janan 1040001",
        *["1", "0", "1", "0", "1", "3", "2", "50,0%"],
    ]


def test_a_facility_without_checks_is_drawn_as_no_data(records: None, http: FlaskClient) -> None:
    page = html(http, "/console/statistik?fasilitas=1040002")
    assert "Tidak ada pemeriksaan pada periode ini." in page
    assert "Tidak ada data" in page
    assert "Tidak ada pemeriksaan di fasilitas ini pada periode ini." in page


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("dari=2026-13-01", "dari"),
        ("dari=kemarin", "dari"),
        ("sampai=2026-02-30", "sampai"),
        ("dari=2026-03-01T08:00:00%2B08:00", "dari"),
        ("dari=0001-01-01", "dari"),
        ("sampai=9999-12-31", "sampai"),
        ("dari=2026-03-10&sampai=2026-03-01", "dari"),
        ("dari=2024-01-01&sampai=2026-01-01", "sampai"),
        ("fasilitas=9999999", "fasilitas"),
        ("fasilitas=%3Cscript%3E", "fasilitas"),
    ],
)
def test_a_bad_value_on_the_statistics_form_gives_the_form_again_with_the_field_marked(
    auditor: FlaskClient, query: str, field: str
) -> None:
    page = html(auditor, f"/console/statistik?{query}", 422)
    assert 'role="alert"' in page
    assert 'aria-invalid="true"' in field_tag(page, field)
    assert f'aria-describedby="{field}-salah"' in field_tag(page, field)
    assert re.search(rf'<p class="field-error" id="{field}-salah">[^<]+</p>', page)
    for other in {"dari", "sampai", "fasilitas"} - {field}:
        assert "aria-invalid" not in field_tag(page, other)
    assert "<svg" not in page
    assert "<script>" not in page


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("2026-13-01", "“2026-13-01” bukan tanggal"),
        ("2026-03-01T08:00:00", "“2026-03-01T08:00:00” bukan tanggal"),
        ("<script>window.__x=1</script>", "“&lt;script&gt;window.__x=1&lt;/script&gt;” bukan"),
        ("1" * 100, f"“{'1111' + '*' * 35}…” bukan tanggal"),
        (RESIDENT, "“6402**********01” bukan tanggal"),
    ],
)
def test_a_mistyped_date_is_repeated_in_its_message_as_text(
    auditor: FlaskClient, typed: str, shown: str
) -> None:
    page = html(auditor, f"/console/statistik?sampai={quote(typed)}", 422)
    assert shown in page
    assert "Isi dengan format YYYY-MM-DD" in page
    assert "<script>window" not in page
    assert RESIDENT not in page


def test_names_with_markup_are_shown_as_text_on_the_statistics_and_clients_pages(
    records: None, http: FlaskClient
) -> None:
    for path in ("/console/statistik", "/console/klien"):
        page = html(http, path)
        assert HOSTILE not in page
        assert "<script>window.__x" not in page
        assert str(escape(HOSTILE)) in page
    assert tables_of(html(http, "/console/klien"))["Klien API"][-1][1] == HOSTILE


def test_the_access_log_page_shows_who_read_what_newest_first_with_nik_masked(
    records: None, http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    auditor_id = session.scalars(select(Client.id).where(Client.role == "auditor")).one()
    http.get(f"/v1/audit/checks?nik={RESIDENT}", headers=bearer(keys["auditor"]))
    http.get("/v1/audit/snapshots")
    page = html(http, "/console/log-akses")
    assert RESIDENT not in page
    rows = tables_of(page)["Log akses"]
    assert rows[0] == [
        "Waktu (WITA)",
        "Klien",
        "Metode",
        "Alamat yang dibuka",
        "Parameter",
        "Status",
        "Alamat jaringan",
    ]
    newest, before = rows[1], rows[2]
    assert newest[1:] == [
        "tanpa kunci",
        "GET",
        "/v1/audit/snapshots",
        "–",
        "401 ditolak",
        "127.0.0.1",
    ]
    assert before[1:] == [
        f"test auditor #{auditor_id}",
        "GET",
        "/v1/audit/checks",
        "nik=6402**********01",
        "200 berhasil",
        "127.0.0.1",
    ]
    assert re.fullmatch(r"\d{2}-\d{2}-\d{4} \d{2}\.\d{2}\.\d{2}", newest[0])


def test_the_access_log_pages_through_every_entry_once(
    auditor: FlaskClient, engine: Engine
) -> None:
    for n in range(60):
        record_access(engine, None, "GET", f"/v1/audit/checks/{n}", "", 404, "10.0.0.1")
    first = html(auditor, "/console/log-akses")
    found = re.search(r'href="/console/log-akses\?halaman=([a-p]+)"', first)
    assert found, "no link to the next page"
    second = html(auditor, f"/console/log-akses?halaman={found.group(1)}")
    assert "Halaman berikutnya" not in second
    assert 'href="/console/log-akses">Kembali ke halaman pertama' in second
    rows = tables_of(first)["Log akses"][1:] + tables_of(second)["Log akses, halaman lanjutan"][1:]
    assert len(tables_of(first)["Log akses"][1:]) == 50
    numbered = [row[3] for row in rows if row[3].startswith("/v1/audit/checks/")]
    # Newest first, each entry once: the second page goes on where the first stopped.
    assert numbered == [f"/v1/audit/checks/{n}" for n in reversed(range(60))]


@pytest.mark.parametrize("cursor", ["zz", "abc", "aWQ6Ng", "gpgkdm", "%3Cscript%3E"])
def test_a_mangled_access_log_page_address_is_a_422_page(auditor: FlaskClient, cursor: str) -> None:
    page = html(auditor, f"/console/log-akses?halaman={cursor}", 422)
    assert "INVALID_CURSOR" in page
    assert "<script>" not in page


def test_the_import_history_shows_every_import_in_indonesian(
    auditor: FlaskClient, session: Session, registry: Any
) -> None:
    late = add_snapshot(session, "population", clock.today(WITA) - timedelta(days=30), False)
    session.commit()
    rows = tables_of(html(auditor, "/console/impor"))["Impor data"]
    assert rows[0] == [
        "Sumber",
        "Tanggal data",
        "Diimpor (WITA)",
        "Baris",
        "Ditambah",
        "Diubah",
        "Dihapus",
        "SHA-256 berkas",
        "Berlaku?",
    ]
    newest = rows[1]
    assert newest[0] == "Data kependudukan (Disdukcapil)"
    assert newest[1] == late.as_of.strftime("%d-%m-%Y")
    assert newest[3:8] == ["0", "0", "0", "0", late.sha256]
    assert newest[8].startswith("Tidak: tanggal datanya lebih lama")
    sources = [row[0] for row in rows[1:]]
    assert sources.count("Daftar fasilitas kesehatan") == 3
    assert {
        "Kepesertaan Jamkesda (Dinas Kesehatan)",
        "Peserta JKN (BPJS Kesehatan)",
    } <= set(sources)
    assert all(row[8] == "Ya, mulai berlaku" for row in rows[2:])


def test_the_clients_page_lists_every_client_and_says_which_are_revoked(
    auditor: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    other = session.scalars(select(Client).where(Client.facility_code == "1040003")).one()
    revoke_client(session, other.id)
    session.commit()
    page = html(auditor, "/console/klien")
    rows = tables_of(page)["Klien API"]
    assert [row[1:4] for row in rows[1:]] == [
        ["test desk", "Loket fasilitas", "Puskesmas Loa Janan 1040001"],
        ["test integration", "Integrasi sistem rumah sakit", "RSUD A.M. Parikesit 1040002"],
        ["test desk", "Loket fasilitas", "Puskesmas Tenggarong 1040003"],
        ["test auditor", "Auditor", "–"],
        ["test admin", "Operator (admin)", "–"],
    ]
    statuses = [row[5] for row in rows[1:]]
    assert statuses[2].startswith("Dicabut pada ")
    assert statuses[:2] + statuses[3:] == ["Aktif"] * 4
    assert 'class="revoked"' in page
    for key in keys.values():
        assert key not in page
        assert key_hash(key) not in page


def test_a_view_of_an_overview_page_is_in_the_access_log(
    auditor: FlaskClient, session: Session
) -> None:
    html(auditor, "/console/statistik?dari=2026-03-01&sampai=2026-03-31")
    html(auditor, "/console/log-akses?halaman=zz", 422)
    auditor_id = session.scalars(select(Client.id).where(Client.role == "auditor")).one()
    logged = session.scalars(
        select(AccessRecord).where(AccessRecord.path.like("/console/%")).order_by(AccessRecord.id)
    ).all()
    assert [(e.path, e.query, e.status, e.client_id) for e in logged if e.path != "/console/"] == [
        ("/console/statistik", "dari=2026-03-01&sampai=2026-03-31", 200, auditor_id),
        ("/console/log-akses", "halaman=zz", 422, auditor_id),
    ]
