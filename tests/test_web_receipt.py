"""The patient's receipt (SPEC §10): the full NIK unlocks a check; nothing else tells anything."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from models import AccessRecord
from service import clock
from service.ledger.runner import drain
from tests.conftest import RESIDENT, TEST_LEDGER_SIGNER, bearer
from tests.test_web_sessions import CSRF, csrf_of

OTHER_NIK = "6402010101800004"
UNKNOWN_REFERENCE = "K7QM-3XD9-2F4E"


def api_check(http: FlaskClient, key: str, **body: Any) -> dict[str, Any]:
    """A check made through the API; its answer (or problem) body."""
    answer = http.post("/v1/checks", json={"nik": RESIDENT, **body}, headers=bearer(key))
    assert answer.status_code in (201, 422), answer.get_data(as_text=True)
    return answer.get_json()  # type: ignore[no-any-return]


def try_receipt(http: FlaskClient, reference: str, nik: str, **environ: str) -> Any:
    """Open the receipt's form and post ``nik`` to it, as a patient would."""
    token = csrf_of(http, f"/r/{reference}")
    return http.post(
        f"/r/{reference}", data={"csrf_token": token, "nik": nik}, environ_base=environ
    )


def without_token(html: str) -> str:
    """A page with its CSRF token taken out (each session gets its own)."""
    return CSRF.sub('name="csrf_token" value=""', html)


def typo_of(reference: str) -> str:
    """``reference`` with its last (check) character changed."""
    return reference[:-1] + ("0" if reference[-1] != "0" else "1")


def test_the_right_nik_unlocks_the_receipt(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any]
) -> None:
    check_id = api_check(http, keys["desk"])["check_id"]
    answer = try_receipt(http, check_id, "6402.0141.0190.0001")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert 'class="verdict decision-ELIGIBLE"' in html
    assert "BERHAK — gratis dengan Jamkesda" in html
    assert "Puskesmas Loa Janan" in html
    assert "WITA" in html
    assert check_id in html
    assert "Ombudsman RI Perwakilan" in html
    assert "Kalimantan Timur" in html
    assert "6402**********01" in html
    assert "Belum tercatat dalam buku besar, biasanya dalam beberapa detik" in html


def test_the_receipt_shows_the_reasons_and_the_ledger_entry_once_sequenced(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any], engine: Engine
) -> None:
    api_check(http, keys["desk"])
    check_id = api_check(http, keys["desk"], nik=OTHER_NIK)["check_id"]
    drain(engine, TEST_LEDGER_SIGNER, interval=0, force=True)
    html = try_receipt(http, check_id, OTHER_NIK).get_data(as_text=True)
    assert "TIDAK BERHAK" in html
    assert "tidak berdomisili di Kutai Kartanegara" in html
    assert "dengan indeks entri <strong>1</strong>" in html
    assert "memuat <strong>2</strong>" in html


def test_a_wrong_nik_an_unknown_and_a_mistyped_reference_get_the_same_not_found_page(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any]
) -> None:
    check_id = api_check(http, keys["desk"])["check_id"]
    answers = [
        try_receipt(http, check_id, OTHER_NIK),
        try_receipt(http, check_id, ""),
        try_receipt(http, UNKNOWN_REFERENCE, RESIDENT),
        try_receipt(http, typo_of(check_id), RESIDENT),
        try_receipt(http, "bukan-nomor", RESIDENT),
    ]
    assert {answer.status_code for answer in answers} == {404}
    bodies = {without_token(answer.get_data(as_text=True)) for answer in answers}
    assert len(bodies) == 1
    [body] = bodies
    assert "Tidak ditemukan" in body
    assert check_id not in body
    assert RESIDENT not in body


def test_the_form_does_not_tell_whether_a_reference_exists(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any]
) -> None:
    check_id = api_check(http, keys["desk"])["check_id"]
    known = http.get(f"/r/{check_id}").get_data(as_text=True)
    unknown = http.get(f"/r/{UNKNOWN_REFERENCE}").get_data(as_text=True)
    assert without_token(known).replace(check_id, "X") == without_token(unknown).replace(
        UNKNOWN_REFERENCE, "X"
    )
    assert '<label for="nik">' in known
    assert "agar datanya terlindungi" in known


def test_the_eleventh_try_in_a_minute_gets_a_429_page(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any]
) -> None:
    check_id = api_check(http, keys["desk"])["check_id"]
    token = csrf_of(http, f"/r/{check_id}")
    statuses = [
        http.post(f"/r/{check_id}", data={"csrf_token": token, "nik": OTHER_NIK}).status_code
        for _ in range(10)
    ]
    assert statuses == [404] * 10
    refused = http.post(f"/r/{check_id}", data={"csrf_token": token, "nik": RESIDENT})
    assert refused.status_code == 429
    assert refused.mimetype == "text/html"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "Terlalu banyak percobaan" in refused.get_data(as_text=True)
    assert "BERHAK" not in refused.get_data(as_text=True)
    # Another address is not held back by this one's tries.
    assert try_receipt(http, check_id, RESIDENT, REMOTE_ADDR="10.9.8.7").status_code == 200


def test_tries_older_than_a_minute_no_longer_count(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any], session: Session
) -> None:
    check_id = api_check(http, keys["desk"])["check_id"]
    for _ in range(10):
        try_receipt(http, check_id, OTHER_NIK)
    assert try_receipt(http, check_id, RESIDENT).status_code == 429
    session.execute(update(AccessRecord).values(at=clock.now() - timedelta(seconds=61)))
    session.commit()
    assert try_receipt(http, check_id, RESIDENT).status_code == 200


def test_every_try_is_in_the_access_log_with_the_nik_masked_never_plain(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any], session: Session
) -> None:
    check_id = api_check(http, keys["desk"])["check_id"]
    typed = [RESIDENT, OTHER_NIK, "6402 0141 0190 0001", *[OTHER_NIK] * 8]
    statuses = [try_receipt(http, check_id, nik).status_code for nik in typed]
    assert statuses == [200, 404, 200, *[404] * 7, 429]
    token = csrf_of(http, f"/r/{check_id}")
    http.post(f"/r/{check_id}", data={"nik": RESIDENT})  # no CSRF token: refused, logged
    rows = session.scalars(select(AccessRecord).order_by(AccessRecord.id)).all()
    posts = [row for row in rows if row.method == "POST"]
    assert [row.status for row in posts] == [*statuses, 400]
    assert [row.query for row in posts[:-1]] == [
        "nik=6402**********01",
        "nik=6402**********04",
        "nik=6402**********01",
        *["nik=6402**********04"] * 8,
    ]
    assert {row.path for row in rows} == {f"/r/{check_id}"}
    assert {row.address for row in rows} == {"127.0.0.1"}
    digits = re.compile(r"[0-9]{8,}")
    for row in rows:
        assert not digits.search(row.query + row.path), row.query
    assert token  # the session had a token; the refused post simply did not send it


def test_a_refused_requests_reference_shows_that_nothing_was_decided(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any]
) -> None:
    problem = api_check(http, keys["desk"], service_date="2999-01-01")
    html = try_receipt(http, problem["check_id"], RESIDENT).get_data(as_text=True)
    assert "PERMINTAAN TIDAK DIPROSES" in html
    assert "Ini bukan penolakan" in html
    assert "Tanggal layanan: Tanggal layanan tidak boleh di masa depan." in html
    assert "Puskesmas Loa Janan" in html


def test_a_receipt_post_without_csrf_is_refused_and_logged(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any], session: Session
) -> None:
    check_id = api_check(http, keys["desk"])["check_id"]
    answer = http.post(f"/r/{check_id}", data={"nik": RESIDENT})
    assert answer.status_code == 400
    assert "BERHAK" not in answer.get_data(as_text=True)
    logged = session.scalars(select(AccessRecord.status).where(AccessRecord.method == "POST"))
    assert logged.all() == [400]


def test_the_receipt_pages_send_the_security_headers_and_no_inline_script(
    http: FlaskClient, keys: dict[str, str], registry: dict[str, Any]
) -> None:
    check_id = api_check(http, keys["desk"])["check_id"]
    for answer in (http.get(f"/r/{check_id}"), try_receipt(http, check_id, RESIDENT)):
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        assert answer.headers["Cache-Control"] == "no-store"
        html = answer.get_data(as_text=True)
        assert re.search(r"<script(?![^>]*\bsrc=)|\sstyle=", html) is None
