"""``jamkesda demo``: load a synthetic Kukar data set once and create one API key per role."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import click
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from models import Client, Snapshot
from service import clock, config
from service.clients import Role, create_client
from service.commands import EXIT_BAD_DATA, EXIT_USAGE, fail, unit_of_work
from service.fhir.codes import NIK_SYSTEM
from service.imports import ImportRejected, ImportResult, import_file
from service.ledger.note import verifier_key
from service.policy import DEFAULT_VERSION
from service.synthetic import MIN_RESIDENTS, SOURCES, WITA, Dataset, Kind, write_dataset

BASE_URL = "http://127.0.0.1:8000"
DEFAULT_RESIDENTS = 20000
DEFAULT_SEED = 2026


@dataclass(frozen=True)
class DemoClient:
    """A client the demo created, with its key (shown once, never stored plain)."""

    id: int
    role: str
    name: str
    facility_code: str | None
    key: str


@dataclass(frozen=True)
class DemoResult:
    """What the demo loaded and the keys it created."""

    dataset: Dataset
    imports: tuple[ImportResult, ...]
    clients: tuple[DemoClient, ...]

    def client(self, role: Role) -> DemoClient:
        """The demo's client of ``role``."""
        return next(client for client in self.clients if client.role == role)


def _quiet(_message: str) -> None:
    """Report nothing."""


def run_demo(
    session: Session,
    folder: Path,
    residents: int,
    seed: int,
    hash_key: bytes,
    progress: Callable[[str], None] = _quiet,
) -> DemoResult:
    """Write the synthetic files into ``folder``, import them as of today, create the clients.

    ``hash_key`` is NIK_HASH_KEY, which the imports hash the NIKs under. The caller
    commits. Raises ``ImportRejected`` if a generated file does not import.
    """
    today = clock.today(WITA)
    progress(f"writing {residents} synthetic residents (seed {seed}) ...")
    dataset = write_dataset(folder, residents, seed, today)
    imports = []
    for source in SOURCES:
        progress(f"importing {source} ...")
        file = dataset.files[source]
        imports.append(import_file(session, source, file, today, hash_key=hash_key))
    puskesmas = next(f for f in dataset.facilities if f.kind == "PUSKESMAS")
    hospital = next(f for f in dataset.facilities if f.kind == "RUMAH_SAKIT")
    wanted = (
        (Role.DESK, f"Demo SIMPUS {puskesmas.name}", puskesmas.code),
        (Role.INTEGRATION, f"Demo SIMRS {hospital.name}", hospital.code),
        (Role.AUDITOR, "Demo auditor (Ombudsman RI Kalimantan Timur)", None),
        (Role.ADMIN, "Demo operator (Dinas Kesehatan Kukar)", None),
    )
    clients = []
    for role, name, facility_code in wanted:
        client, key = create_client(session, name, role, facility_code)
        clients.append(DemoClient(client.id, client.role, client.name, facility_code, key))
    return DemoResult(dataset, tuple(imports), tuple(clients))


def _loaded(result: DemoResult) -> list[str]:
    data = result.dataset
    seconds = sum(imported.seconds for imported in result.imports)
    active = data.jkn_active / data.people
    puskesmas = sum(facility.kind == "PUSKESMAS" for facility in data.facilities)
    return [
        f"Synthetic Kukar data loaded as of {data.today} (seed {data.seed}, "
        f"imported in {seconds:.1f} s):",
        f"  facilities  {len(data.facilities)}: {puskesmas} puskesmas and "
        f"{len(data.facilities) - puskesmas} hospitals",
        f"  population  {data.people} people in {data.families} families, "
        f"{data.villages} of Kukar's 237 villages",
        f"  jamkesda    {data.jamkesda_members} memberships",
        f"  jkn         {data.jkn_participants} participants, {data.jkn_active} active "
        f"({active:.0%} of the people)",
    ]


def _keys(result: DemoResult, where: Path | None) -> list[str]:
    if where is None:
        kept = "printed only, kept nowhere: copy them now"
    else:
        kept = f"kept in {where}, readable by you only"
    lines = [f"API keys, one per role ({kept}):"]
    for client in result.clients:
        bound = f", facility {client.facility_code}" if client.facility_code else ""
        lines.append(f"{client.role:<12} {client.key}   {client.name}{bound}")
    return lines


def _examples(result: DemoResult) -> list[str]:
    data = result.dataset
    lines = [
        f"Example NIKs and the answer expected on {data.today} "
        f"(bundled policy {DEFAULT_VERSION}; dates move on, answers may too):",
    ]
    for example in data.examples:
        reasons = f" ({', '.join(example.reasons)})" if example.reasons else ""
        lines.append(f"  {example.nik}  {example.outcome + reasons:<37} {example.kind.label}")
    return lines


def _curl(result: DemoResult) -> list[str]:
    niks = {example.kind: example.nik for example in result.dataset.examples}
    desk = result.client(Role.DESK).key
    post = (
        f"curl -s -X POST {BASE_URL}/v1/checks -H 'Authorization: Bearer {desk}' "
        "-H 'Content-Type: application/json' -d"
    )
    return [
        "Try it once the server runs (`make run`, or `jamkesda serve`):",
        f"""{post} '{{"nik": "{niks[Kind.ELIGIBLE]}"}}'""",
        f"""{post} '{{"nik": "{niks[Kind.MOVED_OUT]}"}}'""",
        f"""{post} '{{"nik": "{niks[Kind.RECENT_MOVER]}", "service_type": "emergency"}}'""",
        f"""{post} '{{"nik": "6402-0101-0190-0000"}}'   # a mistyped NIK: 422, recorded""",
    ]


def _integration(result: DemoResult) -> list[str]:
    """A batch and a FHIR $submit with the integration key, and the client library."""
    niks = {example.kind: example.nik for example in result.dataset.examples}
    hospital = result.client(Role.INTEGRATION).key
    headers = f"-H 'Authorization: Bearer {hospital}'"
    batch = {
        "checks": [
            {"nik": niks[Kind.ELIGIBLE], "external_ref": "RJ-0001"},
            {"nik": niks[Kind.MOVED_OUT], "service_type": "inpatient", "external_ref": "RI-0002"},
        ]
    }
    fhir = {
        "resourceType": "CoverageEligibilityRequest",
        "status": "active",
        "purpose": ["validation"],
        "created": result.dataset.today.isoformat(),
        "insurer": {"display": "Jamkesda Kabupaten Kutai Kartanegara"},
        "patient": {"identifier": {"system": NIK_SYSTEM, "value": niks[Kind.ELIGIBLE]}},
        "identifier": [{"value": "RJ-0003"}],
    }
    desk = result.client(Role.DESK).key
    return [
        "Hospital systems (the integration key): a batch, safe to retry with its key, and FHIR:",
        f"curl -s -X POST {BASE_URL}/v1/checks/batch {headers} "
        f"-H 'Content-Type: application/json' -H 'Idempotency-Key: demo-batch-1' "
        f"-d '{json.dumps(batch)}'",
        f"curl -s -X POST '{BASE_URL}/fhir/R4/CoverageEligibilityRequest/$submit' {headers} "
        f"-H 'Content-Type: application/fhir+json' -d '{json.dumps(fhir)}'",
        "The client library (pip install ./client), at a terminal:",
        f"jamkesda-check {niks[Kind.ELIGIBLE]} --url {BASE_URL} --key {desk}",
    ]


def _ledger(result: DemoResult, verifier: str) -> list[str]:
    auditor = result.client(Role.AUDITOR).key
    return [
        "The ledger (every check, in a signed transparency log); its verifier key:",
        f"  {verifier}",
        f"curl -s {BASE_URL}/v1/ledger/checkpoint -H 'Authorization: Bearer {auditor}'",
    ]


def _pages() -> list[str]:
    """Where the web pages are, for people who do not use curl."""
    return [
        "In a browser (paste the key of the role once):",
        f"  {BASE_URL}/console/   the Ombudsman's console (auditor key)",
        f"  {BASE_URL}/desk/      the desk page and its printable slip (desk key)",
        f"  {BASE_URL}/r/<reference>   the patient's receipt (the full NIK unlocks it)",
    ]


def render(result: DemoResult, where: Path | None, verifier: str) -> str:
    """The text the demo prints (and keeps in ``where``): data, keys, examples, curl, ledger."""
    parts = (
        _loaded(result),
        _keys(result, where),
        _examples(result),
        _curl(result),
        _integration(result),
        _ledger(result, verifier),
        _pages(),
    )
    return "\n\n".join("\n".join(lines) for lines in parts) + "\n"


def key_file(env: Mapping[str, str] = os.environ) -> Path | None:
    """Where the demo keeps its text: ``instance/demo.txt`` for the SQLite default, or nowhere.

    The file exists for ``make run``, which serves only the embedded default and shows the
    file again on its next run; it sits in the owner-only instance folder beside the
    database whose keys it holds. Any other database (PostgreSQL, another SQLite file, one
    in memory) gets no file: its keys are printed only, as ``jamkesda clients create``
    prints its key, and never written into the project's folder (site-packages for a normal
    install) nor over ``make run``'s file.
    """
    url = make_url(config.database_url(env))
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    default = config.instance_dir(env).resolve() / config.DEFAULT_DATABASE_FILE
    if Path(url.database).resolve() != default:
        return None
    return default.parent / "demo.txt"


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable and writable by the owner only (mode 0600).

    The text goes to a new file that ``mkstemp`` creates 0600 (never a moment readable by
    others), which then replaces ``path``: an older file of another mode, or a link put in
    its place, is replaced, not written through.
    """
    folder = config.private_folder(path.parent)
    descriptor, written = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(written, path)
    except BaseException:
        Path(written).unlink(missing_ok=True)
        raise


def found_in(session: Session) -> str | None:
    """What the database holds that the demo must not load into unasked, or None if empty.

    Any API client or any import (of any source) means the database is in use: the demo
    would put synthetic residents in force and create auditor and admin keys there.
    """
    clients = session.scalar(select(func.count()).select_from(Client)) or 0
    imports = session.scalar(select(func.count()).select_from(Snapshot)) or 0
    if not clients and not imports:
        return None
    held = [
        f"{count} {noun}{'' if count == 1 else 's'}"
        for count, noun in ((clients, "API client"), (imports, "import"))
        if count
    ]
    return " and ".join(held)


def _refuse(found: str, where: Path | None) -> NoReturn:
    """Stop with exit 2, saying what the database holds and how to load the demo anyway."""
    kept = f"kept in {where}" if where else "printed when it ran"
    # The SQLite default is ``make run``'s, which starts over from an empty folder.
    over = f" To start over, delete {where.parent}." if where else ""
    fail(
        f"the database already holds {found}; the demo loads synthetic residents and "
        "creates keys (admin and auditor too) only into an empty database. If the demo "
        f"loaded it, its keys were {kept}; create more with `jamkesda clients create`."
        f"{over} To load the demo into this database anyway, run `jamkesda demo --force`.",
        EXIT_USAGE,
    )


def _progress(message: str) -> None:
    click.echo(message, err=True)


@click.command("demo")
@click.option(
    "--residents",
    type=click.IntRange(min=MIN_RESIDENTS),
    default=DEFAULT_RESIDENTS,
    show_default=True,
    help="How many synthetic people to load (Kukar has about 807,000).",
)
@click.option(
    "--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Seed of the generator."
)
@click.option(
    "--force",
    is_flag=True,
    help="Load even into a database that has API clients or imports (never in production).",
)
def demo_command(residents: int, seed: int, force: bool) -> None:
    """Load a synthetic Kukar data set into an empty database and create one key per role."""
    where = key_file()
    try:
        verifier = verifier_key(config.ledger_signer())
        hash_key = config.nik_hash_key()
    except config.ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    try:
        with unit_of_work() as session:
            found = found_in(session)
            if found and not force:
                _refuse(found, where)
            with tempfile.TemporaryDirectory(prefix="jamkesda-demo-") as folder:
                result = run_demo(session, Path(folder), residents, seed, hash_key, _progress)
    except ImportRejected as exc:
        for line in exc.report_lines():
            click.echo(line, err=True)
        fail("a synthetic file was rejected; nothing was loaded", EXIT_BAD_DATA)
    text = render(result, where, verifier)
    if where is not None:
        write_private(where, text)
    click.echo(text, nl=False)
