"""Safe retries (SPEC §9.1): a request with an ``Idempotency-Key`` is decided at most once.

The first answer to a client's key is remembered in the database, in the same commit as
the records it reports, for 24 hours; the same key and body then get that answer again,
and a concurrent request with the key waits for the first to commit (or gets ``409``).
"""

from service.idempotency.once import answer_check, answer_unit

__all__ = ["answer_check", "answer_unit"]
