"""``jamkesda ledger keygen|sequence|verify``: the ledger's key, sequencing and audit."""

from __future__ import annotations

import os
import signal
import threading

import click
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service import config
from service.commands import EXIT_BAD_DATA, EXIT_USAGE, fail
from service.config import ConfigError
from service.db import make_engine
from service.ledger.note import (
    InvalidNote,
    Signer,
    generate_signer_key,
    parse_signer_key,
    verifier_key,
)
from service.ledger.runner import DEFAULT_EVERY_SECONDS, drain, follow
from service.ledger.verify import Finding, verify_ledger
from service.logs import install_safe_logging


@click.group("ledger")
def ledger_command() -> None:
    """The transparency log of the check records."""


def _signer() -> Signer:
    """The configured signing key, or exit 2 saying what to set."""
    try:
        return config.ledger_signer()
    except ConfigError as error:
        fail(str(error), EXIT_USAGE)


@ledger_command.command("keygen")
@click.option(
    "--origin",
    default=config.DEFAULT_LEDGER_ORIGIN,
    show_default=True,
    help="The log's name: the first line of every checkpoint (no spaces or '+').",
)
def keygen(origin: str) -> None:
    """Print a new signing key for LEDGER_SIGNING_KEY (secret), then its verifier key."""
    try:
        key = generate_signer_key(origin)
    except InvalidNote as error:
        fail(str(error), EXIT_USAGE)
    click.echo("LEDGER_SIGNING_KEY (secret; set it in the server's environment):")
    click.echo(key)
    click.echo("verifier key (public; give it to auditors):")
    click.echo(verifier_key(parse_signer_key(key)))


@ledger_command.command("sequence")
@click.option("--force", is_flag=True, help="Sign a checkpoint now if the log grew.")
@click.option(
    "--follow",
    is_flag=True,
    help="Go on draining every --every seconds until stopped (SIGTERM or Ctrl-C).",
)
@click.option(
    "--every",
    type=click.FloatRange(min=0.01),
    default=DEFAULT_EVERY_SECONDS,
    show_default=True,
    help="With --follow: seconds between two rounds.",
)
# For the process ``jamkesda serve`` starts: only that server (this process id) stops it,
# and it stops by itself once orphaned (the server was killed without stopping it).
@click.option("--server-pid", type=int, hidden=True)
def sequence(force: bool, follow: bool, every: float, server_pid: int | None) -> None:
    """Append every queued record to the log, then sign a checkpoint if one is due."""
    signer = _signer()
    interval = _checkpoint_interval()
    max_skew = _max_skew()
    engine = make_engine(config.database_url())
    try:
        if follow:
            _follow(engine, signer, interval, every, server_pid, max_skew)
            return
        done = drain(engine, signer, interval, force, max_skew)
    finally:
        engine.dispose()
    signed = done.checkpoint
    checkpoint = f"checkpoint of size {signed.tree_size} signed" if signed else "no new checkpoint"
    click.echo(f"{done.appended} records appended to the log; {checkpoint}")
    if done.quarantined:
        click.echo(
            f"{len(done.quarantined)} records quarantined: decided more than {max_skew} s "
            "before the latest checkpoint (GET /v1/ledger/quarantine lists them)"
        )


def _follow(
    engine: Engine,
    signer: Signer,
    interval: float,
    every: float,
    server_pid: int | None,
    max_skew: float,
) -> None:
    """Drain every ``every`` seconds until SIGTERM (or SIGINT, unless a server owns us)."""
    # A failed round is logged with its traceback, beside the server's lines: safely.
    install_safe_logging()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    if server_pid is None:
        signal.signal(signal.SIGINT, lambda *_: stopping.set())
        follow(engine, signer, interval, every, stopping, max_skew=max_skew)
        return
    # Ctrl-C in the server's terminal reaches its whole process group; the server stops
    # this process itself, after its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    follow(engine, signer, interval, every, stopping, lambda: os.getppid() == server_pid, max_skew)


@ledger_command.command("verify")
@click.option(
    "--key",
    "verifier",
    help="The verifier key to check signatures with (default: LEDGER_VERIFIER_KEY, else "
    "that of LEDGER_SIGNING_KEY).",
)
def verify(verifier: str | None) -> None:
    """Recompute the log from the records and check every stored hash and checkpoint."""
    verifier = verifier or _verifier_key()
    max_skew = _max_skew()
    engine = make_engine(config.database_url())

    def report(finding: Finding) -> None:
        click.echo(str(finding))

    try:
        with Session(engine) as session:
            summary = verify_ledger(session, verifier, report, max_skew=max_skew)
    except InvalidNote as error:
        fail(f"--key: {error}", EXIT_USAGE)
    finally:
        engine.dispose()
    if summary.findings:
        fail(f"the ledger does not verify: {summary.line()}", EXIT_BAD_DATA)
    click.echo(f"ledger verified: {summary.line()}")


def _verifier_key() -> str:
    """LEDGER_VERIFIER_KEY if set, else that of LEDGER_SIGNING_KEY; exit 2 if neither is."""
    if os.environ.get("LEDGER_VERIFIER_KEY", "").strip():
        try:
            return config.ledger_verifier_key()
        except ConfigError as error:
            fail(str(error), EXIT_USAGE)
    return verifier_key(_signer())


def _max_skew() -> int:
    """LEDGER_MAX_SKEW_SECONDS, or exit 2 saying what is wrong."""
    try:
        return config.ledger_max_skew_seconds()
    except ConfigError as error:
        fail(str(error), EXIT_USAGE)


def _checkpoint_interval() -> float:
    """LEDGER_CHECKPOINT_INTERVAL, or exit 2 saying what is wrong."""
    try:
        return config.ledger_checkpoint_interval()
    except ConfigError as error:
        fail(str(error), EXIT_USAGE)
