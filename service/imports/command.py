"""``jamkesda import SOURCE FILE [--as-of YYYY-MM-DD] [--skip-invalid]``."""

from __future__ import annotations

import re
import sys
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from service import clock, config
from service.commands import EXIT_BAD_DATA, EXIT_USAGE, fail, unit_of_work
from service.config import ConfigError
from service.imports.importer import import_file
from service.imports.report import ImportRejected
from service.imports.sources import SOURCE_NAMES
from service.registry_key import RehashNeeded

WITA = ZoneInfo("Asia/Makassar")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _as_of(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date:
    """The ``--as-of`` date (default today in WITA); a bad or future date is bad usage."""
    today = clock.today(WITA)
    if value is None:
        return today
    try:
        # fromisoformat alone would also take other ISO forms such as 20261125.
        if not _ISO_DATE.fullmatch(value):
            raise ValueError(value)
        as_of = date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date written YYYY-MM-DD") from None
    # A future date would put the file in force over every real import until that day.
    if as_of > today:
        raise click.BadParameter(f"{value} is in the future (today is {today} in WITA)")
    return as_of


@click.command("import")
@click.argument("source", type=click.Choice(SOURCE_NAMES, case_sensitive=False))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--as-of",
    "as_of",
    callback=_as_of,
    metavar="YYYY-MM-DD",
    help="The date the file describes (default: today in WITA).",
)
@click.option("--skip-invalid", is_flag=True, help="Import the good rows and report the bad ones.")
def import_command(source: str, file: Path, as_of: date, skip_invalid: bool) -> None:
    """Import a population, Jamkesda, JKN or facility list (CSV); every row is checked first."""
    try:
        hash_key = config.nik_hash_key()
        with unit_of_work() as session:
            result = import_file(
                session, source.lower(), file, as_of, skip_invalid, hash_key=hash_key
            )
    except (ConfigError, RehashNeeded) as exc:
        # Nothing was imported: the settings, not the file, must change (exit 2).
        fail(str(exc), EXIT_USAGE)
    except ImportRejected as exc:
        for line in exc.report_lines():
            click.echo(line, err=True)
        sys.exit(EXIT_BAD_DATA)
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}", EXIT_USAGE)
    for line in result.found.report_lines(prefix="skipped "):
        click.echo(line, err=True)
    for line in result.summary_lines():
        click.echo(line)
