"""Rate limits per client key (SPEC §11): a token bucket per key, ``429 RATE_LIMITED`` over it.

``limiter.RateLimiter`` is the app's one limiter; ``limiter.limit_client`` is what the key
check and the signed-in pages call once they know the caller. The buckets live in a table
every worker of the server shares (``shared_table``), or in Redis when
``RATE_LIMIT_STORAGE_URL`` names one (``redis_store``), so that several servers share them.

A fault of the storage never refuses anyone: the request goes on unlimited and
``jamkesda_rate_limit_storage_errors_total`` rises (a desk is never turned away for an
infrastructure fault).
"""
