"""Signing in to an area of the pages with an API key, and signing out (SPEC §10).

The key is pasted once. It is checked like a bearer key, then forgotten: the session
cookie carries only a random token of the server-side session (``service.web.sessions``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, redirect, request, url_for
from flask import session as cookie

from service import db
from service.clients import Caller, resolve_key
from service.errors import Problem
from service.web.pages import SESSION_MEMBER, Area, page
from service.web.sessions import end_session, open_session, start_session

# A pasted key is about 46 characters; anything much longer is not one.
MAX_KEY_LENGTH = 200


def add_sign_in(blueprint: Blueprint, area: Area) -> None:
    """Add the area's sign-in page (its root, ``sign_in``) and ``sign_out`` to ``blueprint``."""

    def sign_in() -> Any:
        if request.method == "POST":
            return _sign_in(area)
        token = cookie.get(SESSION_MEMBER)
        found = open_session(db.session(), token) if isinstance(token, str) else None
        db.session().commit()
        if found is not None and found.client.role in area.roles:
            return redirect(url_for(area.home))
        return page("signin.html", area=area, signed_out="keluar" in request.args)

    def sign_out() -> Any:
        token = cookie.get(SESSION_MEMBER)
        if isinstance(token, str):
            end_session(db.session(), token)
            db.session().commit()
        cookie.clear()
        return redirect(url_for(f"{area.name}.sign_in", keluar=1))

    blueprint.add_url_rule("/", "sign_in", sign_in, methods=["GET", "POST"])
    blueprint.add_url_rule("/keluar", "sign_out", sign_out, methods=["POST"])


def _sign_in(area: Area) -> Any:
    key = request.form.get("kunci", "").strip()
    client = resolve_key(db.session(), key) if 0 < len(key) <= MAX_KEY_LENGTH else None
    if client is None:
        return page(
            "signin.html",
            401,
            area=area,
            error="Kunci tidak dikenal atau sudah dicabut. Periksa kunci yang ditempel.",
        )
    g.client = Caller.of(client)
    if client.role not in area.roles:
        raise Problem(403, "WRONG_ROLE", area.wrong_role)
    token = start_session(db.session(), client)
    db.session().commit()
    # A fresh cookie: nothing of an earlier session (nor its CSRF token) is carried over.
    cookie.clear()
    cookie[SESSION_MEMBER] = token
    cookie.permanent = True
    return redirect(url_for(area.home))
