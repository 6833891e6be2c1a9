"""The Ombudsman's stand-alone verifier, run as they run it, against a faithful ledger API.

The API here is a fake of SPEC §5 "Ledger API" served over HTTP on loopback: a log kept
as the service keeps it (stored complete-subtree hashes, ``service.ledger.merkle``) and
checkpoints signed by ``service.ledger.note``. Tampering is done the way an operator with
database access would: a record's bytes change while the hashes logged earlier stay, or
the whole log is rebuilt and signed again.
"""

from __future__ import annotations

import ast
import base64
import importlib.util
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from service.check_ids import InvalidCheckId, new_check_id, parse_check_id
from service.ledger import merkle
from service.ledger.leaf import encode_leaf
from service.ledger.note import (
    Checkpoint,
    InvalidNote,
    Signer,
    format_checkpoint,
    generate_signer_key,
    parse_checkpoint,
    parse_signer_key,
    sign_note,
    verifier_key,
    verify_note,
)

SCRIPT = Path(__file__).resolve().parent.parent / "docs" / "ombudsman" / "verify_ledger.py"
ORIGIN = "kukar.example/jamkesda-ledger"
SIGNER = parse_signer_key(generate_signer_key(ORIGIN))
# Another key under the same name: what a forger without the signing key would use.
IMPOSTOR = parse_signer_key(generate_signer_key(ORIGIN))
VERIFIER_KEY = verifier_key(SIGNER)
AUDITOR_KEY = "test-auditor-key-" + secrets.token_hex(16)
DECIDED = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
# A real checkpoint of sum.golang.org under the key the go command trusts.
SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_NOTE = (
    "go.sum database tree\n13485\n/ZWur4obeiqK+ASdnPK+/Rmz6LPQMUeSmHh0+UkL54Y=\n\n"
    "— sum.golang.org Az3grnQReYTvpCrRxT+w50vixbqBlB/aPS8bL8f8KW4HHP+UjLSXOJgCh4f54n8"
    "hO6lrESglzyRXMXnhaWzaeY3zqw8=\n"
)


def record_leaf(number: int, decided_at: datetime | None = None) -> bytes:
    """The leaf of a refused check with random pseudonymised values, as the service logs it."""
    return encode_leaf(
        {
            "id": number + 1,
            "check_id": new_check_id(),
            "decided_at": decided_at or DECIDED + timedelta(seconds=number),
            "nik_hash": secrets.token_hex(32),
            "nik_masked": "6402**********01",
            "facility_code": "1040001",
            "client_id": 3,
            "operator_id": f"desk-{secrets.token_hex(3)}",
            "channel": "api",
            "service_date": date(2026, 3, 3),
            "service_type": "outpatient",
            "external_ref": None,
            "name_match": "NOT_PROVIDED",
            "birth_date_match": "NOT_PROVIDED",
            "decision": "NOT_ELIGIBLE",
            "reasons": ["NOT_RESIDENT"],
            "coverage": None,
            "errors": None,
            "policy_version": "kukar-2025.1",
            "population_snapshot_id": 5,
            "jamkesda_snapshot_id": 6,
            "jkn_snapshot_id": None,
            "latency_ms": 12.5,
            "batch_id": None,
        }
    )


def record_leaves(count: int) -> list[bytes]:
    """Leaves of ``count`` distinct checks."""
    return [record_leaf(number) for number in range(count)]


def tampered(entry: bytes) -> bytes:
    """The record as an operator edited it in the database: the refusal turned into a grant."""
    changed = entry.replace(b'"decision":"NOT_ELIGIBLE"', b'"decision":"ELIGIBLE"')
    assert changed != entry
    return changed


def check_id_of(entry: bytes) -> str:
    """The reference of the check a leaf records."""
    return str(json.loads(entry)["check_id"])


class FakeLedger:
    """The log as the service keeps it: records, stored hashes, the latest signed checkpoint."""

    def __init__(self, entries: Sequence[bytes] = (), signer: Signer = SIGNER) -> None:
        """A log of these entries, signed at its full size."""
        self.signer = signer
        self.served_key = verifier_key(signer)
        # What /entries serves: the records as they are now, which an operator may edit.
        self.entries: list[bytes] = []
        # The hashes logged when each record was sequenced; the log never rewrites them.
        self.hashes: list[bytes] = []
        self.positions: dict[str, int] = {}
        self.page_limit = 7
        # Indexes whose record was deleted: the service cannot serve them (409).
        self.unservable: set[int] = set()
        self.size = 0
        self.checkpoint = ""
        for entry in entries:
            self.append(entry)
        self.sign()

    def append(self, entry: bytes) -> None:
        """Sequence one record."""
        index = len(self.entries)
        self.hashes += merkle.stored_hashes(index, merkle.leaf_hash(entry), self.read_hashes)
        self.entries.append(entry)
        self.positions[check_id_of(entry)] = index

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        """The stored hashes at these indexes."""
        return [self.hashes[index] for index in indexes]

    def sign(self, seconds: int | None = None) -> str:
        """Sign a checkpoint of everything sequenced so far (with a time line if given)."""
        self.size = len(self.entries)
        root = merkle.tree_hash(self.size, self.read_hashes)
        extensions = () if seconds is None else (f"time {seconds}",)
        self.checkpoint = sign_note(
            format_checkpoint(Checkpoint(ORIGIN, self.size, root, extensions)), self.signer
        )
        return self.checkpoint

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, str, bytes]:
        """Status, content type and body of GET ``path`` by an auditor."""
        try:
            if path == "/v1/ledger/checkpoint":
                return 200, "text/plain; charset=utf-8", self.checkpoint.encode()
            if path == "/v1/ledger/key":
                return 200, "text/plain; charset=utf-8", f"{self.served_key}\n".encode()
            if path == "/v1/ledger/proof/inclusion":
                return self.inclusion(parse_check_id(query["check_id"]), int(query["tree_size"]))
            if path == "/v1/ledger/proof/consistency":
                return self.consistency(int(query["first"]), int(query["second"]))
            if path == "/v1/ledger/entries":
                return self.page(int(query["start"]), int(query["end"]))
        except InvalidCheckId as error:
            return problem(422, str(error), "INVALID_CHECK_ID")
        except (KeyError, ValueError) as error:
            return problem(422, f"bad parameter: {error}")
        return problem(404, "no such endpoint", "NOT_FOUND")

    def inclusion(self, check_id: str, tree_size: int) -> tuple[int, str, bytes]:
        """The inclusion proof of a check in the tree of ``tree_size`` entries."""
        if not 0 < tree_size <= self.size:
            return problem(422, "tree_size is outside the latest checkpoint", "OUTSIDE_CHECKPOINT")
        index = self.positions.get(check_id)
        if index is None:
            return problem(404, "no check with this reference", "CHECK_NOT_FOUND")
        if index >= tree_size:
            return problem(422, "the check is not in the tree of this size", "NOT_IN_TREE")
        proof = merkle.inclusion_proof(index, tree_size, self.read_hashes)
        return as_json(
            {
                "leaf_index": index,
                "tree_size": tree_size,
                "leaf_hash": b64(self.read_hashes([merkle.stored_hash_index(0, index)])[0]),
                "proof": [b64(hash_) for hash_ in proof],
            }
        )

    def consistency(self, first: int, second: int) -> tuple[int, str, bytes]:
        """The consistency proof between two sizes within the latest checkpoint."""
        if not 0 < first <= second <= self.size:
            return problem(422, "sizes outside the latest checkpoint", "OUTSIDE_CHECKPOINT")
        proof = merkle.consistency_proof(first, second, self.read_hashes)
        return as_json({"first": first, "second": second, "proof": [b64(h) for h in proof]})

    def page(self, start: int, end: int) -> tuple[int, str, bytes]:
        """Entries from ``start``, fewer than asked, as a server may answer."""
        if not 0 <= start < end <= self.size or end - start > 1000:
            return problem(422, "range outside the latest checkpoint", "OUTSIDE_CHECKPOINT")
        if start in self.unservable:
            return problem(409, f"entry {start}: its check record was deleted", "ENTRY_UNAVAILABLE")
        stop = min([end, start + self.page_limit, *(i for i in self.unservable if i > start)])
        return as_json({"entries": [b64(entry) for entry in self.entries[start:stop]]})


def b64(value: bytes) -> str:
    """Standard base64."""
    return base64.b64encode(value).decode()


def as_json(body: dict[str, Any]) -> tuple[int, str, bytes]:
    """A 200 answer in JSON."""
    return 200, "application/json", json.dumps(body).encode()


def problem(status: int, detail: str, code: str = "INVALID_FILTER") -> tuple[int, str, bytes]:
    """An RFC 9457 problem answer with the service's machine code."""
    body = {"type": "about:blank", "title": "Error", "status": status, "detail": detail}
    body["code"] = code
    return status, "application/problem+json", json.dumps(body).encode()


class LedgerApi:
    """A loopback HTTP server answering the ledger endpoints from ``ledger``."""

    def __init__(self, ledger: FakeLedger) -> None:
        """Serve ``ledger`` until ``close``; tests may swap the ledger in between."""
        self.ledger = ledger
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                """Answer one request, refusing any key but the auditor's."""
                url = urlsplit(self.path)
                query = {name: values[-1] for name, values in parse_qs(url.query).items()}
                if self.headers.get("Authorization") != f"Bearer {AUDITOR_KEY}":
                    status, kind, body = problem(401, "missing or unknown API key")
                else:
                    status, kind, body = api.ledger.answer(url.path, query)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Keep the test output quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def api() -> Iterator[LedgerApi]:
    """The ledger API of a log of 20 checks."""
    served = LedgerApi(FakeLedger(record_leaves(20)))
    yield served
    served.close()


def verify(
    api_url: str,
    folder: Path,
    *options: str,
    key: str | None = AUDITOR_KEY,
    verifier: str = VERIFIER_KEY,
    environment: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the verifier as the Ombudsman would, in its own folder; the key never shows."""
    env = {name: value for name, value in os.environ.items() if name != "JAMKESDA_AUDITOR_KEY"}
    env.pop("PYTHONPATH", None)
    env.update(environment or {})
    arguments = [sys.executable, str(SCRIPT), "--api", api_url, "--verifier-key", verifier]
    if key is not None:
        (folder / "auditor.key").write_text(f"{key}\n")
        arguments += ["--key-file", str(folder / "auditor.key")]
    result = subprocess.run(
        [*arguments, *options], capture_output=True, text=True, cwd=folder, env=env, timeout=120
    )
    assert AUDITOR_KEY not in result.stdout + result.stderr
    return result


def kept(folder: Path, note: str, name: str = "kept.txt") -> str:
    """A checkpoint the auditor kept from an earlier day."""
    (folder / name).write_bytes(note.encode())
    return str(folder / name)


def test_honest_growth_from_a_kept_checkpoint_verifies(api: LedgerApi, tmp_path: Path) -> None:
    first = verify(api.url, tmp_path, "--save-checkpoint", "kept.txt")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "nothing is proven about the log's past" in first.stdout
    assert (tmp_path / "kept.txt").read_bytes() == api.ledger.checkpoint.encode()
    for entry in record_leaves(17):
        api.ledger.append(entry)
    api.ledger.sign()
    second = verify(
        api.url, tmp_path, "--checkpoint", "kept.txt", "--save-checkpoint", "kept.txt", "--entries"
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert (
        "the current log starts with the 20 entries of your kept checkpoint, unchanged"
        in second.stdout
    )
    assert (
        "recomputed the root from the bytes of every entry (37 entries): it matches"
        in second.stdout
    )
    assert "VERIFIED" in second.stdout
    assert (tmp_path / "kept.txt").read_bytes() == api.ledger.checkpoint.encode()
    third = verify(api.url, tmp_path, "--checkpoint", "kept.txt")
    assert third.returncode == 0, third.stdout + third.stderr
    assert "unchanged since your kept checkpoint (37 entries)" in third.stdout


def test_kept_checkpoint_of_the_empty_log_verifies(api: LedgerApi, tmp_path: Path) -> None:
    api.ledger = FakeLedger()
    empty = kept(tmp_path, api.ledger.checkpoint)
    for entry in record_leaves(5):
        api.ledger.append(entry)
    api.ledger.sign()
    result = verify(api.url, tmp_path, "--checkpoint", empty, "--entries")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the empty log, which every log extends" in result.stdout


@pytest.mark.parametrize("index", [0, 13, 19, 36])
def test_changed_entry_is_named_by_its_index(api: LedgerApi, tmp_path: Path, index: int) -> None:
    earlier = kept(tmp_path, api.ledger.checkpoint)
    for entry in record_leaves(17):
        api.ledger.append(entry)
    api.ledger.sign()
    api.ledger.entries[index] = tampered(api.ledger.entries[index])
    result = verify(
        api.url, tmp_path, "--checkpoint", earlier, "--entries", "--save-checkpoint", earlier
    )
    assert result.returncode == 1, result.stdout + result.stderr
    # The logged hashes were not touched, so the log itself is still consistent.
    assert (
        "the current log starts with the 20 entries of your kept checkpoint, unchanged"
        in result.stdout
    )
    assert f"FAIL  entry index {index}, check {check_id_of(api.ledger.entries[index])}" in (
        result.stdout
    )
    assert "NOT VERIFIED" in result.stdout
    assert Path(earlier).read_bytes() != api.ledger.checkpoint.encode()


def test_entry_the_service_cannot_serve_is_named_by_its_index(
    api: LedgerApi, tmp_path: Path
) -> None:
    earlier = kept(tmp_path, api.ledger.checkpoint)
    api.ledger.unservable.add(9)
    result = verify(api.url, tmp_path, "--checkpoint", earlier, "--entries")
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "FAIL  entry index 9: the API cannot serve it (the API answered HTTP 409 "
        "ENTRY_UNAVAILABLE to /v1/ledger/entries: entry 9: its check record was deleted)"
    ) in result.stdout
    assert "NOT VERIFIED" in result.stdout


def test_rewritten_history_fails_the_consistency_proof(api: LedgerApi, tmp_path: Path) -> None:
    earlier = kept(tmp_path, api.ledger.checkpoint)
    rewritten = list(api.ledger.entries)
    rewritten[5] = tampered(rewritten[5])
    api.ledger = FakeLedger(rewritten + record_leaves(10))
    result = verify(api.url, tmp_path, "--checkpoint", earlier, "--entries")
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "inconsistent log: the current log of 30 entries does not extend your kept checkpoint "
        "of 20 entries"
    ) in result.stdout
    # The rebuilt log is internally sound: only the kept checkpoint reveals the rewrite.
    assert (
        "recomputed the root from the bytes of every entry (30 entries): it matches"
        in result.stdout
    )


def test_rewritten_history_is_named_against_kept_entries(api: LedgerApi, tmp_path: Path) -> None:
    saved = verify(api.url, tmp_path, "--save-checkpoint", "kept.txt", "--save-entries", "kept.b64")
    assert saved.returncode == 0, saved.stdout + saved.stderr
    assert len((tmp_path / "kept.b64").read_text().splitlines()) == 20
    rewritten = list(api.ledger.entries)
    rewritten[5] = tampered(rewritten[5])
    api.ledger = FakeLedger(rewritten + record_leaves(10))
    result = verify(api.url, tmp_path, "--checkpoint", "kept.txt", "--kept-entries", "kept.b64")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL  entry index 5: differs from your kept copy of the entries" in result.stdout


def test_same_size_with_another_root_is_inconsistent(api: LedgerApi, tmp_path: Path) -> None:
    earlier = kept(tmp_path, api.ledger.checkpoint)
    api.ledger = FakeLedger([tampered(api.ledger.entries[0]), *api.ledger.entries[1:]])
    result = verify(api.url, tmp_path, "--checkpoint", earlier)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "both have 20 entries but different roots" in result.stdout


def test_truncated_log_fails(api: LedgerApi, tmp_path: Path) -> None:
    for entry in record_leaves(10):
        api.ledger.append(entry)
    earlier = kept(tmp_path, api.ledger.sign())
    api.ledger = FakeLedger(api.ledger.entries[:20])
    result = verify(api.url, tmp_path, "--checkpoint", earlier)
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "the log was truncated: your kept checkpoint has 30 entries, the current one only 20"
    ) in result.stdout


def test_checkpoint_signed_by_another_key_fails(api: LedgerApi, tmp_path: Path) -> None:
    earlier = kept(tmp_path, api.ledger.checkpoint)
    api.ledger = FakeLedger(api.ledger.entries + record_leaves(3), signer=IMPOSTOR)
    result = verify(api.url, tmp_path, "--checkpoint", earlier)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL  bad signature or form of the current checkpoint" in result.stdout
    assert "carries no signature by your key" in result.stdout
    assert "WARNING" in result.stderr
    assert f"serves the verifier key {verifier_key(IMPOSTOR)}" in result.stderr


def test_checkpoint_altered_after_signing_fails(api: LedgerApi, tmp_path: Path) -> None:
    root = b64(merkle.tree_hash(20, api.ledger.read_hashes))
    api.ledger.checkpoint = api.ledger.checkpoint.replace(root, b64(merkle.leaf_hash(b"x")))
    result = verify(api.url, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"the signature by {ORIGIN} does not verify" in result.stdout


def test_announced_key_change_keeps_the_kept_checkpoint_usable(
    api: LedgerApi, tmp_path: Path
) -> None:
    earlier = kept(tmp_path, api.ledger.checkpoint)
    successor = parse_signer_key(generate_signer_key(ORIGIN))
    api.ledger.signer = successor
    api.ledger.served_key = verifier_key(successor)
    for entry in record_leaves(4):
        api.ledger.append(entry)
    api.ledger.sign()
    without = verify(api.url, tmp_path, "--checkpoint", earlier, verifier=verifier_key(successor))
    assert without.returncode == 2, without.stdout + without.stderr
    result = verify(
        api.url,
        tmp_path,
        "--checkpoint",
        earlier,
        "--kept-verifier-key",
        VERIFIER_KEY,
        verifier=verifier_key(successor),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the current log starts with the 20 entries of your kept checkpoint" in result.stdout


def test_served_key_change_is_warned_even_when_checkpoints_verify(
    api: LedgerApi, tmp_path: Path
) -> None:
    api.ledger.served_key = verifier_key(IMPOSTOR)
    result = verify(api.url, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" in result.stderr
    assert "not the key you kept" in result.stderr


def test_wrong_auditor_key_exits_2_with_a_clear_message(api: LedgerApi, tmp_path: Path) -> None:
    result = verify(api.url, tmp_path, key="not-the-auditor-key")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "the API refused the auditor key (HTTP 401)" in result.stderr
    assert "not-the-auditor-key" not in result.stdout + result.stderr


def test_auditor_key_may_come_from_the_environment(api: LedgerApi, tmp_path: Path) -> None:
    result = verify(api.url, tmp_path, key=None, environment={"JAMKESDA_AUDITOR_KEY": AUDITOR_KEY})
    assert result.returncode == 0, result.stdout + result.stderr


def test_unreachable_api_exits_2(tmp_path: Path) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    result = verify(f"http://127.0.0.1:{port}", tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "cannot reach the API" in result.stderr


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ((), "no auditor key"),
        (("--checkpoint", "missing.txt"), "cannot read the kept checkpoint missing.txt"),
        (("--api", "ftp://host"), "--api must be an address"),
    ],
)
def test_bad_usage_exits_2(
    api: LedgerApi, tmp_path: Path, options: tuple[str, ...], message: str
) -> None:
    result = verify(api.url, tmp_path, *options, key=None if not options else AUDITOR_KEY)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr


def test_malformed_verifier_key_exits_2(api: LedgerApi, tmp_path: Path) -> None:
    damaged = verifier_key(SIGNER)[:-6] + "AAAAA="
    result = verify(api.url, tmp_path, verifier=damaged)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "the verifier key is unusable" in result.stderr


def test_kept_checkpoint_of_another_key_exits_2(api: LedgerApi, tmp_path: Path) -> None:
    other = kept(tmp_path, FakeLedger(signer=IMPOSTOR).checkpoint)
    result = verify(api.url, tmp_path, "--checkpoint", other)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "does not verify with your verifier key" in result.stderr


def test_check_is_proven_to_be_in_the_log(api: LedgerApi, tmp_path: Path) -> None:
    check_id = check_id_of(api.ledger.entries[12])
    typed = check_id.lower().replace("-", "")
    result = verify(api.url, tmp_path, "--check-id", typed)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"OK    check {check_id} is entry index 12 of the signed log" in result.stdout
    assert "decision NOT_ELIGIBLE" in result.stdout


def test_changed_check_fails_its_inclusion_check(api: LedgerApi, tmp_path: Path) -> None:
    check_id = check_id_of(api.ledger.entries[12])
    api.ledger.entries[12] = tampered(api.ledger.entries[12])
    result = verify(api.url, tmp_path, "--check-id", check_id)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"FAIL  entry index 12 (check {check_id}): its bytes as served now" in result.stdout


def test_check_missing_from_the_log_fails(api: LedgerApi, tmp_path: Path) -> None:
    result = verify(api.url, tmp_path, "--check-id", new_check_id())
    assert result.returncode == 1, result.stdout + result.stderr
    assert "is not in the signed log of 20 entries" in result.stdout
    assert "CHECK_NOT_FOUND" in result.stdout


def test_check_not_yet_in_a_checkpoint_fails(api: LedgerApi, tmp_path: Path) -> None:
    late = record_leaf(20)
    api.ledger.append(late)
    result = verify(api.url, tmp_path, "--check-id", check_id_of(late))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "is not in the signed log of 20 entries" in result.stdout
    assert "NOT_IN_TREE" in result.stdout
    assert "run again later" in result.stdout


def test_mistyped_check_id_exits_2(api: LedgerApi, tmp_path: Path) -> None:
    result = verify(api.url, tmp_path, "--check-id", "K7QM-3XD9-2F4B")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "INVALID_CHECK_ID" in result.stderr


# The script's own RFC 9162 and signed-note code, against the service's.


@pytest.fixture(scope="module")
def script() -> Iterator[ModuleType]:
    """The verifier script as a module, registered while the tests use it (dataclasses ask)."""
    spec = importlib.util.spec_from_file_location("verify_ledger", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def flips(proof: list[bytes]) -> Iterator[list[bytes]]:
    """The proof with one bit changed in each element in turn, one element left off, one added."""
    for position in range(len(proof)):
        changed = bytearray(proof[position])
        changed[position % 32] ^= 1
        yield [*proof[:position], bytes(changed), *proof[position + 1 :]]
    if proof:
        yield proof[:-1]
    yield [*proof, merkle.leaf_hash(b"extra")]


def holds(check: Any, *arguments: Any) -> bool:
    """Whether a verification function accepts its arguments."""
    try:
        check(*arguments)
    except ValueError:
        return False
    return True


def test_script_hashing_agrees_with_the_service(script: ModuleType) -> None:
    leaves = [merkle.leaf_hash(entry) for entry in record_leaves(33)]
    assert script.leaf_hash(b"entry") == merkle.leaf_hash(b"entry")
    for size in range(34):
        assert script.root_of(leaves[:size]) == merkle.root_hash(leaves[:size])


def test_script_proof_checks_agree_with_the_service(script: ModuleType) -> None:
    ledger = FakeLedger(record_leaves(21))
    leaves = [merkle.leaf_hash(entry) for entry in ledger.entries]
    roots = [merkle.tree_hash(size, ledger.read_hashes) for size in range(22)]
    for size in range(1, 22):
        for index in range(size):
            proof = merkle.inclusion_proof(index, size, ledger.read_hashes)
            args = (leaves[index], index, size, proof, roots[size])
            assert holds(script.verify_inclusion, *args)
            for wrong in flips(proof):
                args = (leaves[index], index, size, wrong, roots[size])
                assert not holds(script.verify_inclusion, *args)
                assert not holds(merkle.verify_inclusion, *args)
        for first in range(1, size + 1):
            proof = merkle.consistency_proof(first, size, ledger.read_hashes)
            assert holds(script.verify_consistency, first, size, proof, roots[first], roots[size])
            for wrong in flips(proof):
                pair = (first, size, wrong, roots[first], roots[size])
                assert not holds(script.verify_consistency, *pair)
                assert not holds(merkle.verify_consistency, *pair)
            assert not holds(
                script.verify_consistency, first, size, proof, roots[first - 1], roots[size]
            )


def test_script_opens_the_notes_the_service_signs(script: ModuleType) -> None:
    root = merkle.leaf_hash(b"root")
    note = sign_note(format_checkpoint(Checkpoint(ORIGIN, 7, root, ("ext",))), SIGNER)
    key = script.parse_verifier_key(verifier_key(SIGNER))
    assert str(key) == verifier_key(SIGNER)
    opened = script.open_checkpoint(note.encode(), key)
    assert (opened.origin, opened.size, opened.root) == (ORIGIN, 7, root)
    sumdb = script.open_checkpoint(SUMDB_NOTE.encode(), script.parse_verifier_key(SUMDB_VKEY))
    assert (sumdb.origin, sumdb.size) == ("go.sum database tree", 13485)


@pytest.mark.parametrize(
    "note",
    [
        "origin\n7\nROOT\n\n",
        "origin\n07\nROOT\n\nSIG",
        "origin\n7\n\nSIG",
        "origin\n7\nROOT\n\nSIG\n\nSIG",
        "origin\n7\nROOT\n\n– name AAAA\nSIG",
        "origin\n7\nROOT\n\nSIG\n— other AAAA",
        "origin\n7\nROOT\r\n\nSIG",
    ],
)
def test_script_refuses_the_notes_the_service_refuses(script: ModuleType, note: str) -> None:
    root = b64(merkle.leaf_hash(b"root"))
    text = f"{ORIGIN}\n7\n{root}\n"
    signature = sign_note(text, SIGNER)[len(text) + 1 : -1]
    damaged = note.replace("origin", ORIGIN).replace("ROOT", root).replace("SIG", signature)
    damaged += "\n"
    with pytest.raises(InvalidNote):
        verify_note(damaged, verifier_key(SIGNER))
    with pytest.raises(script.InvalidProof):
        script.open_checkpoint(damaged.encode(), script.parse_verifier_key(verifier_key(SIGNER)))


@pytest.mark.parametrize(
    "text",
    [
        "origin\n07\nROOT\n",
        "origin\n+7\nROOT\n",
        "origin\n\u0667\nROOT\n",
        "origin\n7\n",
        "origin\n7\nAAAA\n",
        "origin\n7\nNONCANONICAL\n",
    ],
)
def test_script_refuses_the_checkpoints_the_service_refuses(script: ModuleType, text: str) -> None:
    root = b64(merkle.leaf_hash(b"root"))
    # The last character before the padding carries two unused bits; set them.
    noncanonical = root[:-2] + chr(ord(root[-2]) + 1) + "="
    assert base64.b64decode(noncanonical) == base64.b64decode(root)
    text = text.replace("origin", ORIGIN).replace("NONCANONICAL", noncanonical)
    note = sign_note(text.replace("ROOT", root), SIGNER)
    with pytest.raises(InvalidNote):
        parse_checkpoint(verify_note(note, VERIFIER_KEY))
    with pytest.raises(script.InvalidProof):
        script.open_checkpoint(note.encode(), script.parse_verifier_key(VERIFIER_KEY))


def test_script_refuses_an_empty_log_with_another_root(script: ModuleType) -> None:
    note = sign_note(f"{ORIGIN}\n0\n{b64(merkle.leaf_hash(b'root'))}\n", SIGNER)
    with pytest.raises(script.InvalidProof, match="empty log"):
        script.open_checkpoint(note.encode(), script.parse_verifier_key(VERIFIER_KEY))


def test_script_imports_only_the_standard_library_requests_and_cryptography() -> None:
    tree = ast.parse(SCRIPT.read_text())
    imported = {
        name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
        )
    }
    assert imported - set(sys.stdlib_module_names) == {"requests", "cryptography"}


# Time is bound in the ledger (SPEC §13): a leaf forged into the log with an old decision
# time, past the sequencer's quarantine, by someone holding the database and the key.
THREE_MONTHS = timedelta(days=91)


def test_backdated_entry_is_named_by_its_index(api: LedgerApi, tmp_path: Path) -> None:
    forged = record_leaf(20, decided_at=DECIDED - THREE_MONTHS)
    api.ledger.append(forged)
    api.ledger.sign(int((DECIDED + timedelta(minutes=1)).timestamp()))
    result = verify(api.url, tmp_path, "--entries")
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        f"FAIL  entry index 20, check {check_id_of(forged)}: decided 2025-12-02 01:00:00 UTC, "
        "more than 300 s before entry index 19 (2026-03-03 01:00:19 UTC), which precedes it"
    ) in result.stdout
    # Without --entries no decision time is read, and the log itself is sound.
    assert verify(api.url, tmp_path).returncode == 0


def test_entry_decided_before_the_kept_checkpoint_it_follows_is_named(
    api: LedgerApi, tmp_path: Path
) -> None:
    signed_at = DECIDED + timedelta(hours=1)
    earlier = kept(tmp_path, api.ledger.sign(int(signed_at.timestamp())))
    # Later than every entry before it, but ten minutes before the checkpoint it follows.
    api.ledger.append(record_leaf(20, decided_at=signed_at - timedelta(minutes=10)))
    api.ledger.sign(int((signed_at + timedelta(minutes=1)).timestamp()))
    result = verify(api.url, tmp_path, "--checkpoint", earlier, "--entries")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL  entry index 20, check " in result.stdout
    assert "before your kept checkpoint of 20 entries was signed" in result.stdout
    # A looser tolerance, given by the auditor, lets it pass.
    looser = verify(api.url, tmp_path, "--checkpoint", earlier, "--entries", "--max-skew", "900")
    assert looser.returncode == 0, looser.stdout


def test_entries_out_of_order_within_the_tolerance_verify(api: LedgerApi, tmp_path: Path) -> None:
    api.ledger.append(record_leaf(20, decided_at=DECIDED - timedelta(seconds=100)))
    api.ledger.sign(int(DECIDED.timestamp()) + 60)
    result = verify(api.url, tmp_path, "--entries")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no entry goes back in time by more than 300 s" in result.stdout


def test_current_checkpoint_signed_long_before_the_kept_one_fails(
    api: LedgerApi, tmp_path: Path
) -> None:
    earlier = kept(tmp_path, api.ledger.sign(int(DECIDED.timestamp()) + 3600))
    api.ledger.append(record_leaf(20))
    api.ledger.sign(int(DECIDED.timestamp()))
    result = verify(api.url, tmp_path, "--checkpoint", earlier)
    assert result.returncode == 1
    assert "its time goes back" in result.stdout


def test_script_reads_the_time_line_the_service_signs(script: ModuleType) -> None:
    text = format_checkpoint(Checkpoint(ORIGIN, 0, merkle.EMPTY_ROOT, ("time 1764979200",)))
    key = script.parse_verifier_key(VERIFIER_KEY)
    opened = script.open_checkpoint(sign_note(text, SIGNER).encode(), key)
    assert opened.time == 1764979200
    assert "signed 2025-12-06 00:00:00 UTC" in opened.describe()
    for bad in ("time soon", "time 01"):
        note = sign_note(text.replace("time 1764979200", bad), SIGNER)
        with pytest.raises(script.InvalidProof, match="time line"):
            script.open_checkpoint(note.encode(), key)
