"""Heavy audit requests (replays, statistics, CSV exports, dispute reports) share a few threads.

A worker serves with ``JAMKESDA_THREADS`` threads, and a desk's check must always find one
free (issue 14: sixteen concurrent replays once held every thread, and checks waited
seconds). So at most ``AUDIT_HEAVY_SLOTS`` heavy requests run at once in a worker; one
more is answered at once with ``503 AUDIT_BUSY`` and ``Retry-After``. It does not wait
for a slot: a thread waiting would be a thread taken from the checks all the same.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, Response, current_app

from service.errors import Problem

View = TypeVar("View", bound=Callable[..., Any])
EXTENSION = "jamkesda.heavy_audit_slots"
BUSY_DETAIL = (
    "Terlalu banyak permintaan audit berat (pemutaran ulang, statistik, ekspor) sedang "
    "berjalan. Ulangi setelah jumlah detik di Retry-After."
)


def install_heavy_slots(app: Flask, slots: int) -> None:
    """Give ``app`` its slots for heavy audit requests (per worker process)."""
    app.extensions[EXTENSION] = threading.BoundedSemaphore(slots)


def heavy(view: View) -> View:
    """Run ``view`` in one of the worker's heavy slots, or answer 503 AUDIT_BUSY at once.

    A streamed answer (a CSV export) keeps its slot until it has been sent and closed.
    """

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        slots: threading.BoundedSemaphore | None = current_app.extensions.get(EXTENSION)
        if slots is None:
            return view(*args, **kwargs)
        if not slots.acquire(blocking=False):
            raise Problem(503, "AUDIT_BUSY", BUSY_DETAIL, headers={"Retry-After": "1"})
        try:
            answer = view(*args, **kwargs)
        except BaseException:
            slots.release()
            raise
        # What a view returns may still be serialised by an outer decorator (flask-smorest's
        # schemas); only a streamed Response holds work that runs after the view returns.
        if isinstance(answer, Response) and answer.is_streamed:
            answer.call_on_close(slots.release)
        else:
            slots.release()
        return answer

    return cast(View, wrapper)
