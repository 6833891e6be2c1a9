"""The ledger as an independent RFC 6962 implementation sees it: Go's checksum database code.

``tests/interop/tlogcheck.go`` uses ``golang.org/x/mod/sumdb/note`` and ``sumdb/tlog``,
the code behind sum.golang.org, which shares nothing with ``service.ledger``. It checks
the signed checkpoints the API serves, rebuilds the tree from ``/v1/ledger/entries``, and
checks every inclusion and consistency proof. Our checkpoints carry a signed extension
line, ``time <Unix seconds>`` (SPEC §13): ``note.Open`` checks the signature over the
whole text, and the tree is read from the first three lines, since ``tlog.ParseTree``
takes only Go's own origin and exactly three lines. The checker is built from Debian's packages
``golang-go`` and ``golang-golang-x-mod-dev``; ``.ci/run`` installs them, so in CI this
test always runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from models import CheckRecord
from service.ledger.note import (
    Checkpoint,
    format_checkpoint,
    generate_signer_key,
    parse_checkpoint,
    parse_signer_key,
    sign_note,
)
from tests.audit_records import client_of
from tests.conftest import TEST_LEDGER_SIGNER, bearer
from tests.ledger_records import add_records, sequence_all

SOURCE = Path(__file__).resolve().parent / "interop" / "tlogcheck.go"
# Where Debian's golang-golang-x-mod-dev puts the module's sources (a GOPATH tree).
GOPATH = Path("/usr/share/gocode")
GO_PACKAGES = "golang-go golang-golang-x-mod-dev"


@pytest.fixture(scope="module")
def tlogcheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go checker, built once."""
    go = shutil.which("go")
    if go is None or not (GOPATH / "src/golang.org/x/mod/sumdb/tlog").is_dir():
        pytest.skip(f"needs Debian's {GO_PACKAGES} (.ci/run installs them)")
    folder = tmp_path_factory.mktemp("tlogcheck")
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": str(GOPATH),
        "GOCACHE": str(folder / "cache"),
    }
    binary = folder / "tlogcheck"
    subprocess.run([go, "build", "-o", str(binary), str(SOURCE)], env=env, check=True)
    return binary


def get(http: FlaskClient, keys: dict[str, str], path: str, **query: Any) -> Any:
    """GET a ledger path as the auditor; fail on anything but 200."""
    response = http.get(path, headers=bearer(keys["auditor"]), query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def references(http: FlaskClient, keys: dict[str, str]) -> dict[int, str]:
    """The reference of each sequenced record by leaf index, as the audit listing gives it."""
    items = get(http, keys, "/v1/audit/checks", limit=500).get_json()["items"]
    return {item["ledger"]["leaf_index"]: item["check_id"] for item in items if item["ledger"]}


def served(http: FlaskClient, keys: dict[str, str], earlier: str) -> dict[str, Any]:
    """Everything the checker needs, as the API serves it: key, checkpoints, leaves, proofs."""
    latest = get(http, keys, "/v1/ledger/checkpoint").get_data(as_text=True)
    size, old_size = parse_size(latest), parse_size(earlier)
    entries: list[str] = []
    while len(entries) < size:
        page = get(http, keys, "/v1/ledger/entries", start=len(entries), end=size).get_json()
        entries.extend(page["entries"])
    leaves = references(http, keys)
    inclusion = [
        get(
            http, keys, "/v1/ledger/proof/inclusion", check_id=leaves[index], tree_size=tree_size
        ).get_json()
        for tree_size in (old_size, size)
        for index in range(tree_size)
    ]
    consistency = [
        get(http, keys, "/v1/ledger/proof/consistency", first=first, second=size).get_json()
        for first in range(1, size + 1)
    ]
    return {
        "verifier_key": get(http, keys, "/v1/ledger/key").get_data(as_text=True),
        "earlier_checkpoint": earlier,
        "latest_checkpoint": latest,
        "entries": entries,
        "inclusion": inclusion,
        "consistency": consistency,
    }


def parse_size(checkpoint: str) -> int:
    """The tree size of a checkpoint note (its second line)."""
    return int(checkpoint.split("\n")[1])


def run(binary: Path, tmp_path: Path, document: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """Run the checker on ``document``."""
    path = tmp_path / "input.json"
    path.write_text(json.dumps(document))
    return subprocess.run([str(binary), str(path)], capture_output=True, text=True, check=False)


@pytest.fixture
def log(
    http: FlaskClient, keys: dict[str, str], engine: Engine, session: Session
) -> dict[str, Any]:
    """A log of 37 records with two checkpoints (sizes 13 and 37), as the API serves it."""
    desk = client_of(session, keys["desk"])
    add_records(session, desk, 13)
    sequence_all(engine)
    earlier = get(http, keys, "/v1/ledger/checkpoint").get_data(as_text=True)
    add_records(session, desk, 24, first=13)
    sequence_all(engine)
    return served(http, keys, earlier)


def test_go_sumdb_verifies_the_signatures_the_tree_and_every_proof(
    tlogcheck: Path, tmp_path: Path, log: dict[str, Any]
) -> None:
    result = run(tlogcheck, tmp_path, log)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == (
        "ok: 37 entries, checkpoints of size 13 and 37, 50 inclusion and 37 consistency proofs\n"
    )


def test_go_sumdb_rejects_a_changed_proof_hash(
    tlogcheck: Path, tmp_path: Path, log: dict[str, Any]
) -> None:
    proof = log["inclusion"][20]["proof"]
    proof[1] = proof[0]
    result = run(tlogcheck, tmp_path, log)
    assert result.returncode == 1
    assert "FAIL inclusion of leaf 7 in size 37" in result.stdout


def test_go_sumdb_rejects_a_checkpoint_signed_with_another_key(
    tlogcheck: Path, tmp_path: Path, log: dict[str, Any]
) -> None:
    latest = parse_checkpoint(log["latest_checkpoint"].split("\n\n")[0] + "\n")
    impostor = parse_signer_key(generate_signer_key(latest.origin))
    log["latest_checkpoint"] = sign_note(format_checkpoint(latest), impostor)
    result = run(tlogcheck, tmp_path, log)
    assert result.returncode == 1
    assert "FAIL latest checkpoint: note has no verifiable signatures" in result.stdout


def test_go_sumdb_rejects_a_checkpoint_whose_text_changed_under_its_signature(
    tlogcheck: Path, tmp_path: Path, log: dict[str, Any]
) -> None:
    origin, _size, rest = log["earlier_checkpoint"].split("\n", 2)
    log["earlier_checkpoint"] = f"{origin}\n12\n{rest}"
    result = run(tlogcheck, tmp_path, log)
    assert result.returncode == 1
    assert "FAIL earlier checkpoint: invalid signature for key" in result.stdout


def test_go_sumdb_sees_a_record_changed_in_the_database(
    tlogcheck: Path,
    tmp_path: Path,
    http: FlaskClient,
    keys: dict[str, str],
    engine: Engine,
    session: Session,
) -> None:
    desk = client_of(session, keys["desk"])
    ids = add_records(session, desk, 13)
    sequence_all(engine)
    earlier = get(http, keys, "/v1/ledger/checkpoint").get_data(as_text=True)
    add_records(session, desk, 3, first=13)
    sequence_all(engine)
    with engine.begin() as connection:
        connection.execute(
            update(CheckRecord).where(CheckRecord.id == ids[4]).values(decision="NOT_ELIGIBLE")
        )
    result = run(tlogcheck, tmp_path, served(http, keys, earlier))
    assert result.returncode == 1
    assert "FAIL the entries' root of size 13 differs from the signed checkpoint's" in result.stdout
    assert "FAIL the entries' root of size 16 differs" in result.stdout


def test_go_sumdb_signature_covers_the_time_line(
    tlogcheck: Path, tmp_path: Path, log: dict[str, Any]
) -> None:
    # SPEC §13: the signing time is an extension line after the root hash, which C2SP
    # allows; Go's note.Open checks the signature over it like over the rest of the text.
    text, _blank, signature = log["latest_checkpoint"].partition("\n\n")
    origin, size, root, time_line = text.split("\n")
    assert time_line.startswith("time ")
    seconds = int(time_line.removeprefix("time "))
    log["latest_checkpoint"] = f"{origin}\n{size}\n{root}\ntime {seconds - 86400}\n\n{signature}"
    result = run(tlogcheck, tmp_path, log)
    assert result.returncode == 1
    assert "FAIL latest checkpoint: invalid signature for key" in result.stdout


def test_go_checker_requires_the_time_line(
    tlogcheck: Path, tmp_path: Path, log: dict[str, Any]
) -> None:
    latest = parse_checkpoint(log["latest_checkpoint"].split("\n\n")[0] + "\n")
    without = Checkpoint(latest.origin, latest.size, latest.root)
    log["latest_checkpoint"] = sign_note(format_checkpoint(without), TEST_LEDGER_SIGNER)
    result = run(tlogcheck, tmp_path, log)
    assert result.returncode == 1
    assert "FAIL latest checkpoint: no signed line 'time <Unix seconds>'" in result.stdout
