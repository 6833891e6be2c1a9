"""The web pages of SPEC §10: the Ombudsman's console, the desk page, the patient's receipt.

- ``pages``: what every page shares (areas, the sign-in guard, CSRF, headers, error pages);
- ``sessions``: the server-side sessions behind the cookies;
- ``signin``: signing in with an API key and out again;
- ``console``, ``desk``, ``receipt``: the three sets of pages.

Templates are in ``service/templates``, styles and the few scripts in ``service/static``.
"""

from __future__ import annotations

import secrets

from flask import Flask

from service.web import pages


def register_pages(app: Flask, secret_key: str) -> None:
    """Mount the pages; ``secret_key`` (``CONSOLE_SECRET_KEY``) signs their cookies."""
    from service.web import console, desk, receipt

    # Without a configured key (the OpenAPI writer, some tests) the process signs with a
    # key of its own: sessions then last as long as the process.
    pages.configure(app, secret_key or secrets.token_hex(32))
    app.register_blueprint(console.blueprint)
    app.register_blueprint(desk.blueprint)
    app.register_blueprint(receipt.blueprint)
