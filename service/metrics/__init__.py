"""Prometheus metrics (SPEC §11): what the service counts, and ``GET /metrics``.

- ``families``: the counters and the histogram each process keeps, made on first use;
- ``database``: the families read from the database at each scrape (imports, the ledger);
- ``exposition``: the text of a scrape, across every worker of ``jamkesda serve``;
- ``directory``: the private folder in which ``jamkesda serve``'s workers keep their counts.

The endpoint itself is ``service.api.metrics``.

The functions here are what the rest of the service calls. They import nothing of
``prometheus_client`` when this module is imported: ``prometheus_client`` decides, when it
is first imported, whether values live in this process or in ``PROMETHEUS_MULTIPROC_DIR``,
and ``jamkesda serve`` sets that variable only after the command line (which imports much
of the service) has been loaded. Every label value comes from a fixed set, never from what
a client sent, so that no NIK, name or key can reach a label and no client can make new
series.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec

from flask import Flask, current_app, has_app_context

from service.metrics.families import families

logger = logging.getLogger(__name__)
Arguments = ParamSpec("Arguments")
# Whether an app counts (``METRICS=off``: it does not), in ``app.extensions``.
ENABLED = "jamkesda.metrics"
# The scopes of a rate limit: a client's key, or (before a key is known) an address.
RATE_LIMIT_SCOPES = frozenset({"client", "address"})


def register_metrics(app: Flask, enabled: bool) -> None:
    """Count in this app unless ``METRICS=off``; make the families before the first request."""
    app.extensions[ENABLED] = enabled
    if enabled:
        families()


def _never_failing(count: Callable[Arguments, None]) -> Callable[Arguments, None]:
    """``count``, logging instead of raising: a count must never fail the answer it counts
    (a check already recorded, a 429 already decided), whatever befalls the metrics."""

    @functools.wraps(count)
    def counting(*args: Arguments.args, **kwargs: Arguments.kwargs) -> None:
        try:
            count(*args, **kwargs)
        except Exception:
            logger.exception("metrics: %s failed", count.__name__)

    return counting


def _counting() -> bool:
    """Whether to count now: always, except in an app with ``METRICS=off``."""
    return not has_app_context() or bool(current_app.extensions.get(ENABLED, True))


@_never_failing
def count_rate_limited(scope: str) -> None:
    """A request refused with 429: ``scope`` is ``client`` (its key) or ``address``."""
    if not _counting():
        return
    label = scope if scope in RATE_LIMIT_SCOPES else "client"
    families().rate_limited.labels(label).inc()


@_never_failing
def count_rate_limit_storage_error() -> None:
    """The rate limiter's shared storage failed and the request was let through."""
    if not _counting():
        return
    families().rate_limit_storage_errors.inc()


@_never_failing
def count_checks(recorded: Iterable[tuple[str, str]]) -> None:
    """Checks recorded and committed, as (decision, channel) pairs; a batch gives many."""
    if not _counting():
        return
    checks = families().checks
    for (decision, channel), number in Counter(recorded).items():
        checks.labels(decision, channel).inc(number)


@_never_failing
def count_replay(route: str) -> None:
    """An answer sent again for a repeated Idempotency-Key, on the route's pattern."""
    if not _counting():
        return
    families().idempotent_replays.labels(route).inc()


# The series of each (method, route, status) seen, so that a request finds its two series
# in one dictionary look-up instead of two label look-ups under the families' locks. The
# keys come from fixed sets (``RequestLog``), so the dictionary stays small.
_request_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}


@_never_failing
def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """One answered request (``RequestLog``'s ``observe``): its count and its latency."""
    series = _request_series.get((method, route, status))
    if series is None:
        made = families()
        series = (
            made.requests.labels(method, route, str(status)),
            made.request_duration.labels(method, route),
        )
        _request_series[(method, route, status)] = series
    count, duration = series
    count.inc()
    duration.observe(seconds)
