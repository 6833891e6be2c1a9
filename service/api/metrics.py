"""``GET /metrics``: Prometheus's scrape, without a key (SPEC §11); 404 with ``METRICS=off``."""

from __future__ import annotations

from flask import Response, current_app
from flask_smorest import Blueprint

from service.api.docs import problems
from service.errors import Problem
from service.metrics import ENABLED
from service.metrics.exposition import CONTENT_TYPE, scrape_text

blp = Blueprint("metrics", __name__, description="Service endpoints (no key)")


@blp.route("/metrics", methods=["GET"])
@blp.doc(
    operationId="getMetrics",
    summary="Prometheus metrics of the whole server (all its workers)",
    description="Requests by route and status, latency, checks by decision and channel, "
    "idempotent replays, rate-limited requests, import runs and rows, the ledger's size and "
    "sequencing lag. Labels hold codes and route patterns only, never a NIK, name or key. "
    "Absent (404) when the server runs with METRICS=off.",
    responses={
        "200": {
            "description": "Prometheus text exposition format 0.0.4",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
@problems(blp, 404, s404="The server runs with METRICS=off: no metrics are kept")
def metrics() -> Response:
    """The scrape; a database that cannot answer leaves out only its own families."""
    if not current_app.extensions.get(ENABLED, True):
        raise Problem(404)
    text = scrape_text(current_app.extensions["jamkesda.engine"])
    return Response(text, status=200, content_type=CONTENT_TYPE)
