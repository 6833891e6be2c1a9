"""The ``jamkesda`` command line. Exit codes: 0 done, 1 bad data (with a report), 2 bad usage."""

from __future__ import annotations

import os
import sys

import click

from service import config, migrate
from service.clients import ClientError, create_client, list_clients, revoke_client, set_rate
from service.commands import EXIT_USAGE, fail, unit_of_work
from service.config import ConfigError
from service.db import make_engine
from service.demo import demo_command
from service.imports.command import import_command
from service.imports.rehash import rehash_registry
from service.ledger.command import ledger_command
from service.policy import PolicyError
from service.ratelimit.redis_store import check_rate_limit_storage


@click.group()
def main() -> None:
    """Kukar free care by KTP: eligibility checks, data imports, API keys, the ledger."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations."""
    engine = make_engine(config.database_url())
    try:
        migrate.upgrade(engine)
    except ConfigError as exc:
        # A migration that needs a setting (0007 hashes the imported NIKs under NIK_HASH_KEY).
        fail(str(exc), EXIT_USAGE)
    finally:
        engine.dispose()
    click.echo(f"database at migration {migrate.head_revision()}")


@db.command("rehash")
def db_rehash() -> None:
    """Rewrite the registry's NIK hashes under NIK_HASH_KEY (after the key changes)."""
    try:
        key = config.nik_hash_key()
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    with unit_of_work() as session:
        result = rehash_registry(session, key)
    click.echo(result.summary_line())


@main.group()
def clients() -> None:
    """API clients and their keys."""


@clients.command("create")
@click.option("--name", required=True, help="Who holds the key, e.g. 'SIMPUS Puskesmas Loa Janan'.")
@click.option("--role", required=True, help="desk, integration, auditor or admin.")
@click.option("--facility", "facility_code", help="Facility code (desk and integration only).")
@click.option("--rate", help="Its own rate limit, N/s or N/m (default: the server's RATE_LIMIT).")
def clients_create(name: str, role: str, facility_code: str | None, rate: str | None) -> None:
    """Create a client; its key is the last line printed and is never shown again."""
    try:
        with unit_of_work() as session:
            client, key = create_client(session, name, role, facility_code, rate)
            facility = client.facility_code or "-"
            click.echo(f"client {client.id} created: {client.name} ({client.role}, {facility})")
            if client.rate_limit:
                click.echo(f"rate limit: {client.rate_limit}")
            click.echo("API key (shown once, store it now):")
    except ClientError as exc:
        fail(str(exc), EXIT_USAGE)
    click.echo(key)


@clients.command("list")
def clients_list() -> None:
    """One client a line: id, role, facility, status, rate limit ("-": RATE_LIMIT's), name."""
    with unit_of_work() as session:
        for client in list_clients(session):
            status = "revoked" if client.revoked_at else "active"
            facility = client.facility_code or "-"
            rate = client.rate_limit or "-"
            click.echo(f"{client.id}\t{client.role}\t{facility}\t{status}\t{rate}\t{client.name}")


@clients.command("revoke")
@click.argument("client_id", type=int)
def clients_revoke(client_id: int) -> None:
    """Revoke a client's key (servers forget a cached key within JAMKESDA_KEY_CACHE_SECONDS)."""
    try:
        with unit_of_work() as session:
            client = revoke_client(session, client_id)
            click.echo(f"client {client.id} revoked: {client.name}")
    except ClientError as exc:
        fail(str(exc), EXIT_USAGE)


@clients.command("set-rate")
@click.argument("client_id", type=int)
@click.argument("rate")
def clients_set_rate(client_id: int, rate: str) -> None:
    """Set a client's rate limit (N/s or N/m), or `default` for the server's RATE_LIMIT."""
    try:
        with unit_of_work() as session:
            client = set_rate(session, client_id, None if rate == "default" else rate)
            shown = client.rate_limit or "RATE_LIMIT (default)"
            click.echo(f"client {client.id} rate limit: {shown}: {client.name}")
    except ClientError as exc:
        fail(str(exc), EXIT_USAGE)
    # Servers keep a resolved key (with its rate) for a few seconds: say when it applies.
    click.echo("servers apply it within JAMKESDA_KEY_CACHE_SECONDS (default 10 s)")


@main.command("serve")
@click.option("--bind", help="HOST:PORT to listen on (default 127.0.0.1:8000).")
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes (default 2 × cores).")
def serve_command(bind: str | None, workers: int | None) -> None:
    """Run the production server (gunicorn)."""
    from service.logs import install_safe_logging
    from service.server import serve

    try:
        # Only the sequencer process may hold the signing key (SPEC §13): it leaves this
        # process's environment before gunicorn forks the workers, which get the verifier
        # key in its place.
        signing_key = config.withhold_ledger_signing_key(
            os.environ, config.ledger_sequencer_enabled()
        )
        # Check the settings here so that a bad one stops start-up with its message.
        settings = config.Settings.from_env()
        check_rate_limit_storage(settings.rate_limit_storage_url)
    except (ConfigError, PolicyError) as exc:
        fail(str(exc), EXIT_USAGE)
    if signing_key is not None:
        _serve_again_without(signing_key, bind, workers)
    # The server process's own records (a ledger sequencer restarted) are written safely too.
    install_safe_logging()
    serve(bind, workers)


def _serve_again_without(signing_key: str, bind: str | None, workers: int | None) -> None:
    """Start this server again in this process, the signing key out of its environment.

    A process's first environment stays in its memory, and in ``/proc/<pid>/environ``,
    which every forked worker would share; ``exec`` replaces both. The key goes on in an
    anonymous file whose descriptor only the sequencer processes keep (SPEC §13).
    """
    os.environ[config.LEDGER_KEY_FD] = str(config.ledger_key_descriptor(signing_key))
    command = [sys.executable, "-m", "service.cli", "serve"]
    command += ["--bind", bind] if bind else []
    command += ["--workers", str(workers)] if workers else []
    os.execv(sys.executable, command)  # noqa: S606 - this very command, without the key


@main.group()
def openapi() -> None:
    """The OpenAPI document."""


@openapi.command("write")
@click.argument("path", type=click.Path(dir_okay=False), default="openapi.yaml")
def openapi_write(path: str) -> None:
    """Write the OpenAPI document generated from the code to PATH."""
    from service import create_app
    from service.ledger.note import generate_signer_key, parse_signer_key, verifier_key
    from service.policy import load_policy

    # The document does not depend on the environment: build it from fixed settings.
    signer = parse_signer_key(generate_signer_key(config.DEFAULT_LEDGER_ORIGIN))
    app = create_app(config.Settings("sqlite://", b"-" * 32, load_policy(), verifier_key(signer)))
    with open(path, "w", encoding="utf-8") as file:
        file.write(app.extensions["jamkesda.openapi_yaml"])
    click.echo(f"wrote {path}")


main.add_command(import_command)
main.add_command(demo_command)
main.add_command(ledger_command)


if __name__ == "__main__":
    # ``python -m service.cli``: how ``jamkesda serve`` starts its ledger sequencer.
    main()
