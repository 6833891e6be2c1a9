"""Token buckets in Redis, shared by every server (``RATE_LIMIT_STORAGE_URL=redis://…``).

One Lua script takes a token atomically, so that servers never race on a bucket. It uses
Redis's own clock, so servers whose clocks differ still share one bucket correctly; the
arithmetic is that of ``rates.take``.
"""

from __future__ import annotations

import redis

from service.config import ConfigError
from service.ratelimit.rates import Rate, Verdict

# A desk waits for the limiter, so Redis gets little time; past it the limit fails open.
TIMEOUT_SECONDS = 0.25
KEY_PREFIX = "jamkesda:rate:"

_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local held = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = burst
if held[1] then
  tokens = math.min(burst, tonumber(held[1]) + math.max(0, now - tonumber(held[2])) * rate)
end
local allowed = 0
local retry = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return {allowed, tostring(retry)}
"""


class StorageUnavailable(RuntimeError):
    """The shared storage did not answer; the caller lets the request through."""


def check_rate_limit_storage(url: str | None) -> None:
    """At start-up: raise ``ConfigError`` naming RATE_LIMIT_STORAGE_URL if it does not answer.

    At run time a Redis gone away only lifts the limits; a server that starts without one
    would run unlimited from the first request, which is a configuration mistake.
    """
    if url is None:
        return
    buckets = RedisBuckets(url)
    try:
        buckets.ping()
    except StorageUnavailable as error:
        raise ConfigError(
            f"RATE_LIMIT_STORAGE_URL does not answer ({error}): start that Redis, or unset "
            "the variable to keep the rate limits in this server."
        ) from error
    finally:
        buckets.close()


class RedisBuckets:
    """The buckets of every server, in the Redis at ``url``."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(
            url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
        )
        self._take = self.client.register_script(_TAKE)

    def ping(self) -> None:
        """Raise ``StorageUnavailable`` unless Redis answers."""
        try:
            self.client.ping()
        except redis.RedisError as error:
            raise StorageUnavailable(str(error)) from error

    def take(self, name: str, rate: Rate) -> Verdict:
        """Take a token from the bucket ``name`` at ``rate``."""
        try:
            allowed, retry = self._take(
                keys=[KEY_PREFIX + name], args=[repr(rate.per_second), str(rate.burst)]
            )
        except redis.RedisError as error:
            raise StorageUnavailable(type(error).__name__) from error
        return Verdict(bool(allowed), float(retry))

    def close(self) -> None:
        """Close the connections."""
        self.client.close()
