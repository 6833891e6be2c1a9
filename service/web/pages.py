"""What every web page shares (SPEC §10): who may see it, CSRF, security headers, errors.

Pages are server-rendered Jinja templates (``service/templates``) with autoescaping, so
any text from a request or an import is shown as text. A page's view is wrapped in
``signed_in_page(area)``: no open session sends the browser to the area's sign-in page; a
key of another role gets a clear 403 page, which the access log records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast

from flask import (
    Blueprint,
    Flask,
    Request,
    Response,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as cookie
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import generate_csrf, validate_csrf
from wtforms import ValidationError

from service import db
from service.api.query import refuse_repeated_parameters
from service.clients import FACILITY_ROLES, Caller, Role
from service.errors import Problem, register_problem_renderer
from service.ratelimit.limiter import checks_keys, limit_address, limit_client
from service.web.sessions import IDLE_EXPIRY, open_session

View = TypeVar("View", bound=Callable[..., Any])
# Where the pages live; the API's paths never open a cookie session.
PAGE_PREFIXES = ("/console", "/desk", "/r/")
# The member of the signed cookie that names the server-side session.
SESSION_MEMBER = "sesi"

# Scripts and styles only from our own files; images may be inline (the QR code, charts).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    # Pages show personal data: no copy in a shared computer's cache.
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Area:
    """A set of pages with its own sign-in: the console, or the desk page."""

    name: str
    title: str
    roles: tuple[Role, ...]
    home: str  # the endpoint a sign-in leads to
    wrong_role: str  # the 403 page's text for a key of another role


CONSOLE = Area(
    "console",
    "Konsol Audit",
    (Role.AUDITOR,),
    "console.checks",
    "Konsol audit hanya untuk kunci auditor (Ombudsman, Inspektorat). Kunci yang Anda "
    "pakai bukan kunci auditor. Keluar, lalu masuk dengan kunci auditor.",
)
DESK = Area(
    "desk",
    "Pemeriksaan di Loket",
    FACILITY_ROLES,
    "desk.check_form",
    "Halaman loket hanya untuk kunci loket puskesmas atau rumah sakit. Kunci yang Anda "
    "pakai bukan kunci loket. Keluar, lalu masuk dengan kunci loket fasilitas Anda.",
)


def is_page(path: str) -> bool:
    """Whether a path is one of the web pages'."""
    return path.startswith(PAGE_PREFIXES)


class PageSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, opened for the pages only.

    An API request carries no cookie session: that saves every check the work of a
    signing serializer. The cookie is ``Secure`` whenever the page was served over HTTPS.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not is_page(request.path):
            return self.make_null_session(app)
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure


def signed_in_page(area: Area) -> Callable[[View], View]:
    """Let the view run for an open session of one of ``area``'s roles.

    The session is looked up on every request, so a revoked key or a sign-out ends it at
    once. ``g.client`` is the session's client (the access log names it). A query
    parameter given twice is a 422 page, as it is a 422 in the API.
    """

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = cookie.get(SESSION_MEMBER)
            found = open_session(db.session(), token) if isinstance(token, str) else None
            db.session().commit()
            if found is None:
                # No session: the request counts against its address (SPEC §13).
                limit_address()
                cookie.clear()
                return redirect(url_for(f"{area.name}.sign_in"))
            g.client = Caller.of(found.client)
            g.web_session_id = found.session_id
            limit_client(g.client)
            if found.client.role not in area.roles:
                raise Problem(403, "WRONG_ROLE", area.wrong_role)
            refuse_repeated_parameters()
            return view(*args, **kwargs)

        return cast(View, checks_keys(wrapper))

    return decorate


def check_csrf() -> None:
    """``before_request`` of the pages: a posted form without a valid CSRF token is a 400."""
    if request.method != "POST":
        return
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError as invalid:
        raise Problem(
            400,
            "CSRF_INVALID",
            "Formulir ini kedaluwarsa atau tidak sah, dan tidak diproses. Muat ulang "
            "halaman, lalu kirim lagi.",
        ) from invalid


def page_headers(response: Response) -> Response:
    """``after_request`` of the pages: SPEC §10's security headers."""
    response.headers.update(PAGE_HEADERS)
    return response


def page_blueprint(name: str, url_prefix: str) -> Blueprint:
    """A blueprint of pages: CSRF-checked posts and security headers on every answer."""
    blueprint = Blueprint(name, __name__, url_prefix=url_prefix)
    blueprint.before_request(check_csrf)
    blueprint.after_request(page_headers)
    return blueprint


def page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """Render a page's template with what every page shows."""
    return render_template(template, client=g.get("client"), **context), status


# What an error page calls each status, in the words a clerk would use.
ERROR_TITLES = {
    400: "Permintaan tidak dapat diproses",
    401: "Belum masuk",
    403: "Tidak berhak",
    404: "Tidak ditemukan",
    405: "Tidak didukung",
    413: "Isian terlalu besar",
    422: "Isian tidak valid",
    429: "Terlalu banyak percobaan",
    500: "Terjadi kesalahan",
    503: "Layanan sementara tidak tersedia",
}


def _area_of(path: str) -> Area | None:
    for area in (CONSOLE, DESK):
        if path.startswith(f"/{area.name}"):
            return area
    return None


def error_page(problem: Problem) -> Response:
    """A problem under the pages' paths, as an HTML page with the same status and code."""
    area = _area_of(request.path)
    body = render_template(
        "error.html",
        problem=problem,
        title=ERROR_TITLES.get(problem.status, "Kesalahan"),
        area=area,
        client=g.get("client"),
    )
    headers = {name: value for name, value in problem.headers.items() if name != "WWW-Authenticate"}
    response = Response(body, status=problem.status, mimetype="text/html", headers=headers)
    return page_headers(response)


def configure(app: Flask, secret_key: str) -> None:
    """Sessions, CSRF and error pages for the web pages of ``app``."""
    app.secret_key = secret_key
    app.session_interface = PageSessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME="jamkesda_sesi",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=IDLE_EXPIRY,
        # A desk page may stay open all day: the token lives as long as the session.
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.jinja_env.globals["csrf_token"] = generate_csrf
    for prefix in PAGE_PREFIXES:
        register_problem_renderer(app, prefix, error_page)
