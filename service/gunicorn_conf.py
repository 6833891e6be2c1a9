"""The production server's configuration (gunicorn), used by ``jamkesda serve``."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

bind = os.environ.get("JAMKESDA_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("JAMKESDA_WORKERS", str(2 * (os.cpu_count() or 1))))
# Threads, not sync workers: a sync worker busy with one request cannot tell the master
# it is alive, so a CSV export streaming longer than ``timeout`` was killed half-way. A
# gthread worker's main loop keeps beating while its threads serve, so ``timeout`` bounds
# only a worker that hangs, never a long answer.
worker_class = "gthread"
threads = int(os.environ.get("JAMKESDA_THREADS", "4"))
timeout = int(os.environ.get("JAMKESDA_WORKER_TIMEOUT", "30"))
graceful_timeout = 20
# The body limit is 64 KiB; headers stay small too.
limit_request_line = 8190
# gunicorn itself believes X-Forwarded-Proto from 127.0.0.1 by default, so any local
# process could make a plain request look like HTTPS. Only the app's PROXY_HOPS decides
# which forwarded headers count (``service.trust_proxies``), for the address and the scheme.
forwarded_allow_ips = ""
# No access log of gunicorn's: the app writes one JSON line per request itself (SPEC §11,
# ``service/logs``), with its route's pattern, never its path or query. The error log
# stays, written so that no request data reaches it (``SafeGunicornLogger``).
accesslog = None
errorlog = "-"
logger_class = "service.logs.safe.SafeGunicornLogger"

# Each worker keeps resolved API keys this many seconds, so that most checks skip the key
# look-up; a revoked key therefore keeps working for at most this long (0: no cache).
key_cache_seconds = float(os.environ.get("JAMKESDA_KEY_CACHE_SECONDS", "10"))

# The server runs one ledger sequencer process beside its workers (``jamkesda ledger
# sequence --follow``), draining this often, and starts it again if it dies; a database
# lock lets only one sequencer (of any server) work at a time. LEDGER_SEQUENCER=off leaves
# records queued, for a server that must not sequence or for measuring what it costs.
ledger_sequencer = os.environ.get("LEDGER_SEQUENCER", "on").strip().lower() != "off"
# (``service.config.ledger_sequencer_enabled`` reads it the same way, for ``jamkesda serve``.)
ledger_sequence_seconds = float(os.environ.get("LEDGER_SEQUENCE_INTERVAL", "0.5"))


def on_starting(server: Any) -> None:
    """Make the rate-limit table the workers share, before the first is forked.

    Each worker maps the file named by ``JAMKESDA_RATE_TABLE`` (SPEC §11: a key's limit
    holds across the workers of one server); a new folder each start, so that no bucket
    outlives its server.
    """
    from service.ratelimit.shared_table import TABLE_ENV, create_table_file

    server.rate_table_dir = tempfile.mkdtemp(prefix="jamkesda-rates-")
    os.environ[TABLE_ENV] = str(create_table_file(Path(server.rate_table_dir)))


def child_exit(server: Any, worker: Any) -> None:
    """Forget the live metrics of a worker that exited (``service.metrics.directory``)."""
    from service.metrics.directory import forget_worker

    forget_worker(worker.pid)


def post_fork(server: Any, worker: Any) -> None:
    """Close the ledger signing key's descriptor in the worker: only the sequencer reads it."""
    from service.config import forget_ledger_key_descriptor

    forget_ledger_key_descriptor()


def post_worker_init(worker: Any) -> None:
    """Give the worker's app its key cache once the app is loaded."""
    from service.auth import enable_key_cache

    enable_key_cache(worker.wsgi, key_cache_seconds)


def when_ready(server: Any) -> None:
    """Start the ledger sequencer process once the server listens."""
    if ledger_sequencer:
        from service.ledger.runner import SequencerProcess

        server.ledger_sequencer = SequencerProcess(ledger_sequence_seconds)
        server.ledger_sequencer.start()


def on_exit(server: Any) -> None:
    """Stop the ledger sequencer process after the workers."""
    sequencer = getattr(server, "ledger_sequencer", None)
    if sequencer is not None:
        sequencer.stop()
    rate_table_dir = getattr(server, "rate_table_dir", None)
    if rate_table_dir is not None:
        shutil.rmtree(rate_table_dir, ignore_errors=True)
