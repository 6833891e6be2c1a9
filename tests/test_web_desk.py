"""The desk page (SPEC §10): a check through a form, decided and recorded as the API does."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import AccessRecord, CheckRecord, Client
from service.web.slip import qr_image
from tests.conftest import RESIDENT, bearer
from tests.factories import refusing_inserts
from tests.test_web_sessions import csrf_of, sign_in

DEAD = "6402010101800002"
JKN_MEMBER = "6402010101800005"
HOSTILE = "<script>window.__x=1</script>\"'"
REFERENCE = re.compile(r"/desk/periksa/([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})$")


def desk_post(http: FlaskClient, **fields: str) -> Any:
    """Post the desk form (signed in already) with ``fields``."""
    token = csrf_of(http, "/desk/periksa")
    return http.post("/desk/periksa", data={"csrf_token": token, **fields})


def check_through_desk(http: FlaskClient, **fields: str) -> str:
    """Make a check through the desk form; the reference its answer page is at."""
    answer = desk_post(http, **fields)
    assert answer.status_code == 303, answer.get_data(as_text=True)
    found = REFERENCE.search(answer.headers["Location"])
    assert found, answer.headers["Location"]
    return found.group(1)


def records(session: Session) -> list[CheckRecord]:
    """Every check record, oldest first, as stored now."""
    session.expire_all()
    return list(session.scalars(select(CheckRecord).order_by(CheckRecord.id)))


def test_the_desk_pages_without_a_session_send_the_browser_to_sign_in(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    assert http.get("/desk/periksa").headers["Location"] == "/desk/"
    assert http.get("/desk/periksa/K7QM-3XD9-2F4E").headers["Location"] == "/desk/"
    token = csrf_of(http, "/desk/")
    answer = http.post("/desk/periksa", data={"csrf_token": token, "nik": RESIDENT})
    assert answer.headers["Location"] == "/desk/"
    assert records(session) == []


def test_an_auditor_session_on_the_desk_page_gets_a_403_page_and_is_logged(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    sign_in(http, "console", keys["auditor"])
    answer = http.get("/desk/periksa")
    assert answer.status_code == 403
    assert answer.mimetype == "text/html"
    assert "hanya untuk kunci loket" in answer.get_data(as_text=True)
    auditor = session.scalars(select(Client).where(Client.role == "auditor")).one()
    logged = session.scalars(select(AccessRecord).where(AccessRecord.status == 403)).all()
    assert [(entry.path, entry.client_id) for entry in logged] == [("/desk/periksa", auditor.id)]


def test_the_form_is_labelled_and_puts_the_focus_on_the_nik(
    http: FlaskClient, keys: dict[str, str]
) -> None:
    sign_in(http, "desk", keys["desk"])
    html = http.get("/desk/periksa").get_data(as_text=True)
    for name in (
        "nik",
        "service_date",
        "service_type",
        "operator_id",
        "patient_name",
        "birth_date",
        "external_ref",
    ):
        assert f'<label for="{name}">' in html
        assert f'id="{name}" name="{name}"' in html
    assert re.search(r'<input id="nik"[^>]*autofocus', html)
    assert re.search(r'<input id="service_date"[^>]*autofocus', html) is None
    assert ">Rawat jalan</option>" in html
    assert ">Gawat darurat</option>" in html


def test_a_check_through_the_desk_is_recorded_with_channel_desk_and_the_desk_facility(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any], session: Session
) -> None:
    sign_in(http, "desk", keys["desk"])
    check_id = check_through_desk(
        http, nik="6402 0141 0190 0001", operator_id="siti", external_ref="REG-12"
    )
    [record] = records(session)
    desk = session.scalars(select(Client).where(Client.facility_code == "1040001")).one()
    assert (record.check_id, record.channel, record.facility_code, record.client_id) == (
        check_id,
        "desk",
        "1040001",
        desk.id,
    )
    assert (record.decision, record.operator_id, record.external_ref) == (
        "ELIGIBLE",
        "siti",
        "REG-12",
    )
    # The same decision as the API makes for the same NIK.
    api = http.post("/v1/checks", json={"nik": RESIDENT}, headers=bearer(keys["desk"]))
    assert api.get_json()["decision"] == record.decision
    assert records(session)[-1].channel == "api"


def test_the_answer_shows_the_decision_in_words_with_its_colour_and_no_plain_nik(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any]
) -> None:
    sign_in(http, "desk", keys["desk"])
    check_id = check_through_desk(http, nik=RESIDENT)
    answer = http.get(f"/desk/periksa/{check_id}")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert 'class="verdict decision-ELIGIBLE"' in html
    assert "BERHAK — gratis dengan Jamkesda" in html
    assert "6402**********01" in html
    assert RESIDENT not in html
    assert check_id in html
    assert "Kelas perawatan</dt><dd>II</dd>" in html
    assert "Puskesmas Loa Janan" in html
    assert "WITA" in html


@pytest.mark.parametrize(
    ("nik", "decision", "words", "reason"),
    [
        (JKN_MEMBER, "COVERED_BY_JKN", "DITANGGUNG JKN (BPJS)", "peserta JKN"),
        (DEAD, "NOT_ELIGIBLE", "TIDAK BERHAK", "meninggal dunia"),
    ],
)
def test_each_decision_has_its_words_and_its_reasons_in_indonesian(
    http: FlaskClient,
    keys: dict[str, str],
    registry: dict[str, Any],
    nik: str,
    decision: str,
    words: str,
    reason: str,
) -> None:
    sign_in(http, "desk", keys["desk"])
    html = http.get(f"/desk/periksa/{check_through_desk(http, nik=nik)}").get_data(as_text=True)
    assert f'class="verdict decision-{decision}"' in html
    assert f">{words}</h1>" in html
    assert reason in html
    assert "Ombudsman RI Perwakilan Kalimantan Timur" in html


def test_without_data_the_answer_says_undetermined_and_not_to_refuse(
    http: FlaskClient, keys: dict[str, str]
) -> None:
    sign_in(http, "desk", keys["desk"])
    html = http.get(f"/desk/periksa/{check_through_desk(http, nik=RESIDENT)}").get_data(
        as_text=True
    )
    assert "BELUM DAPAT DIPASTIKAN — jangan tolak pasien, ulangi" in html
    assert "Ini bukan penolakan" in html
    assert "TIDAK BERHAK" not in html


def test_an_emergency_shows_the_emergency_notice(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any]
) -> None:
    sign_in(http, "desk", keys["desk"])
    emergency = check_through_desk(http, nik=DEAD, service_type="emergency")
    html = http.get(f"/desk/periksa/{emergency}").get_data(as_text=True)
    assert "tanpa uang muka" in html
    assert "Gawat darurat" in html
    outpatient = check_through_desk(http, nik=DEAD)
    assert "tanpa uang muka" not in http.get(f"/desk/periksa/{outpatient}").get_data(as_text=True)


def test_reloading_the_answer_makes_no_second_check(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any], session: Session
) -> None:
    sign_in(http, "desk", keys["desk"])
    check_id = check_through_desk(http, nik=RESIDENT)
    for _ in range(3):
        assert http.get(f"/desk/periksa/{check_id}").status_code == 200
    assert len(records(session)) == 1


def test_a_post_without_a_csrf_token_is_400_and_records_nothing(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any], session: Session
) -> None:
    sign_in(http, "desk", keys["desk"])
    for data in ({"nik": RESIDENT}, {"nik": RESIDENT, "csrf_token": "x.y.z"}):
        answer = http.post("/desk/periksa", data=data)
        assert answer.status_code == 400
        assert "CSRF_INVALID" in answer.get_data(as_text=True)
    assert records(session) == []


def test_a_malformed_nik_shows_the_form_again_marked_and_is_recorded_as_invalid(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    sign_in(http, "desk", keys["desk"])
    typed = "640201410190000"
    answer = desk_post(http, nik=typed, operator_id="siti", service_type="inpatient")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    [record] = records(session)
    assert (record.decision, record.channel, record.facility_code) == (
        "INVALID_REQUEST",
        "desk",
        "1040001",
    )
    assert record.errors == {"nik": ["NIK harus terdiri dari 16 angka."]}
    assert re.search(r'<input id="nik"[^>]*aria-invalid="true"', html)
    assert re.search(r'<input id="nik"[^>]*aria-describedby="nik-bantuan nik-galat"', html)
    assert '<p class="field-error" id="nik-galat">NIK harus terdiri dari 16 angka.</p>' in html
    assert f'id="referensi-ditolak">{record.check_id}</strong>' in html
    # The other fields are kept; the NIK is not written back into the page.
    assert 'value="siti"' in html
    assert '<option value="inpatient" selected>' in html
    assert typed not in html


def test_a_future_service_date_marks_that_field_and_focuses_it(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    sign_in(http, "desk", keys["desk"])
    answer = desk_post(http, nik=RESIDENT, service_date="2999-01-01")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert re.search(r'<input id="service_date"[^>]*aria-invalid="true"[^>]*autofocus', html)
    assert re.search(r'<input id="nik"[^>]*aria-invalid', html) is None
    assert "Tanggal layanan tidak boleh di masa depan." in html
    assert [record.decision for record in records(session)] == ["INVALID_REQUEST"]
    assert RESIDENT not in html


def test_another_facilitys_check_or_a_mistyped_reference_is_a_404_page(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any]
) -> None:
    other = http.post("/v1/checks", json={"nik": RESIDENT}, headers=bearer(keys["other_desk"]))
    other_id = other.get_json()["check_id"]
    sign_in(http, "desk", keys["desk"])
    own_id = check_through_desk(http, nik=RESIDENT)
    typo = own_id[:-1] + ("0" if own_id[-1] != "0" else "1")
    for reference in (other_id, typo, "tidak-ada"):
        answer = http.get(f"/desk/periksa/{reference}")
        assert answer.status_code == 404
        assert answer.mimetype == "text/html"
        assert "Tidak ada pemeriksaan dengan nomor ini di fasilitas Anda." in answer.get_data(
            as_text=True
        )
    # Case and dashes do not matter in a reference typed from a slip.
    assert http.get(f"/desk/periksa/{own_id.lower().replace('-', '')}").status_code == 200


def test_a_refused_requests_reference_has_no_answer_page(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    sign_in(http, "desk", keys["desk"])
    desk_post(http, nik="123")
    [record] = records(session)
    assert http.get(f"/desk/periksa/{record.check_id}").status_code == 404


def test_script_in_the_operator_and_external_ref_is_shown_as_text(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any], session: Session
) -> None:
    sign_in(http, "desk", keys["desk"])
    check_id = check_through_desk(http, nik=RESIDENT, operator_id=HOSTILE, external_ref=HOSTILE)
    assert records(session)[0].operator_id == HOSTILE
    escaped = "&lt;script&gt;window.__x=1&lt;/script&gt;&#34;&#39;"
    for html in (
        http.get(f"/desk/periksa/{check_id}").get_data(as_text=True),
        # The refused form writes the fields back into their inputs.
        desk_post(http, nik="1", operator_id=HOSTILE, external_ref=HOSTILE).get_data(as_text=True),
    ):
        assert "<script>window.__x" not in html
        assert escaped in html


def test_the_clerks_user_name_is_remembered_for_the_next_check(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any]
) -> None:
    sign_in(http, "desk", keys["desk"])
    check_through_desk(http, nik=RESIDENT, operator_id="budi.s")
    html = http.get("/desk/periksa").get_data(as_text=True)
    assert re.search(r'<input id="operator_id" name="operator_id" type="text" value="budi.s"', html)


def test_a_database_fault_is_a_503_page_that_says_it_is_not_a_refusal(
    http: FlaskClient,
    keys: dict[str, str],
    registry: dict[str, Any],
    engine: Engine,
    session: Session,
) -> None:
    sign_in(http, "desk", keys["desk"])
    token = csrf_of(http, "/desk/periksa")
    with refusing_inserts(engine, session, "check_records"):
        answer = http.post("/desk/periksa", data={"csrf_token": token, "nik": RESIDENT})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 503
    assert answer.mimetype == "text/html"
    assert "BUKAN penolakan" in html
    assert "TIDAK BERHAK" not in html
    assert records(session) == []


def test_the_slip_holds_the_reference_the_decision_and_a_qr_code_of_the_receipt_address(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any]
) -> None:
    sign_in(http, "desk", keys["desk"])
    check_id = check_through_desk(http, nik=DEAD)
    html = http.get(f"/desk/periksa/{check_id}").get_data(as_text=True)
    slip = html[html.index('<section class="slip"') :]
    address = f"http://localhost/r/{check_id}"
    assert f'<p class="slip-ref">{check_id}</p>' in slip
    assert '<p class="slip-decision">TIDAK BERHAK</p>' in slip
    assert "Puskesmas Loa Janan" in slip
    assert "WITA" in slip
    assert "meninggal dunia" in slip
    assert f"catat nomor referensi {check_id}" in slip
    assert address in slip
    assert f'<img class="slip-qr" src="{qr_image(address)}"' in slip
    assert '<body class="lebar-80">' in html
    narrow = http.get(f"/desk/periksa/{check_id}?lebar=58").get_data(as_text=True)
    assert '<body class="lebar-58">' in narrow
    assert '<body class="lebar-80">' in http.get(f"/desk/periksa/{check_id}?lebar=99").get_data(
        as_text=True
    )


def test_the_pages_carry_no_inline_script_or_style(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any]
) -> None:
    sign_in(http, "desk", keys["desk"])
    check_id = check_through_desk(http, nik=RESIDENT)
    for path in ("/desk/periksa", f"/desk/periksa/{check_id}"):
        html = http.get(path).get_data(as_text=True)
        assert re.search(r"<script(?![^>]*\bsrc=)", html) is None
        assert re.search(r"\sstyle=|\son[a-z]+=", html) is None
