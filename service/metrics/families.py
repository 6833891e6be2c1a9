"""The counters and the histogram a process keeps, made once, on first use.

They are made on first use rather than when this module is imported, and
``prometheus_client`` is imported only then too: under ``jamkesda serve`` the first use is
in a worker, after ``PROMETHEUS_MULTIPROC_DIR`` was set, so that every worker keeps its
counts in its own file of that folder and a scrape adds them all up
(``service.metrics.exposition``). Elsewhere (tests, ``flask run``) they live in this
process, in a registry of their own.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Histogram

# Latency buckets from 1 ms (a replayed answer, /healthz) to 10 s (a slow export, a
# database that hangs): roughly three per decade, so that a percentile reads to ±30 %.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class Families:
    """The families this process counts in, and the registry that collects them here."""

    registry: CollectorRegistry
    requests: Counter
    request_duration: Histogram
    checks: Counter
    idempotent_replays: Counter
    rate_limited: Counter
    rate_limit_storage_errors: Counter


_made: Families | None = None
_making = threading.Lock()


def families() -> Families:
    """This process's families, made by the first caller (under a lock: made once)."""
    made = _made
    if made is not None:
        return made
    with _making:
        return _made or _make()


def _make() -> Families:
    """Make the families (``prometheus_client`` reads PROMETHEUS_MULTIPROC_DIR now)."""
    global _made
    from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

    # No ``_created`` series beside each counter: a scrape under ``jamkesda serve`` has none
    # (the workers' files do not keep them), and the same families should read the same.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    registry = CollectorRegistry()
    _made = Families(
        registry=registry,
        requests=Counter(
            "jamkesda_http_requests_total",
            "HTTP requests answered, by method, route pattern and status.",
            ["method", "route", "status"],
            registry=registry,
        ),
        request_duration=Histogram(
            "jamkesda_http_request_duration_seconds",
            "Time from a request's arrival in the app until its answer was sent.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
        checks=Counter(
            "jamkesda_checks_total",
            "Checks recorded, by decision (INVALID_REQUEST: a refused request) and channel.",
            ["decision", "channel"],
            registry=registry,
        ),
        idempotent_replays=Counter(
            "jamkesda_idempotent_replays_total",
            "Answers sent again for a repeated Idempotency-Key, nothing recorded.",
            ["route"],
            registry=registry,
        ),
        rate_limited=Counter(
            "jamkesda_rate_limited_requests_total",
            "Requests refused with 429 RATE_LIMITED, by scope (client key or address).",
            ["scope"],
            registry=registry,
        ),
        rate_limit_storage_errors=Counter(
            "jamkesda_rate_limit_storage_errors_total",
            "Requests let through because the rate limits' shared storage failed.",
            registry=registry,
        ),
    )
    return _made
