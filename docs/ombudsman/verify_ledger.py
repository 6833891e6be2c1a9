#!/usr/bin/env python3
"""Check from your own computer that the Jamkesda check ledger was not altered.

For the Ombudsman and other auditors; docs/ledger.md ("For the Ombudsman") explains every
step. It needs Python 3.9 or newer and the packages ``requests`` and ``cryptography``
(``pip install requests cryptography``), nothing else: it does not use the service's code.

    python verify_ledger.py --api https://jamkesda.example \\
        --key-file auditor.key --verifier-key "<name>+<hash>+<key>" \\
        --checkpoint kept.txt --save-checkpoint kept.txt --entries

Exit status: 0 when everything it checked holds; 1 when the log fails a check (the output
says which: a bad signature, an inconsistent log with its sizes, the index of an entry whose
bytes disagree); 2 when nothing could be checked (bad usage, an unreadable file, the API
unreachable or refusing the key).

What it proves follows RFC 9162 (RFC 6962 hashing), C2SP tlog-checkpoint and C2SP
signed-note with Ed25519, each re-implemented below in a few lines. With --entries it also
checks time: no entry may be decided more than --max-skew seconds (default 300, the
service's LEDGER_MAX_SKEW_SECONDS) before an entry that precedes it, or before the signing
time of your kept checkpoint if it comes after it. Such an entry was backdated.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import io
import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

VERIFIED, FAILED, NOT_CHECKED = 0, 1, 2
KEY_VARIABLE = "JAMKESDA_AUDITOR_KEY"
HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
PAGE_SIZE = 1000
# The service's code for an entry it cannot serve (its record deleted or altered).
ENTRY_UNAVAILABLE = "ENTRY_UNAVAILABLE"
ED25519 = b"\x01"
SIGNATURE_PREFIX = "\u2014 "
MAX_SIGNATURES = 100
LOOPBACK = {"localhost", "127.0.0.1", "::1"}
# Crockford's base 32 reads these letters as digits, as the service does.
CHECK_ID_ALIASES = {"O": "0", "I": "1", "L": "1"}
DECIMAL = re.compile(r"0|[1-9][0-9]*")
PARTIAL = ".partial"
# The checkpoint's extension line with its signing time (SPEC §13), and the tolerance of
# entries going back in time (the service's LEDGER_MAX_SKEW_SECONDS by default).
TIME_LINE = "time "
DEFAULT_MAX_SKEW = 300
# How many backdated entries are named one by one; the rest are counted.
LISTED = 20


class Failed(Exception):
    """The log, or what the server sent about it, does not hold up: exit status 1."""


class NotChecked(Exception):
    """Nothing could be checked: bad usage, an unreadable file, the API unusable: status 2."""


class InvalidProof(ValueError):
    """A proof, note or key that does not show what it claims."""


# RFC 9162 §2.1: Merkle tree hashing, and the verification of proofs.


def leaf_hash(entry: bytes) -> bytes:
    """The hash of one log entry: SHA-256(0x00 ‖ entry)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of these leaf hashes, in one pass."""
    # Complete subtrees so far, largest first; two of equal height merge like a binary carry.
    stack: list[tuple[int, bytes]] = []
    for value in leaf_hashes:
        height, hash_ = 0, value
        while stack and stack[-1][0] == height:
            hash_ = node_hash(stack.pop()[1], hash_)
            height += 1
        stack.append((height, hash_))
    if not stack:
        return EMPTY_ROOT
    hash_ = stack[-1][1]
    for _height, left in reversed(stack[:-1]):
        hash_ = node_hash(left, hash_)
    return hash_


def verify_inclusion(
    leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2: raise InvalidProof unless the leaf is at ``index`` under ``root``."""
    if not 0 <= index < tree_size:
        raise InvalidProof(f"leaf index {index} is outside a tree of size {tree_size}")
    _check_hash_sizes([leaf, *proof])
    fn, sn, hash_ = index, tree_size - 1, leaf
    for sibling in proof:
        if sn == 0:
            raise InvalidProof("the inclusion proof is too long")
        if fn & 1 or fn == sn:
            hash_ = node_hash(sibling, hash_)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            hash_ = node_hash(hash_, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise InvalidProof("the inclusion proof is too short")
    if hash_ != root:
        raise InvalidProof("the inclusion proof does not lead to the signed root")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """RFC 9162 §2.1.4.2 for 0 < size1 < size2, and equal roots for equal sizes."""
    if not 0 < size1 <= size2:
        raise InvalidProof(f"no consistency proof from {size1} to {size2} entries")
    if size1 == size2:
        if proof or root1 != root2:
            raise InvalidProof(f"two trees of {size1} entries with different roots")
        return
    if not proof:
        raise InvalidProof("the consistency proof is empty")
    _check_hash_sizes(proof)
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    first = second = path[0]
    for sibling in path[1:]:
        if sn == 0:
            raise InvalidProof("the consistency proof is too long")
        if fn & 1 or fn == sn:
            first = node_hash(sibling, first)
            second = node_hash(sibling, second)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            second = node_hash(second, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise InvalidProof("the consistency proof is too short")
    if first != root1:
        raise InvalidProof("the proof does not lead to the kept root")
    if second != root2:
        raise InvalidProof("the proof does not lead to the current root")


def _check_hash_sizes(hashes: Sequence[bytes]) -> None:
    """Refuse a proof element that is not a SHA-256 hash."""
    if any(len(hash_) != HASH_SIZE for hash_ in hashes):
        raise InvalidProof("a proof element is not 32 bytes long")


# C2SP signed-note and tlog-checkpoint.


@dataclass(frozen=True)
class VerifierKey:
    """The public key that signs checkpoints, under its name and key hash."""

    name: str
    key_hash: bytes
    public_key: bytes

    def __str__(self) -> str:
        """The key as written: ``<name>+<hash>+<base64(0x01 ‖ key)>``."""
        encoded = base64.b64encode(ED25519 + self.public_key).decode()
        return f"{self.name}+{self.key_hash.hex()}+{encoded}"


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head: which log (origin), how many entries, their root, the note."""

    origin: str
    size: int
    root: bytes
    note: bytes
    # The signing time in Unix seconds (its signed time line); None for older checkpoints.
    time: int | None = None

    def describe(self) -> str:
        """The checkpoint in a few words."""
        signed = "" if self.time is None else f", signed {_utc(self.time)}"
        return f"{_entries(self.size)}, root {_b64(self.root)}{signed}"


def parse_verifier_key(text: str) -> VerifierKey:
    """The key in ``<name>+<8 hex digits>+<base64>`` form; InvalidProof if malformed."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3 or not _is_key_name(parts[0]):
        raise InvalidProof("a verifier key looks like <name>+<8 hex digits>+<base64>")
    name, hash_hex, encoded = parts
    material = _unb64(encoded)
    if len(hash_hex) != 8 or material[:1] != ED25519 or len(material) != 33:
        raise InvalidProof("the verifier key is not an Ed25519 key of the signed-note form")
    key = VerifierKey(name, _key_hash(name, material[1:]), material[1:])
    if key.key_hash.hex() != hash_hex.lower():
        raise InvalidProof("the verifier key's hash does not match its key: mistyped?")
    return key


def open_note(note: bytes, key: VerifierKey) -> str:
    """The text of a signed note if ``key`` signed it; InvalidProof otherwise."""
    try:
        decoded = note.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidProof("the note is not UTF-8 text") from error
    if any(char < " " and char != "\n" for char in decoded):
        raise InvalidProof("the note holds control characters")
    split = decoded.rfind("\n\n")
    if split < 0 or not decoded.endswith("\n") or split + 2 == len(decoded):
        raise InvalidProof("the note is not a text, a blank line and signature lines")
    text, lines = decoded[: split + 1], decoded[split + 2 : -1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise InvalidProof(f"the note has more than {MAX_SIGNATURES} signatures")
    signed = False
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise InvalidProof("a signature line does not start with an em dash and a space")
        name, _space, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        signature = _unb64(encoded)
        if not _is_key_name(name) or len(signature) < 5:
            raise InvalidProof("a signature line is malformed")
        # Signatures by other keys (witnesses, say) are allowed and ignored.
        if name != key.name or signature[:4] != key.key_hash:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(key.public_key).verify(signature[4:], text.encode())
        except InvalidSignature as error:
            raise InvalidProof(f"the signature by {key.name} does not verify") from error
        signed = True
    if not signed:
        raise InvalidProof(
            f"the note carries no signature by your key {key.name}+{key.key_hash.hex()}"
        )
    return text


def open_checkpoint(note: bytes, key: VerifierKey) -> Checkpoint:
    """The checkpoint in a signed note, after its signature and its form are checked."""
    text = open_note(note, key)
    lines = text[:-1].split("\n")
    if len(lines) < 3 or not all(lines):
        raise InvalidProof("a checkpoint has an origin, a size and a root, none of them empty")
    origin, size, root = lines[:3]
    if not DECIMAL.fullmatch(size):
        raise InvalidProof("the checkpoint's size is not a decimal number")
    hash_ = _unb64(root)
    if len(hash_) != HASH_SIZE or _b64(hash_) != root:
        raise InvalidProof("the checkpoint's root is not the base64 of 32 bytes")
    if size == "0" and hash_ != EMPTY_ROOT:
        raise InvalidProof("the checkpoint of an empty log has a root other than SHA-256('')")
    return Checkpoint(origin, int(size), hash_, note, _signing_time(lines[3:]))


def _signing_time(extensions: Sequence[str]) -> int | None:
    """The Unix seconds of the one ``time`` extension line, None without one."""
    times = [line[len(TIME_LINE) :] for line in extensions if line.startswith(TIME_LINE)]
    if not times:
        return None
    if len(times) > 1 or not DECIMAL.fullmatch(times[0]):
        raise InvalidProof("the checkpoint's time line is not one 'time <Unix seconds>'")
    return int(times[0])


def _utc(seconds: float) -> str:
    """Unix seconds as a UTC date and time, to the second."""
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _key_hash(name: str, public_key: bytes) -> bytes:
    """SHA-256(name ‖ "\\n" ‖ 0x01 ‖ public key), its first 4 bytes."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public_key).digest()[:4]


def _is_key_name(name: str) -> bool:
    """Whether the string may name a key: not empty, no space, no '+', no control character."""
    return bool(name) and "+" not in name and not any(c.isspace() or c < " " for c in name)


def _b64(value: bytes) -> str:
    """Standard base64 with padding."""
    return base64.b64encode(value).decode("ascii")


def _unb64(text: str) -> bytes:
    """Strict standard base64; InvalidProof otherwise."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as error:
        raise InvalidProof("not standard base64") from error


# The ledger API (SPEC §5, "Ledger API").


class LedgerApi:
    """The service's /v1/ledger/ endpoints, called with the auditor key."""

    def __init__(self, base: str, auditor_key: str, timeout: float) -> None:
        """A client of the API at ``base`` (scheme, host and port)."""
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {auditor_key}"
        self.session.headers["User-Agent"] = "jamkesda-verify-ledger/1"

    def get(self, path: str, **params: Any) -> requests.Response:
        """A successful answer to GET ``path``; NotChecked when there is none."""
        try:
            response = self.session.get(self.base + path, params=params, timeout=self.timeout)
        except requests.RequestException as error:
            raise NotChecked(f"cannot reach the API at {self.base}: {error}") from error
        if response.status_code == 401:
            raise NotChecked(
                "the API refused the auditor key (HTTP 401): check the key file or "
                f"{KEY_VARIABLE}; the key may have been revoked"
            )
        if response.status_code == 403:
            raise NotChecked("the key is not an auditor key (HTTP 403)")
        if response.status_code != 200:
            raise HttpStatus(response.status_code, path, *_problem(response))
        return response

    def json(self, path: str, **params: Any) -> dict[str, Any]:
        """The JSON object answering GET ``path``."""
        try:
            body = self.get(path, **params).json()
        except ValueError as error:
            raise Failed(f"the answer to {path} is not JSON") from error
        if not isinstance(body, dict):
            raise Failed(f"the answer to {path} is not a JSON object")
        return body

    def entries(self, start: int, end: int) -> Iterator[bytes]:
        """The entries [start, end), page by page, as far as the server cares to answer."""
        while start < end:
            try:
                page = self.json("/v1/ledger/entries", start=start, end=min(start + PAGE_SIZE, end))
            except HttpStatus as error:
                # The service cannot serve an entry whose record was deleted or altered
                # past encoding: that is tamper evidence, not a failure to check.
                if error.code != ENTRY_UNAVAILABLE:
                    raise
                raise Failed(f"entry index {start}: the API cannot serve it ({error})") from error
            encoded = page.get("entries")
            if not isinstance(encoded, list) or not encoded:
                raise Failed(f"the API returned no entries from index {start} on")
            if len(encoded) > min(PAGE_SIZE, end - start):
                raise Failed(f"the API returned more entries than asked from index {start}")
            for offset, value in enumerate(encoded):
                try:
                    yield _unb64(value if isinstance(value, str) else "?")
                except InvalidProof as error:
                    raise Failed(f"entry index {start + offset} is not base64") from error
            start += len(encoded)

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """The server's consistency proof from ``first`` to ``second`` entries."""
        body = self.json("/v1/ledger/proof/consistency", first=first, second=second)
        if body.get("first") != first or body.get("second") != second:
            raise Failed(
                f"the API answered a consistency proof for other sizes than {first}, {second}"
            )
        return _hashes(body.get("proof"), "consistency proof")


class HttpStatus(NotChecked):
    """An answer other than 200 (and 401 or 403, which say more)."""

    def __init__(self, status: int, path: str, code: str, detail: str) -> None:
        """The status, the path asked, the problem's code and the server's explanation."""
        label = f"{status} {code}" if code else str(status)
        super().__init__(f"the API answered HTTP {label} to {path}: {detail}")
        self.status = status
        self.code = code


def _problem(response: requests.Response) -> tuple[str, str]:
    """The ``code`` and ``detail`` of an RFC 9457 problem, or the start of the body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        return str(body.get("code") or ""), str(body["detail"])
    return "", response.text[:200] or str(response.reason)


def _hashes(value: Any, what: str) -> list[bytes]:
    """A JSON list of base64 hashes."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise Failed(f"the {what} is not a list of base64 hashes")
    try:
        return [_unb64(item) for item in value]
    except InvalidProof as error:
        raise Failed(f"the {what} holds something that is not base64") from error


# The checks.


class Report:
    """What was proven and what failed, printed as it happens."""

    def __init__(self) -> None:
        """An empty report."""
        self.problems: list[str] = []

    def proven(self, text: str) -> None:
        """Something that holds."""
        print(f"  OK    {text}")

    def failed(self, text: str) -> None:
        """Something that does not hold."""
        self.problems.append(text)
        print(f"  FAIL  {text}")

    def warn(self, text: str) -> None:
        """Something to look into that does not change the verdict."""
        print(f"\n  !!! WARNING / PERINGATAN: {text}\n", file=sys.stderr)


def check_served_key(api: LedgerApi, key: VerifierKey, report: Report) -> None:
    """Warn when the server's key differs from the one kept: a key change must be announced."""
    try:
        served = parse_verifier_key(api.get("/v1/ledger/key").content.decode("utf-8", "replace"))
    except (NotChecked, InvalidProof) as error:
        report.warn(f"could not read the key the server serves now ({error}).")
        return
    if served != key:
        report.warn(
            f"the server now serves the verifier key {served}, not the key you kept ({key}). "
            "Checkpoints are checked only against the key you kept. A new key must be "
            "announced to you out of band; if it was not, report it. / Server memakai kunci "
            "lain dari yang Anda simpan."
        )


def check_consistency(api: LedgerApi, kept: Checkpoint, latest: Checkpoint, report: Report) -> None:
    """Prove that the current log extends the kept one, entry for entry (RFC 9162)."""
    if kept.size > latest.size:
        report.failed(
            f"the log was truncated: your kept checkpoint has {_entries(kept.size)}, the "
            f"current one only {latest.size}; entries from index {latest.size} on are gone"
        )
    elif kept.size == 0:
        report.proven("your kept checkpoint is of the empty log, which every log extends")
    elif kept.size == latest.size:
        if kept.root == latest.root:
            report.proven(
                f"the log is unchanged since your kept checkpoint ({_entries(kept.size)})"
            )
        else:
            report.failed(
                f"inconsistent log: the current log and your kept checkpoint both have "
                f"{_entries(kept.size)} but different roots: entries were changed"
            )
    else:
        proof = api.consistency_proof(kept.size, latest.size)
        try:
            verify_consistency(kept.size, latest.size, proof, kept.root, latest.root)
        except InvalidProof as error:
            report.failed(
                f"inconsistent log: the current log of {_entries(latest.size)} does not extend "
                f"your kept checkpoint of {_entries(kept.size)} ({error}): entries before index "
                f"{kept.size} were changed, removed or reordered"
            )
        else:
            report.proven(
                f"the current log starts with the {_entries(kept.size)} of your kept "
                f"checkpoint, unchanged (RFC 9162 consistency proof of {len(proof)} hashes)"
            )


class TimeCheck:
    """Entries, in log order, must not go back in time by more than the tolerance.

    The service's sequencer quarantines a record decided more than LEDGER_MAX_SKEW_SECONDS
    before its latest checkpoint was signed, instead of logging it; so in an honest log no
    entry is decided that long before an entry that precedes it, nor before the signing
    time of a checkpoint that it follows (your kept one, when it has a time line).
    """

    def __init__(self, max_skew: float, kept: Checkpoint | None) -> None:
        """Allow ``max_skew`` seconds; entries from ``kept.size`` on follow ``kept``."""
        self.max_skew = max_skew
        self.kept = kept if kept is not None and kept.time is not None else None
        self.latest: tuple[int, float] | None = None
        self.backdated: list[str] = []
        self.count = 0

    def entry(self, index: int, entry: bytes) -> None:
        """Check one entry (the JSON of a check record) after those before it."""
        decided, check_id = _decided_at(entry)
        if decided is None:
            return
        before = self._preceding(index, decided)
        if before is not None:
            self.count += 1
            if len(self.backdated) < LISTED:
                self.backdated.append(
                    f"entry index {index}{check_id}: decided {_utc(decided)}, more than "
                    f"{self.max_skew:g} s before {before}: the log goes back in time (a "
                    "backdated record)"
                )
        if self.latest is None or decided > self.latest[1]:
            self.latest = (index, decided)

    def _preceding(self, index: int, decided: float) -> str | None:
        """What precedes the entry and was more than the tolerance later, if anything."""
        kept = self.kept
        if (
            kept is not None
            and kept.time is not None
            and index >= kept.size
            and decided < kept.time - self.max_skew
        ):
            signed = _utc(kept.time)
            return f"your kept checkpoint of {_entries(kept.size)} was signed ({signed})"
        if self.latest is not None and decided < self.latest[1] - self.max_skew:
            return f"entry index {self.latest[0]} ({_utc(self.latest[1])}), which precedes it"
        return None

    def conclude(self, report: Report) -> None:
        """Report each backdated entry (the first few by name), or that time holds."""
        for line in self.backdated:
            report.failed(line)
        if self.count > len(self.backdated):
            report.failed(f"and {self.count - len(self.backdated)} more entries going back in time")
        if not self.count:
            report.proven(
                f"no entry goes back in time by more than {self.max_skew:g} s (decision times)"
            )


def _decided_at(entry: bytes) -> tuple[float | None, str]:
    """An entry's decision time in Unix seconds (None if it has none) and ", check <ref>"."""
    try:
        record = json.loads(entry)
        decided = datetime.strptime(record["decided_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    except (ValueError, TypeError, KeyError):
        return None, ""
    check_id = f", check {record['check_id']}" if "check_id" in record else ""
    return decided.replace(tzinfo=timezone.utc).timestamp(), check_id


def check_times(kept: Checkpoint, latest: Checkpoint, max_skew: float, report: Report) -> None:
    """The current checkpoint must not be signed long before the one you kept."""
    if kept.time is None or latest.time is None:
        return
    if latest.time < kept.time - max_skew:
        report.failed(
            f"the current checkpoint was signed {_utc(latest.time)}, more than {max_skew:g} s "
            f"before your kept one ({_utc(kept.time)}): its time goes back"
        )


def check_entries(
    api: LedgerApi,
    latest: Checkpoint,
    kept_entries: list[bytes] | None,
    save_to: str | None,
    report: Report,
    times: TimeCheck | None = None,
) -> None:
    """Recompute the signed root from every entry's bytes, keeping a copy if asked.

    ``times`` checks each entry's decision time on the way (SPEC §13).
    """
    # Only the leaf hashes stay in memory, about 100 bytes an entry: 100 MB for a million.
    leaves: list[bytes] = []
    copy = open(save_to + PARTIAL, "wb") if save_to else None  # noqa: SIM115
    try:
        for entry in api.entries(0, latest.size):
            if times is not None:
                times.entry(len(leaves), entry)
            leaves.append(leaf_hash(entry))
            if copy is not None:
                copy.write(_b64(entry).encode() + b"\n")
    finally:
        if copy is not None:
            copy.close()
    if times is not None:
        times.conclude(report)
    if root_of(leaves) == latest.root:
        report.proven(
            f"recomputed the root from the bytes of every entry ({_entries(latest.size)}): "
            "it matches"
        )
    else:
        try:
            index = _first_wrong_entry(api, leaves, latest)
        except NotChecked as error:
            report.failed(
                "the root recomputed from the entries is not the signed root, and the entry "
                f"at fault could not be located ({error})"
            )
        else:
            report.failed(
                f"entry index {index}{_check_id_of(api, index)}: its bytes as served now are "
                "not what the signed checkpoint commits to (the record was changed after it "
                "was logged, or records were removed or reordered from here on)"
            )
    if kept_entries is not None:
        _compare_with_kept(leaves, kept_entries, report)


def check_inclusion(api: LedgerApi, check_id: str, latest: Checkpoint, report: Report) -> None:
    """Prove that the check with this reference is an entry of the signed log, as served."""
    if latest.size == 0:
        report.failed(f"check {check_id} is not in the log: the signed log is empty")
        return
    try:
        body = api.json("/v1/ledger/proof/inclusion", check_id=check_id, tree_size=latest.size)
    except HttpStatus as error:
        # Unknown (404), or known but not sequenced into this checkpoint (422 NOT_IN_TREE).
        if error.status != 404 and error.code != "NOT_IN_TREE":
            raise
        report.failed(
            f"check {check_id} is not in the signed log of {_entries(latest.size)} ({error}); "
            "a check made in the last minute may not be logged yet: run again later"
        )
        return
    index, size = body.get("leaf_index"), body.get("tree_size")
    if not isinstance(index, int) or isinstance(index, bool) or size != latest.size:
        raise Failed(f"the inclusion proof of check {check_id} is malformed")
    hashed = _hashes([body.get("leaf_hash")], "leaf hash")[0]
    try:
        verify_inclusion(
            hashed, index, latest.size, _hashes(body.get("proof"), "inclusion proof"), latest.root
        )
    except InvalidProof as error:
        report.failed(f"check {check_id} (entry index {index}): {error}")
        return
    entry = next(api.entries(index, index + 1))
    if leaf_hash(entry) != hashed:
        report.failed(
            f"entry index {index} (check {check_id}): its bytes as served now are not the "
            "ones logged (the record was changed after it was logged)"
        )
        return
    record = _leaf_record(entry)
    if _compact(str(record.get("check_id", ""))) != _compact(check_id):
        report.failed(f"the API proved entry index {index}, which is not check {check_id}")
        return
    report.proven(
        f"check {record['check_id']} is entry index {index} of the signed log: decision "
        f"{record.get('decision')} at {record.get('decided_at')} (UTC), facility "
        f"{record.get('facility_code')} (RFC 9162 inclusion proof of {len(body['proof'])} hashes)"
    )


def _first_wrong_entry(api: LedgerApi, leaves: list[bytes], latest: Checkpoint) -> int:
    """The first entry whose hash the signed root does not commit to, by bisection."""
    # The signed root commits to the root of every prefix through consistency proofs, and
    # a prefix that matches proves every shorter one: the first mismatch is where they turn.
    good, bad = 0, latest.size
    while bad - good > 1:
        middle = (good + bad) // 2
        proof = api.consistency_proof(middle, latest.size)
        try:
            verify_consistency(middle, latest.size, proof, root_of(leaves[:middle]), latest.root)
        except InvalidProof:
            bad = middle
        else:
            good = middle
    return bad - 1


def _compare_with_kept(leaves: list[bytes], kept: list[bytes], report: Report) -> None:
    """Name every entry that differs from the auditor's own copy."""
    differing = [index for index, hash_ in enumerate(kept[: len(leaves)]) if leaves[index] != hash_]
    if len(differing) == 1:
        report.failed(f"entry index {differing[0]}: differs from your kept copy of the entries")
    elif differing:
        shown = ", ".join(str(index) for index in differing[:20])
        more = f" and {len(differing) - 20} more" if len(differing) > 20 else ""
        report.failed(f"entries at index {shown}{more}: differ from your kept copy of the entries")
    elif len(kept) <= len(leaves):
        report.proven(f"byte for byte, the entries match your kept copies ({_entries(len(kept))})")


def _check_id_of(api: LedgerApi, index: int) -> str:
    """ ", check <reference>" for the entry at ``index``, when it can be read."""
    try:
        return f", check {_leaf_record(next(api.entries(index, index + 1)))['check_id']}"
    except (NotChecked, Failed, KeyError):
        return ""


def _leaf_record(entry: bytes) -> dict[str, Any]:
    """The members of a version-1 leaf (a JSON object; docs/ledger.md)."""
    try:
        record = json.loads(entry)
    except ValueError as error:
        raise Failed("an entry is not the JSON text of a check record") from error
    if not isinstance(record, dict) or "check_id" not in record:
        raise Failed("an entry is not the JSON text of a check record")
    return record


def _entries(count: int) -> str:
    """ "1 entry", "2 entries"."""
    return "1 entry" if count == 1 else f"{count} entries"


def _compact(check_id: str) -> str:
    """A reference as the service compares it: upper case, no separators, aliases read."""
    compact = check_id.strip().upper().replace("-", "").replace(" ", "")
    return "".join(CHECK_ID_ALIASES.get(char, char) for char in compact)


# The command line.


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """The options; argparse itself exits with status 2 on bad usage."""
    parser = argparse.ArgumentParser(
        prog="verify_ledger.py",
        description="Prove that the Jamkesda check ledger is consistent with a checkpoint "
        "you kept, and optionally recompute it from every entry.",
        epilog="Exit status: 0 verified, 1 the log failed a check, 2 nothing could be checked.",
    )
    parser.add_argument("--api", required=True, help="the service's address, https://host")
    parser.add_argument(
        "--key-file", help=f"a file holding your auditor API key (else ${KEY_VARIABLE})"
    )
    verifier = parser.add_mutually_exclusive_group(required=True)
    verifier.add_argument("--verifier-key", help="the verifier key you were given out of band")
    verifier.add_argument("--verifier-key-file", help="a file holding that verifier key")
    parser.add_argument("--checkpoint", help="the checkpoint file you kept from an earlier run")
    parser.add_argument(
        "--kept-verifier-key",
        help="after an announced key change: the old key your kept checkpoint is signed with",
    )
    parser.add_argument("--save-checkpoint", help="where to keep the newly verified checkpoint")
    parser.add_argument(
        "--entries", action="store_true", help="download every entry and recompute the root"
    )
    parser.add_argument(
        "--kept-entries", help="your copy of the entries from an earlier run (implies --entries)"
    )
    parser.add_argument(
        "--save-entries", help="where to keep a copy of every entry (implies --entries)"
    )
    parser.add_argument(
        "--check-id",
        action="append",
        default=[],
        help="prove that this check reference is in the log (may be repeated)",
    )
    parser.add_argument(
        "--max-skew",
        type=float,
        default=DEFAULT_MAX_SKEW,
        help="with --entries: seconds an entry may be decided before one that precedes it "
        f"(default {DEFAULT_MAX_SKEW}, the service's LEDGER_MAX_SKEW_SECONDS)",
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    return parser.parse_args(argv)


def run(args: argparse.Namespace, report: Report) -> Checkpoint:
    """Every check the options ask for; return the verified current checkpoint."""
    key = _verifier_key(args.verifier_key, args.verifier_key_file)
    kept_key = _verifier_key(args.kept_verifier_key) if args.kept_verifier_key else key
    kept = _kept_checkpoint(args.checkpoint, kept_key) if args.checkpoint else None
    kept_entries = _kept_entries(args.kept_entries, kept) if args.kept_entries else None
    api = LedgerApi(_api_address(args.api, report), _auditor_key(args.key_file), args.timeout)
    print(f"Ledger API at {api.base}")
    note = api.get("/v1/ledger/checkpoint").content
    check_served_key(api, key, report)
    try:
        latest = open_checkpoint(note, key)
    except InvalidProof as error:
        raise Failed(f"bad signature or form of the current checkpoint: {error}") from error
    report.proven(
        f"current checkpoint of log {latest.origin!r} is signed by your key {key.name}: "
        f"{latest.describe()}"
    )
    if kept is None:
        print("  (no kept checkpoint given: nothing is proven about the log's past)")
    elif kept.origin != latest.origin:
        raise Failed(
            f"the current checkpoint is of log {latest.origin!r}, yours of {kept.origin!r}"
        )
    else:
        report.proven(f"your kept checkpoint: {kept.describe()}")
        check_consistency(api, kept, latest, report)
        check_times(kept, latest, args.max_skew, report)
    if args.entries or args.kept_entries or args.save_entries:
        times = TimeCheck(args.max_skew, kept)
        check_entries(api, latest, kept_entries, args.save_entries, report, times)
    for check_id in args.check_id:
        check_inclusion(api, check_id, latest, report)
    return latest


def _verifier_key(text: str | None, path: str | None = None) -> VerifierKey:
    """A verifier key the auditor kept, given as text or in a file."""
    if text is None and path is not None:
        text = _read(path, "verifier key").decode("utf-8", "replace")
    try:
        return parse_verifier_key(text or "")
    except InvalidProof as error:
        raise NotChecked(f"the verifier key is unusable: {error}") from error


def _kept_checkpoint(path: str, key: VerifierKey) -> Checkpoint:
    """The checkpoint the auditor kept, checked against the key they kept."""
    try:
        return open_checkpoint(_read(path, "kept checkpoint"), key)
    except InvalidProof as error:
        raise NotChecked(
            f"your kept checkpoint {path} does not verify with your verifier key ({error}): "
            "is it the right file, and the right key?"
        ) from error


def _kept_entries(path: str, kept: Checkpoint | None) -> list[bytes]:
    """The leaf hashes of the auditor's copy of the entries, checked against their checkpoint."""
    if kept is None:
        raise NotChecked("--kept-entries needs the --checkpoint saved with them")
    try:
        lines = _read(path, "kept entries").splitlines()
        leaves = [leaf_hash(_unb64(line.decode("ascii"))) for line in lines]
    except (InvalidProof, UnicodeDecodeError) as error:
        raise NotChecked(f"{path} is not one base64 entry a line") from error
    if len(leaves) != kept.size or root_of(leaves) != kept.root:
        raise NotChecked(f"the entries in {path} are not those of your kept checkpoint")
    return leaves


def _api_address(address: str, report: Report) -> str:
    """The API's base address, checked; a warning when the key would travel in clear."""
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotChecked(f"--api must be an address such as https://host, not {address!r}")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        report.warn("the address is http://, so your auditor key travels unencrypted.")
    return address


def _auditor_key(path: str | None) -> str:
    """The auditor key from its file or the environment; never printed."""
    key = _read(path, "key file").decode("utf-8", "replace") if path else ""
    key = (key or os.environ.get(KEY_VARIABLE, "")).strip()
    if not key:
        raise NotChecked(f"no auditor key: give --key-file or set {KEY_VARIABLE}")
    return key


def _read(path: str, what: str) -> bytes:
    """A file's bytes, exactly (a checkpoint's signature covers every byte)."""
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as error:
        raise NotChecked(f"cannot read the {what} {path}: {error.strerror}") from error


def _keep_copies(args: argparse.Namespace, latest: Checkpoint | None) -> None:
    """Put the verified checkpoint and entries in place; without ``latest``, drop the copy."""
    # Files are replaced whole, and only after everything held, so that what the auditor
    # keeps for next time is always a verified pair.
    if args.save_entries and os.path.exists(args.save_entries + PARTIAL):
        if latest is None:
            os.remove(args.save_entries + PARTIAL)
        else:
            os.replace(args.save_entries + PARTIAL, args.save_entries)
    if args.save_checkpoint and latest is not None:
        with open(args.save_checkpoint + PARTIAL, "wb") as file:
            file.write(latest.note)
        os.replace(args.save_checkpoint + PARTIAL, args.save_checkpoint)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the checks and print the verdict; return the exit status."""
    for stream in (sys.stdout, sys.stderr):
        # Windows consoles may not encode every character of a log's origin or a message.
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    args = parse_arguments(argv)
    report = Report()
    latest: Checkpoint | None = None
    try:
        latest = run(args, report)
    except NotChecked as error:
        print(f"ERROR: {error}", file=sys.stderr)
        print("Nothing was verified. / Tidak ada yang terverifikasi.", file=sys.stderr)
    except Failed as error:
        report.failed(str(error))
    if report.problems:
        latest = None
    try:
        _keep_copies(args, latest)
    except OSError as error:
        print(f"ERROR: cannot save the verified copies: {error}", file=sys.stderr)
        return NOT_CHECKED
    if report.problems:
        print(f"\nNOT VERIFIED: {len(report.problems)} check(s) failed, listed above.")
        print("TIDAK TERVERIFIKASI: log tidak lolos pemeriksaan; lihat FAIL di atas.")
        return FAILED
    if latest is None:
        return NOT_CHECKED
    print(f"\nVERIFIED: the log of {_entries(latest.size)} holds every check above.")
    print("TERVERIFIKASI: log lolos semua pemeriksaan di atas.")
    if args.save_checkpoint:
        print(f"Keep {args.save_checkpoint} for your next run. / Simpan berkas ini.")
    return VERIFIED


if __name__ == "__main__":
    sys.exit(main())
