"""The app's limiter: a verdict per request, and the 429 when over the limit."""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from flask import Flask, current_app, g, request

from service import metrics
from service.clients import Caller
from service.errors import Problem
from service.ratelimit.rates import Rate, Verdict
from service.ratelimit.redis_store import RedisBuckets, StorageUnavailable
from service.ratelimit.shared_table import TABLE_ENV, SharedTable

EXTENSION = "jamkesda.rate_limiter"
ANONYMOUS_DETAIL = (
    "Terlalu banyak permintaan tanpa kunci API yang sah dari alamat ini. Ulangi setelah "
    "jumlah detik di Retry-After."
)
View = TypeVar("View", bound=Callable[..., Any])
# After the storage fails, it is left alone this long (requests go on unlimited), so that
# a Redis gone away does not add its time-out to every request.
STORAGE_BACKOFF_SECONDS = 1.0
logger = logging.getLogger(__name__)


class Buckets(Protocol):
    """Where the buckets are kept: ``SharedTable`` or ``RedisBuckets``."""

    def take(self, name: str, rate: Rate) -> Verdict:
        """Take a token from the bucket ``name``; may raise ``StorageUnavailable``."""
        ...


class RateLimiter:
    """The limits of one app: each key's default rate, the rate per address without a key."""

    def __init__(
        self,
        buckets: Buckets,
        keyed: Rate | None,
        anonymous: Rate | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.buckets = buckets
        self.keyed = keyed
        self.anonymous = anonymous
        self.clock = clock
        self._resting_until = 0.0

    def take(self, name: str, rate: Rate) -> Verdict:
        """The verdict for one request of the bucket ``name``; allowed when storage fails."""
        if self.clock() < self._resting_until:
            metrics.count_rate_limit_storage_error()
            return Verdict(True)
        try:
            return self.buckets.take(name, rate)
        except StorageUnavailable as error:
            self._resting_until = self.clock() + STORAGE_BACKOFF_SECONDS
            logger.error("rate limit storage unavailable (%s): limits are off for now", error)
            metrics.count_rate_limit_storage_error()
            return Verdict(True)


def install_limiter(
    app: Flask, keyed: Rate | None, anonymous: Rate | None, storage_url: str | None
) -> None:
    """Give ``app`` its limiter (none when both rates are None: RATE_LIMIT*=off).

    The buckets are in Redis when ``storage_url`` names one, else in the table that
    ``jamkesda serve`` shares between its workers (``JAMKESDA_RATE_TABLE``), else in this
    process's memory. Requests to views that check no key are limited per address before
    they run; the views that check one limit the key, or the address when it is not valid.
    """
    if keyed is None and anonymous is None:
        return
    buckets: Buckets
    if storage_url:
        buckets = RedisBuckets(storage_url)
    else:
        buckets = SharedTable(os.environ.get(TABLE_ENV) or None)
    app.extensions[EXTENSION] = RateLimiter(buckets, keyed, anonymous)
    app.before_request(_limit_keyless_views)


def checks_keys(view: View) -> View:
    """Mark a view wrapper that checks a key (``requires``) or a page session itself."""
    view.checks_keys = True  # type: ignore[attr-defined]
    return view


def _limit_keyless_views() -> None:
    """``before_request``: a view that checks no key (health, documents, sign-in, the
    receipt, a path no route matches) counts against the caller's address."""
    view = current_app.view_functions.get(request.endpoint or "")
    if not getattr(view, "checks_keys", False):
        limit_address()


def limit_client(caller: Caller) -> None:
    """Count one request of ``caller``'s key; raise ``429 RATE_LIMITED`` when over its rate."""
    limiter: RateLimiter | None = current_app.extensions.get(EXTENSION)
    if limiter is None or limiter.keyed is None:
        return
    verdict = limiter.take(f"client:{caller.id}", caller.rate_limit or limiter.keyed)
    if not verdict.allowed:
        refuse(verdict, "client")


def limit_address() -> None:
    """Count one request without a valid key against its address (SPEC §13); 429 over it.

    Behind a reverse proxy the address is the client's only with PROXY_HOPS set;
    otherwise every keyless request shares the proxy's one bucket.
    """
    limiter: RateLimiter | None = current_app.extensions.get(EXTENSION)
    if limiter is None or limiter.anonymous is None:
        return
    verdict = limiter.take(f"address:{request.remote_addr}", limiter.anonymous)
    if not verdict.allowed:
        refuse(verdict, "address", ANONYMOUS_DETAIL)


def refuse(verdict: Verdict, scope: str, detail: str | None = None) -> None:
    """Raise the 429; nothing is recorded for it, not even in the access log."""
    metrics.count_rate_limited(scope)
    g.rate_limited = True
    retry_after = str(max(1, math.ceil(verdict.retry_after)))
    raise Problem(429, detail=detail, headers={"Retry-After": retry_after})
