"""Bearer keys on every protected endpoint: who calls, and whether their role may."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import g, request

from models import Client
from service import db
from service.clients import Role, resolve_key
from service.errors import Problem

View = TypeVar("View", bound=Callable[..., Any])


def current_client() -> Client:
    """The client of the request, set by ``requires``."""
    return cast(Client, g.client)


def _bearer_key() -> str | None:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    key = key.strip()
    return key if scheme.lower() == "bearer" and key else None


def requires(*roles: Role) -> Callable[[View], View]:
    """Let only an active key of one of ``roles`` through: 401 unknown, 403 wrong role."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = _bearer_key()
            client = resolve_key(db.session(), key) if key else None
            if client is None:
                raise Problem(401)
            g.client = client
            if client.role not in roles:
                raise Problem(403)
            return view(*args, **kwargs)

        return cast(View, wrapper)

    return decorate
