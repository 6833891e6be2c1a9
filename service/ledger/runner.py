"""Running the sequencer: drain the queue and checkpoint, once or every few tenths of a second.

``jamkesda ledger sequence`` drains once; with ``--follow`` it drains every few tenths of a
second until stopped (``follow``). ``jamkesda serve`` runs one such process beside its
workers and restarts it if it dies (``SequencerProcess``, started from
``service/gunicorn_conf.py``): the request workers never sequence, so a batch of leaves to
encode never holds a worker's interpreter lock while it serves checks. The lock in
``service.ledger.sequencer`` lets only one sequencer work at a time, so any number of
servers may each run one.

Only this process holds the signing key (SPEC §13): ``jamkesda serve`` starts itself again
without ``LEDGER_SIGNING_KEY`` in its environment, the key in an anonymous file whose
descriptor (``config.LEDGER_KEY_FD``) only its sequencer processes inherit
(``SequencerProcess``); the web workers close it when they are forked.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models import LedgerCheckpoint
from service.config import DEFAULT_MAX_SKEW_SECONDS, ledger_key_descriptors
from service.ledger.note import Signer
from service.ledger.sequencer import BATCH, checkpoint, sequence

logger = logging.getLogger(__name__)
DEFAULT_EVERY_SECONDS = 0.5
# How long a dead sequencer process is left dead before it is started again.
RESTART_SECONDS = 1.0
# How often the watcher looks whether the sequencer process has exited.
POLL_SECONDS = 0.2
# How long a stopping sequencer process gets to finish its round before it is killed.
STOP_SECONDS = 10.0


@dataclass(frozen=True)
class Drained:
    """What one run did: records appended and quarantined, and the checkpoint it signed."""

    appended: int
    checkpoint: LedgerCheckpoint | None
    quarantined: tuple[int, ...] = ()


def drain(
    engine: Engine,
    signer: Signer,
    interval: float,
    force: bool = False,
    max_skew: float = DEFAULT_MAX_SKEW_SECONDS,
) -> Drained:
    """Sequence until the queue is empty (a batch per transaction), then checkpoint if due.

    Records decided more than ``max_skew`` seconds before the latest checkpoint are
    quarantined, not appended (``sequencer.sequence``); each is logged as a warning.
    """
    taken = 0
    quarantined: list[int] = []
    while True:
        held: list[int] = []
        with Session(engine) as session, session.begin():
            count = sequence(session, BATCH, max_skew, held)
        taken += count
        quarantined += held
        # A short batch means the queue is empty, or another sequencer has the lock.
        if count < BATCH:
            break
    for record_id in quarantined:
        logger.warning(
            "ledger: record id %s quarantined: decided more than %s s before the latest checkpoint",
            record_id,
            max_skew,
        )
    with Session(engine, expire_on_commit=False) as session, session.begin():
        signed = checkpoint(session, signer, interval, force)
    return Drained(taken - len(quarantined), signed, tuple(quarantined))


def follow(
    engine: Engine,
    signer: Signer,
    interval: float,
    every: float,
    stopping: threading.Event,
    still_wanted: Callable[[], bool] = lambda: True,
    max_skew: float = DEFAULT_MAX_SKEW_SECONDS,
) -> None:
    """Drain at once, then every ``every`` seconds until ``stopping`` or not ``still_wanted()``.

    The first round runs at start, so that the empty log's checkpoint is signed and stored
    before auditors ask: the web workers hold no key and serve only stored checkpoints.
    An error is logged and the next round tries again: a database outage only delays
    sequencing, and the queue keeps every record until it is back.
    """
    first = True
    while (first or not stopping.wait(every)) and still_wanted():
        first = False
        try:
            drain(engine, signer, interval, max_skew=max_skew)
        except Exception:
            logger.exception("ledger sequencing failed; trying again")


class SequencerProcess:
    """``jamkesda ledger sequence --follow`` as a child process, started again if it dies."""

    def __init__(self, every: float) -> None:
        """Drain every ``every`` seconds; the child reads the rest from the environment.

        The child alone inherits the signing key's descriptor (``LEDGER_KEY_FD``), if any.
        """
        self._command = [
            sys.executable,
            "-m",
            "service.cli",
            "ledger",
            "sequence",
            "--follow",
            "--every",
            str(every),
            # The child stops by itself if this process dies without stopping it.
            "--server-pid",
            str(os.getpid()),
        ]
        self._stopping = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._watcher = threading.Thread(target=self._run, name="ledger-sequencer", daemon=True)

    def start(self) -> None:
        """Start the child now, and a thread that starts it again whenever it exits.

        The first child is started here, in the caller's thread, before gunicorn forks
        its workers (``when_ready``). Started from the thread instead, a worker forked
        while ``Popen`` waited for the child's exec inherited the end of Popen's
        internal pipe, so ``Popen`` never returned while that worker lived (seen in CI:
        the sequencer killed by a test was then never restarted).
        """
        self._spawn()
        self._watcher.start()

    def _spawn(self) -> bool:
        """Start a child unless stopping; whether one was started."""
        # Under the lock, so that stop() either sees this child or none is started.
        with self._lock:
            if self._stopping.is_set():
                return False
            self._process = subprocess.Popen(  # noqa: S603 - our own command
                self._command, pass_fds=ledger_key_descriptors()
            )
            return True

    def _run(self) -> None:
        while self._process is not None:
            status = self._exit_status(self._process)
            if self._stopping.is_set():
                return
            logger.error("the ledger sequencer exited (status %s); starting it again", status)
            # A restart from this thread can still meet a worker being forked at that very
            # moment (gunicorn replacing a dead worker); both dying at once is rare.
            if self._stopping.wait(RESTART_SECONDS) or not self._spawn():
                return

    def _exit_status(self, process: subprocess.Popen[bytes]) -> int | None:
        """Wait for the child to exit (or for ``stop``) by polling, never in a blocking wait.

        gunicorn's master reaps every child of its process, this one included. A thread
        blocked in ``waitpid(pid)`` while another thread reaps that pid is not always woken
        (the kernel skips the dying child and sleeps on), and the sequencer was then never
        started again. ``poll`` reports 0 for a child reaped elsewhere.
        """
        while (status := process.poll()) is None:
            if self._stopping.wait(POLL_SECONDS):
                return None
        return status

    def stop(self) -> None:
        """Stop the child (SIGTERM, then SIGKILL after STOP_SECONDS) and do not restart it."""
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._watcher.join(STOP_SECONDS)
