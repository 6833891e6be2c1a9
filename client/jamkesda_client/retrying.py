"""When a request is tried again, and how long the client waits before it does."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

# 503 and 429 say that nothing was decided or recorded. 502 and 504 come from the reverse
# proxy in front of the service (SPEC §13) while the application restarts or is slow; the
# Idempotency-Key of every POST makes trying again safe even if the first attempt landed.
RETRY_STATUSES = frozenset({429, 502, 503, 504})

# The service answers 409 with this code (and Retry-After: 1) while the first attempt with
# the same Idempotency-Key is still being decided; asking again gets that attempt's answer.
KEY_IN_USE = "IDEMPOTENCY_KEY_IN_USE"

# Jitter only spreads the retries of many clients apart; it protects no secret.
_jitter = random.Random()  # noqa: S311


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to try again and how long to wait between attempts.

    ``retries`` counts the attempts after the first. Waits grow exponentially from
    ``backoff`` seconds with full jitter (a uniform draw between zero and the bound), and
    no wait exceeds ``max_wait`` seconds, a ``Retry-After`` of the service included.
    """

    retries: int = 3
    backoff: float = 0.5
    max_wait: float = 10.0

    def __post_init__(self) -> None:
        """Refuse settings that would never try or never stop."""
        if self.retries < 0:
            raise ValueError("retries must be 0 or more")
        if self.backoff < 0 or self.max_wait < 0:
            raise ValueError("backoff and max_wait must be 0 or more seconds")

    def wait_seconds(self, retry: int, retry_after: float | None = None) -> float:
        """The wait before retry number ``retry`` (0 for the first retry)."""
        if retry_after is not None:
            return min(retry_after, self.max_wait)
        bound = min(self.max_wait, self.backoff * (2**retry))
        return _jitter.uniform(0.0, bound)


def retryable_status(status: int, code: str | None) -> bool:
    """Whether an answer with this status (and problem code) may be asked again."""
    return status in RETRY_STATUSES or (status == 409 and code == KEY_IN_USE)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    seconds = (moment - (now or datetime.now(timezone.utc))).total_seconds()
    return max(0.0, seconds)
