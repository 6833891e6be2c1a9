"""A rate as SPEC §11 writes it (``20/s``, ``600/m``) and the token bucket it stands for."""

from __future__ import annotations

import re
from dataclasses import dataclass

_RATE = re.compile(r"([1-9][0-9]{0,8})/([sm])")
_SECONDS = {"s": 1.0, "m": 60.0}


class InvalidRate(ValueError):
    """A rate that is not ``N/s`` or ``N/m`` with N a whole number from 1."""


@dataclass(frozen=True)
class Rate:
    """``count`` requests per ``per`` (``s`` or ``m``); the bucket holds twice ``count``."""

    count: int
    per: str

    @property
    def per_second(self) -> float:
        """Tokens added to the bucket each second."""
        return self.count / _SECONDS[self.per]

    @property
    def burst(self) -> int:
        """The bucket's size: SPEC §11 makes the burst always twice N."""
        return 2 * self.count

    def __str__(self) -> str:
        return f"{self.count}/{self.per}"


def parse_rate(text: str) -> Rate:
    """``N/s`` or ``N/m`` as a ``Rate``; anything else raises ``InvalidRate``."""
    found = _RATE.fullmatch(text.strip())
    if found is None:
        raise InvalidRate(
            f"{text.strip()!r} is not a rate: write N/s or N/m with N a whole number "
            "from 1 (for example 20/s or 600/m)"
        )
    return Rate(int(found.group(1)), found.group(2))


@dataclass(frozen=True)
class Bucket:
    """A bucket's state: tokens left at ``updated`` (seconds of a clock every worker shares)."""

    tokens: float
    updated: float


@dataclass(frozen=True)
class Verdict:
    """Whether a request may go on, and if not how many seconds until it may."""

    allowed: bool
    retry_after: float = 0.0


def take(bucket: Bucket | None, rate: Rate, now: float) -> tuple[Verdict, Bucket]:
    """Take one token from ``bucket`` (None: a new, full one) at time ``now``.

    Pure token-bucket arithmetic, shared by the stores: refill at ``rate.per_second``
    up to ``rate.burst``, then take one token if there is a whole one.
    """
    if bucket is None:
        tokens = float(rate.burst)
    else:
        elapsed = max(0.0, now - bucket.updated)
        tokens = min(float(rate.burst), bucket.tokens + elapsed * rate.per_second)
    if tokens >= 1.0:
        return Verdict(True), Bucket(tokens - 1.0, now)
    return Verdict(False, (1.0 - tokens) / rate.per_second), Bucket(tokens, now)
