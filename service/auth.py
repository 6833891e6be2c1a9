"""Bearer keys on every protected endpoint: who calls, and whether their role may."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, current_app, g, request

from service import db
from service.clients import Caller, KeyCache, Role, resolve_key
from service.errors import Problem
from service.ratelimit.limiter import checks_keys, limit_address, limit_client

View = TypeVar("View", bound=Callable[..., Any])
KEY_CACHE = "jamkesda.key_cache"


def enable_key_cache(app: Flask, seconds: float) -> None:
    """Keep resolved keys for ``seconds`` in this process (the server does; tests need not)."""
    if seconds > 0:
        app.extensions[KEY_CACHE] = KeyCache(seconds)


def current_client() -> Caller:
    """The client of the request, set by ``requires``."""
    return cast(Caller, g.client)


def _bearer_key() -> str | None:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    key = key.strip()
    return key if scheme.lower() == "bearer" and key else None


def _look_up(key: str) -> Caller | None:
    client = resolve_key(db.session(), key)
    return Caller.of(client) if client else None


def _caller(key: str) -> Caller | None:
    cache: KeyCache | None = current_app.extensions.get(KEY_CACHE)
    return cache.resolve(key, _look_up) if cache else _look_up(key)


def requires(*roles: Role) -> Callable[[View], View]:
    """Let only an active key of one of ``roles`` through: 401 unknown, 403 wrong role.

    Every request with an active key counts against its rate limit, whatever its role
    may do (SPEC §11), so a 429 comes before a 403.
    """

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = _bearer_key()
            client = _caller(key) if key else None
            if client is None:
                # No valid key: the request counts against its address (SPEC §13).
                limit_address()
                raise Problem(401)
            g.client = client
            limit_client(client)
            if client.role not in roles:
                raise Problem(403)
            return view(*args, **kwargs)

        return cast(View, checks_keys(wrapper))

    return decorate
