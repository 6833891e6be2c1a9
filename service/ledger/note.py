"""Signed checkpoints: C2SP tlog-checkpoint text in a C2SP signed note with Ed25519; pure.

Formats, from c2sp.org/tlog-checkpoint, c2sp.org/signed-note and their reference
implementation, golang.org/x/mod/sumdb/note (whose documented example key and note the
tests reproduce byte for byte):

- Checkpoint text: the origin line, the tree size in decimal without leading zeros, the
  base64 (RFC 4648 §4) root hash, then optional non-empty extension lines; every line ends
  in "\\n".
- Signed note: the text (ending in "\\n"), a blank line, then signature lines
  "— <key name> <base64(key hash ‖ signature)>\\n" (U+2014 EM DASH, a space). The Ed25519
  signature is over the UTF-8 text, final newline included. The whole note is UTF-8 with
  no control character but "\\n".
- Key hash: the first 4 bytes of SHA-256(key name ‖ "\\n" ‖ 0x01 ‖ 32-byte public key),
  0x01 being the Ed25519 signature type. Key names are non-empty, without spaces or "+".
- Verifier key: "<name>+<8 hex digits of key hash>+<base64(0x01 ‖ public key)>". Signer
  key (secret): "PRIVATE+KEY+<name>+<8 hex digits>+<base64(0x01 ‖ 32-byte seed)>".

This log's one extension line (SPEC §13) is "time <Unix seconds>", the moment the
checkpoint was signed, in decimal without leading zeros. It is under the signature like
the rest of the text, so the time cannot be changed without the key. Checkpoints signed
before it existed have no extension line and stay valid.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from service.ledger.merkle import HASH_SIZE

ED25519 = b"\x01"
SIGNATURE_PREFIX = "\u2014 "
# Go's note.Open refuses more; the specification asks verifiers to accept at least 16.
MAX_SIGNATURES = 100
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
TIME_EXTENSION = "time "


class InvalidNote(ValueError):
    """A checkpoint, note or key that is malformed, or a signature that does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: who (origin), how many leaves, and their root hash."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Signer:
    """A note-signing Ed25519 key under its name."""

    name: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> bytes:
        """The 32-byte Ed25519 public key."""
        return self.private_key.public_key().public_bytes_raw()

    @property
    def key_hash(self) -> bytes:
        """The 4-byte key hash that signature lines carry."""
        return key_hash(self.name, self.public_key)


def format_checkpoint(checkpoint: Checkpoint) -> str:
    """The checkpoint as note text: origin, size, base64 root and extensions, one a line."""
    lines = [checkpoint.origin, str(checkpoint.size), _b64(checkpoint.root)]
    lines += checkpoint.extensions
    text = "".join(f"{line}\n" for line in lines)
    if checkpoint.size < 0 or len(checkpoint.root) != HASH_SIZE:
        raise InvalidNote("a checkpoint needs a size of at least 0 and a 32-byte root")
    if any(not line or "\n" in line for line in lines) or not _is_note_text(text):
        raise InvalidNote("checkpoint lines must be non-empty, single lines of text")
    return text


def parse_checkpoint(text: str) -> Checkpoint:
    """The checkpoint in a note text; InvalidNote unless it has exactly the C2SP form."""
    if not text.endswith("\n") or not _is_note_text(text):
        raise InvalidNote("a checkpoint is note text ending with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or not all(lines):
        raise InvalidNote("a checkpoint has at least three lines, none of them empty")
    origin, size, root, *extensions = lines
    if not _DECIMAL.fullmatch(size):
        raise InvalidNote("the tree size is not a decimal number without leading zeros")
    hash_ = _unb64(root)
    # Only the one canonical spelling of a 32-byte hash, so a checkpoint has one text.
    if len(hash_) != HASH_SIZE or _b64(hash_) != root:
        raise InvalidNote("the root hash is not the base64 of 32 bytes")
    return Checkpoint(origin, int(size), hash_, tuple(extensions))


def time_extension(seconds: int) -> str:
    """The extension line that binds a checkpoint to its signing time (Unix seconds)."""
    if seconds < 0:
        raise InvalidNote("a checkpoint's time is not before 1970")
    return f"{TIME_EXTENSION}{seconds}"


def checkpoint_time(checkpoint: Checkpoint) -> int | None:
    """The signing time (Unix seconds) in the checkpoint's ``time`` line; None without one.

    InvalidNote when the line is malformed or repeated: a checkpoint has one time only.
    """
    times = [line for line in checkpoint.extensions if line.startswith(TIME_EXTENSION)]
    if not times:
        return None
    value = times[0][len(TIME_EXTENSION) :]
    if len(times) > 1 or not _DECIMAL.fullmatch(value):
        raise InvalidNote("a checkpoint has at most one time line, 'time <Unix seconds>'")
    return int(value)


def check_verifier_key(text: str) -> str:
    """The verifier key string, after checking its form and hash; InvalidNote otherwise."""
    _parse_verifier_key(text)
    return text


def key_hash(name: str, public_key: bytes) -> bytes:
    """The key hash: SHA-256(name ‖ "\\n" ‖ 0x01 ‖ public key), first 4 bytes."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public_key).digest()[:4]


def generate_signer_key(name: str) -> str:
    """A new secret signer key string, ``PRIVATE+KEY+<name>+<hash>+<key>``."""
    _check_name(name)
    signer = Signer(name, Ed25519PrivateKey.generate())
    seed = signer.private_key.private_bytes_raw()
    return f"PRIVATE+KEY+{name}+{signer.key_hash.hex()}+{_b64(ED25519 + seed)}"


def parse_signer_key(text: str) -> Signer:
    """The signer in a ``PRIVATE+KEY+…`` string; InvalidNote if malformed or its hash is off."""
    parts = text.split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise InvalidNote("a signer key starts with PRIVATE+KEY+")
    name, hash_hex, key = parts[2:]
    seed = _key_material(name, hash_hex, key)
    signer = Signer(name, Ed25519PrivateKey.from_private_bytes(seed))
    # The hash names the public key, which only the seed can give: check it afterwards.
    if signer.key_hash.hex() != hash_hex.lower():
        raise InvalidNote("the signer key's hash does not match its key")
    return signer


def verifier_key(signer: Signer) -> str:
    """The public verifier key string, ``<name>+<hash>+<base64(0x01 ‖ public key)>``."""
    return f"{signer.name}+{signer.key_hash.hex()}+{_b64(ED25519 + signer.public_key)}"


def sign_note(text: str, signer: Signer) -> str:
    """The text as a signed note: the text, a blank line and the signer's signature line."""
    if not text.endswith("\n") or not _is_note_text(text):
        raise InvalidNote("a note text ends with a newline and has no other control characters")
    signature = signer.private_key.sign(text.encode())
    return f"{text}\n{SIGNATURE_PREFIX}{signer.name} {_b64(signer.key_hash + signature)}\n"


def verify_note(note: str | bytes, verifier: str) -> str:
    """The text of a note that the verifier key has signed; InvalidNote otherwise.

    Signatures by other keys are ignored, as the specification requires; every signature
    by this key must verify, and there must be at least one.
    """
    name, hash_, public_key = _parse_verifier_key(verifier)
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidNote("a note is UTF-8") from error
    if not _is_note_text(note):
        raise InvalidNote("a note has no control characters but newlines")
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n") or split + 2 == len(note):
        raise InvalidNote("a note is a text, a blank line, then signature lines")
    text, lines = note[: split + 1], note[split + 2 : -1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise InvalidNote(f"a note has at most {MAX_SIGNATURES} signatures")
    verified = False
    for line in lines:
        signer_name, signature = _parse_signature_line(line)
        if signer_name != name or signature[:4] != hash_:
            continue
        try:
            public_key.verify(signature[4:], text.encode())
        except InvalidSignature as error:
            raise InvalidNote(f"the signature of {name} does not verify") from error
        verified = True
    if not verified:
        raise InvalidNote(f"the note has no signature by {name}+{hash_.hex()}")
    return text


def _parse_verifier_key(text: str) -> tuple[str, bytes, Ed25519PublicKey]:
    """The name, key hash and public key of a verifier key string."""
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise InvalidNote("a verifier key is <name>+<hash>+<key>")
    name, hash_hex, key = parts
    public_key = _key_material(name, hash_hex, key)
    if key_hash(name, public_key).hex() != hash_hex.lower():
        raise InvalidNote("the verifier key's hash does not match its key")
    return name, bytes.fromhex(hash_hex), Ed25519PublicKey.from_public_bytes(public_key)


def _key_material(name: str, hash_hex: str, key: str) -> bytes:
    """The 32 key bytes of a key string's parts, after checking their form."""
    _check_name(name)
    if not _HEX8.fullmatch(hash_hex):
        raise InvalidNote("a key hash is 8 hexadecimal digits")
    material = _unb64(key)
    if material[:1] != ED25519 or len(material) != 33:
        raise InvalidNote("the key is not an Ed25519 key (0x01 and 32 bytes)")
    return material[1:]


def _parse_signature_line(line: str) -> tuple[str, bytes]:
    """The key name and decoded signature (key hash first) of one signature line."""
    if not line.startswith(SIGNATURE_PREFIX):
        raise InvalidNote("a signature line starts with an em dash and a space")
    name, _space, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not _is_name(name):
        raise InvalidNote("a signature line names its key without spaces or +")
    signature = _unb64(encoded)
    if len(signature) < 5:
        raise InvalidNote("a signature is a 4-byte key hash and at least one byte more")
    return name, signature


def _is_name(name: str) -> bool:
    """Whether the string may name a key: not empty, no Unicode space, no '+'."""
    return bool(name) and "+" not in name and not any(char.isspace() for char in name)


def _check_name(name: str) -> None:
    """Refuse a key name that a signature line could not carry."""
    if not _is_name(name) or not _is_note_text(name):
        raise InvalidNote(f"{name!r} cannot name a key: no spaces, '+' or control characters")


def _is_note_text(text: str) -> bool:
    """Whether the text has no control characters other than newline (and is encodable)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(char < " " and char != "\n" for char in text)


def _b64(value: bytes) -> str:
    """Standard base64 with padding."""
    return base64.b64encode(value).decode("ascii")


def _unb64(text: str) -> bytes:
    """Strict standard base64: no other characters, correct padding."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as error:
        raise InvalidNote("not standard base64") from error
