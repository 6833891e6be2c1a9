"""Signing in to the pages, and what every page promises (SPEC §10): sessions, CSRF, headers."""

from __future__ import annotations

import re
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AccessRecord, Client, WebSession
from service import clock
from service.clients import key_hash, revoke_client
from service.web.sessions import IDLE_EXPIRY

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(http: FlaskClient, path: str) -> str:
    """The CSRF token of the form on the page at ``path``."""
    found = CSRF.search(http.get(path).get_data(as_text=True))
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def sign_in(http: FlaskClient, area: str, key: str) -> str:
    """Sign in to ``/area/`` with ``key``; the page the browser is sent to."""
    token = csrf_of(http, f"/{area}/")
    answer = http.post(f"/{area}/", data={"csrf_token": token, "kunci": key})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return answer.headers["Location"]


def test_an_auditor_signs_in_to_the_console_and_the_cookie_holds_no_key(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    assert sign_in(http, "console", keys["auditor"]) == "/console/pemeriksaan"
    cookie = http.get_cookie("jamkesda_sesi")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Strict"
    assert keys["auditor"] not in cookie.value
    assert key_hash(keys["auditor"]) not in cookie.value
    assert http.get("/console/pemeriksaan").status_code == 200
    stored = session.scalars(select(WebSession)).one()
    assert keys["auditor"] not in stored.token_hash


def test_a_page_without_a_session_sends_the_browser_to_sign_in(http: FlaskClient) -> None:
    answer = http.get("/console/pemeriksaan")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/console/"
    assert http.get("/desk/periksa").headers["Location"] == "/desk/"


def test_an_unknown_key_is_refused_on_the_sign_in_page(http: FlaskClient) -> None:
    token = csrf_of(http, "/console/")
    answer = http.post("/console/", data={"csrf_token": token, "kunci": "jk_not-a-key"})
    assert answer.status_code == 401
    assert "Kunci tidak dikenal" in answer.get_data(as_text=True)
    assert http.get("/console/pemeriksaan").status_code == 302


def test_a_desk_key_on_the_console_is_refused_with_a_page_and_logged(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    token = csrf_of(http, "/console/")
    answer = http.post("/console/", data={"csrf_token": token, "kunci": keys["desk"]})
    assert answer.status_code == 403
    assert answer.mimetype == "text/html"
    assert "hanya untuk kunci auditor" in answer.get_data(as_text=True)
    desk = session.scalars(select(Client).where(Client.role == "desk")).first()
    logged = session.scalars(select(AccessRecord).where(AccessRecord.status == 403)).all()
    assert [(entry.path, entry.client_id) for entry in logged] == [
        ("/console/", desk.id if desk else None)
    ]


def test_an_auditor_session_on_the_desk_page_is_refused_and_logged(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    token = csrf_of(http, "/desk/")
    answer = http.post("/desk/", data={"csrf_token": token, "kunci": keys["auditor"]})
    assert answer.status_code == 403
    assert "hanya untuk kunci loket" in answer.get_data(as_text=True)
    assert session.scalars(select(AccessRecord.path).where(AccessRecord.status == 403)).all() == [
        "/desk/"
    ]


def test_a_form_without_or_with_a_wrong_csrf_token_is_400_and_nothing_done(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    http.get("/console/")
    for data in ({"kunci": keys["auditor"]}, {"kunci": keys["auditor"], "csrf_token": "x.y.z"}):
        answer = http.post("/console/", data=data)
        assert answer.status_code == 400
        assert "CSRF_INVALID" in answer.get_data(as_text=True)
    assert session.scalars(select(WebSession)).all() == []


def test_sign_out_ends_the_session_on_the_server(http: FlaskClient, keys: dict[str, str]) -> None:
    sign_in(http, "console", keys["auditor"])
    old = http.get_cookie("jamkesda_sesi")
    assert old is not None
    token = csrf_of(http, "/console/pemeriksaan")
    assert http.post("/console/keluar", data={"csrf_token": token}).status_code == 302
    # The cookie from before sign-out, sent again, opens nothing.
    http.set_cookie("jamkesda_sesi", old.value)
    assert http.get("/console/pemeriksaan").headers["Location"] == "/console/"


def test_a_revoked_key_ends_its_sessions_at_the_next_page(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    sign_in(http, "console", keys["auditor"])
    assert http.get("/console/pemeriksaan").status_code == 200
    auditor = session.scalars(select(Client).where(Client.role == "auditor")).one()
    revoke_client(session, auditor.id)
    session.commit()
    assert http.get("/console/pemeriksaan").headers["Location"] == "/console/"


def test_pages_send_the_security_headers(http: FlaskClient, keys: dict[str, str]) -> None:
    for path in ("/console/", "/desk/", "/console/tidak-ada"):
        headers = http.get(path).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"


def test_the_api_opens_no_cookie_session(http: FlaskClient, keys: dict[str, str]) -> None:
    answer = http.get("/v1/audit/snapshots", headers={"Authorization": f"Bearer {keys['auditor']}"})
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers


def test_a_session_idle_for_eight_hours_is_over(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    sign_in(http, "console", keys["auditor"])
    stored = session.scalars(select(WebSession)).one()
    stored.seen_at = clock.now() - IDLE_EXPIRY - timedelta(seconds=1)
    session.commit()
    assert http.get("/console/pemeriksaan").headers["Location"] == "/console/"


def test_a_session_in_use_moves_its_idle_expiry_on(
    http: FlaskClient, keys: dict[str, str], session: Session
) -> None:
    sign_in(http, "console", keys["auditor"])
    stored = session.scalars(select(WebSession)).one()
    stored.seen_at = clock.now() - IDLE_EXPIRY + timedelta(minutes=5)
    session.commit()
    assert http.get("/console/pemeriksaan").status_code == 200
    session.expire_all()
    seen = clock.aware(session.scalars(select(WebSession.seen_at)).one())
    assert clock.now() - seen < timedelta(minutes=1)


def test_the_cookie_is_secure_when_the_page_is_served_over_https(
    http: FlaskClient, keys: dict[str, str]
) -> None:
    token = csrf_of(http, "/console/")
    answer = http.post(
        "/console/",
        data={"csrf_token": token, "kunci": keys["auditor"]},
        base_url="https://localhost",
    )
    assert answer.status_code == 302
    assert "Secure" in answer.headers["Set-Cookie"]
    plain = http.get("/console/")
    assert "Secure" not in plain.headers.get("Set-Cookie", "")
