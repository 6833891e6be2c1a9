"""The Kukar free-care-by-KTP eligibility service: ``create_app`` assembles the Flask app."""

from __future__ import annotations

import time

from flask import Flask, g
from sqlalchemy import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from service import db, migrate
from service.audit.heavy import install_heavy_slots
from service.audit.hook import record_audit_access
from service.config import Settings
from service.errors import MAX_BODY_BYTES, register_error_handlers
from service.logs import register_logs
from service.metrics import observe_request, register_metrics
from service.openapi import openapi_text
from service.ratelimit.limiter import install_limiter
from service.web import register_pages


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> Flask:
    """Build the app from ``settings`` (default: the environment); nothing else happens here."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        API_TITLE="Kukar Jamkesda KTP eligibility",
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.0.3",
        API_SPEC_OPTIONS={
            "info": {
                "description": "Free care by KTP in Kabupaten Kutai Kartanegara: residency and "
                "Jamkesda checks by NIK, every check recorded for audit."
            },
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        },
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    engine = engine or db.make_engine(settings.database_url, db.LOCK_TIMEOUT_MS)
    app.extensions["jamkesda.settings"] = settings
    app.extensions["jamkesda.engine"] = engine
    app.extensions["jamkesda.head_revision"] = migrate.head_revision()
    db.init_app(app, engine)
    register_blueprints(app)
    register_pages(app, settings.console_secret_key)
    register_error_handlers(app)
    app.before_request(_start_timer)
    app.after_request(record_audit_access)
    register_metrics(app, settings.metrics)
    register_logs(app, settings.request_log, observe_request if settings.metrics else None)
    install_heavy_slots(app, settings.audit_heavy_slots)
    install_limiter(
        app, settings.rate_limit, settings.rate_limit_anonymous, settings.rate_limit_storage_url
    )
    trust_proxies(app, settings.proxy_hops)
    return app


def register_blueprints(app: Flask) -> None:
    """Mount the API and keep its OpenAPI document for ``/openapi.yaml``."""
    from service.api import audit, checks, health, ledger, metrics
    from service.api.docs import ProblemApi
    from service.fhir import openapi as fhir_openapi
    from service.fhir import views as fhir

    api = ProblemApi(app)
    for name, schema in fhir_openapi.SCHEMAS.items():
        api.spec.components.schema(name, schema)
    api.register_blueprint(health.blp)
    api.register_blueprint(checks.blp)
    api.register_blueprint(fhir.blp)
    api.register_blueprint(audit.blp)
    api.register_blueprint(ledger.blp)
    api.register_blueprint(metrics.blp)
    fhir.register(app)
    app.extensions["jamkesda.openapi_yaml"] = openapi_text(api)


def trust_proxies(app: Flask, hops: int) -> None:
    """Behind ``hops`` reverse proxies, take the client's address and scheme from them.

    Applied last, so that it wraps every other middleware (the request log included) and
    everything after it sees the client's address (receipt tries, access log, per-address
    rate limits) and ``https`` (the ``Secure`` cookie, the slip's receipt address). Only
    ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are read: they are what the nginx of
    ``deploy/`` sets, replacing whatever the client sent; it passes ``Host`` itself. With
    0 hops nothing is read, so a client that reaches the server directly cannot choose
    the address it is counted under.
    """
    if hops > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0
        )


def _start_timer() -> None:
    g.started = time.perf_counter()
