"""Running the sequencer: drain the queue and checkpoint, once or every few tenths of a second.

Each server worker runs a ``SequencerThread`` (``service/gunicorn_conf.py``); the lock in
``service.ledger.sequencer`` lets only one of them work at a time, so any number of workers
and servers may run one. ``jamkesda ledger sequence`` calls ``drain`` once.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models import LedgerCheckpoint
from service.ledger.note import Signer
from service.ledger.sequencer import BATCH, checkpoint, sequence

logger = logging.getLogger(__name__)
DEFAULT_EVERY_SECONDS = 0.5


@dataclass(frozen=True)
class Drained:
    """What one run did: how many records it appended, and the checkpoint it signed."""

    appended: int
    checkpoint: LedgerCheckpoint | None


def drain(engine: Engine, signer: Signer, interval: float, force: bool = False) -> Drained:
    """Sequence until the queue is empty (a batch per transaction), then checkpoint if due."""
    appended = 0
    while True:
        with Session(engine) as session, session.begin():
            count = sequence(session, BATCH)
        appended += count
        # A short batch means the queue is empty, or another sequencer has the lock.
        if count < BATCH:
            break
    with Session(engine, expire_on_commit=False) as session, session.begin():
        signed = checkpoint(session, signer, interval, force)
    return Drained(appended, signed)


class SequencerThread(threading.Thread):
    """A daemon thread that drains the queue every ``every`` seconds until stopped."""

    def __init__(self, engine: Engine, signer: Signer, interval: float, every: float) -> None:
        """Run on ``engine``'s pool, signing with ``signer`` at most every ``interval`` s."""
        super().__init__(name="ledger-sequencer", daemon=True)
        self._engine = engine
        self._signer = signer
        self._interval = interval
        self._every = every
        self._stopping = threading.Event()

    def run(self) -> None:
        """Drain, wait, repeat; an error is logged and the next round tries again."""
        while not self._stopping.wait(self._every):
            try:
                drain(self._engine, self._signer, self._interval)
            except Exception:
                # The worker serves checks whatever happens here: a database outage only
                # delays sequencing, and the queue keeps every record until it is back.
                logger.exception("ledger sequencing failed; trying again")

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to stop after its current round, and wait for it a little."""
        self._stopping.set()
        if self.is_alive():
            self.join(timeout)


def start_sequencer(app: Flask, every: float) -> SequencerThread:
    """Start a sequencer thread on the app's engine and settings."""
    settings = app.extensions["jamkesda.settings"]
    thread = SequencerThread(
        app.extensions["jamkesda.engine"],
        settings.ledger_signer,
        settings.ledger_checkpoint_interval,
        every,
    )
    thread.start()
    return thread
