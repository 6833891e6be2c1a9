"""Endpoints without a key: liveness, readiness and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask_smorest import Blueprint
from sqlalchemy.exc import SQLAlchemyError

from service import migrate
from service.api.docs import problems
from service.api.schemas import StatusSchema
from service.errors import Problem

blp = Blueprint("health", __name__, description="Service endpoints (no key)")


@blp.route("/healthz", methods=["GET"])
@blp.doc(operationId="getHealth", summary="The process is alive (touches nothing)")
@blp.response(200, StatusSchema)
def healthz() -> Any:
    """Answer at once without touching the database."""
    return {"status": "ok"}


@blp.route("/readyz", methods=["GET"])
@blp.doc(operationId="getReadiness", summary="The database is reachable and migrated")
@blp.response(200, StatusSchema)
@problems(blp, 503, s503="The database is unreachable or not migrated")
def readyz() -> Any:
    """200 when the database answers and is at the newest migration, else 503."""
    engine = current_app.extensions["jamkesda.engine"]
    try:
        revision = migrate.current_revision(engine)
    except SQLAlchemyError as exc:
        raise Problem(503, "DATABASE_UNAVAILABLE") from exc
    expected = current_app.extensions["jamkesda.head_revision"]
    if revision != expected:
        where = f"pada migrasi {revision}" if revision else "belum dimigrasi"
        raise Problem(
            503,
            "NOT_MIGRATED",
            f"Basis data {where}, seharusnya pada migrasi {expected}: jalankan "
            "`jamkesda db upgrade`.",
        )
    return {"status": "ready", "migration": revision}


@blp.route("/openapi.yaml", methods=["GET"])
@blp.doc(
    operationId="getOpenApiDocument",
    summary="This API's OpenAPI document",
    responses={"200": {"description": "The document", "content": {"application/yaml": {}}}},
)
def openapi_yaml() -> Response:
    """The OpenAPI document, the same text as the repository's ``openapi.yaml``."""
    text = current_app.extensions["jamkesda.openapi_yaml"]
    return current_app.response_class(text, mimetype="application/yaml")
