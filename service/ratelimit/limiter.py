"""The app's limiter: a verdict per request, and the 429 when over the limit."""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from typing import Protocol

from flask import Flask, current_app, g

from service import metrics
from service.clients import Caller
from service.errors import Problem
from service.ratelimit.rates import Rate, Verdict
from service.ratelimit.redis_store import RedisBuckets, StorageUnavailable
from service.ratelimit.shared_table import TABLE_ENV, SharedTable

EXTENSION = "jamkesda.rate_limiter"
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
    """The limits of one app: the default rate, and the buckets."""

    def __init__(
        self, buckets: Buckets, default: Rate, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.buckets = buckets
        self.default = default
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


def install_limiter(app: Flask, rate: Rate | None, storage_url: str | None) -> None:
    """Give ``app`` its limiter: none when ``rate`` is None (RATE_LIMIT=off).

    The buckets are in Redis when ``storage_url`` names one, else in the table that
    ``jamkesda serve`` shares between its workers (``JAMKESDA_RATE_TABLE``), else in this
    process's memory.
    """
    if rate is None:
        return
    buckets: Buckets
    if storage_url:
        buckets = RedisBuckets(storage_url)
    else:
        buckets = SharedTable(os.environ.get(TABLE_ENV) or None)
    app.extensions[EXTENSION] = RateLimiter(buckets, rate)


def limit_client(caller: Caller) -> None:
    """Count one request of ``caller``'s key; raise ``429 RATE_LIMITED`` when over its rate."""
    limiter: RateLimiter | None = current_app.extensions.get(EXTENSION)
    if limiter is None:
        return
    verdict = limiter.take(f"client:{caller.id}", caller.rate_limit or limiter.default)
    if not verdict.allowed:
        refuse(verdict, "client")


def refuse(verdict: Verdict, scope: str) -> None:
    """Raise the 429; nothing is recorded for it, not even in the access log."""
    metrics.count_rate_limited(scope)
    g.rate_limited = True
    raise Problem(429, headers={"Retry-After": str(max(1, math.ceil(verdict.retry_after)))})
