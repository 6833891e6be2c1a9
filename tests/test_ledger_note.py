"""Signed checkpoints: known answers from the Go reference, the exact text, every refusal."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.ledger.merkle import EMPTY_ROOT, leaf_hash
from service.ledger.note import (
    Checkpoint,
    InvalidNote,
    format_checkpoint,
    generate_signer_key,
    key_hash,
    parse_checkpoint,
    parse_signer_key,
    sign_note,
    verifier_key,
    verify_note,
)

# The example key and note of golang.org/x/mod/sumdb/note's documentation and tests.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_B64 = (
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
)
PETER_SIG = f"— PeterNeumann {PETER_B64}\n"
GO_NOTE = f"{GO_TEXT}\n{PETER_SIG}"
# A second key of the same tests, and its signature of the same text.
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGr"
    "Q5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
)
# A real checkpoint: a tree head of sum.golang.org, under the key the go command trusts.
SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_NOTE = (
    "go.sum database tree\n13485\n/ZWur4obeiqK+ASdnPK+/Rmz6LPQMUeSmHh0+UkL54Y=\n\n"
    "— sum.golang.org Az3grnQReYTvpCrRxT+w50vixbqBlB/aPS8bL8f8KW4HHP+UjLSXOJgCh4f54n8"
    "hO6lrESglzyRXMXnhaWzaeY3zqw8=\n"
)

ORIGIN = "kukar.example/jamkesda-ledger"
SIGNER = parse_signer_key(generate_signer_key(ORIGIN))
ROOT = leaf_hash(b"root")


def test_go_example_signer_key_gives_the_go_verifier_key() -> None:
    """Key hash and both key strings are encoded exactly as the reference does."""
    signer = parse_signer_key(GO_SKEY)
    assert signer.name == "PeterNeumann"
    assert signer.key_hash.hex() == "c74f20a3"
    assert key_hash(signer.name, signer.public_key) == bytes.fromhex("c74f20a3")
    assert verifier_key(signer) == GO_VKEY


def test_go_example_note_is_signed_byte_for_byte() -> None:
    """Ed25519 is deterministic: signing the example text gives the example note."""
    assert sign_note(GO_TEXT, parse_signer_key(GO_SKEY)) == GO_NOTE
    assert verify_note(GO_NOTE, GO_VKEY) == GO_TEXT
    assert verify_note(GO_NOTE.encode(), GO_VKEY) == GO_TEXT


def test_a_real_sumdb_checkpoint_verifies_and_parses() -> None:
    """A tree head signed by sum.golang.org is a checkpoint in the same format."""
    checkpoint = parse_checkpoint(verify_note(SUMDB_NOTE, SUMDB_VKEY))
    assert checkpoint.origin == "go.sum database tree"
    assert checkpoint.size == 13485
    assert checkpoint.root == base64.b64decode("/ZWur4obeiqK+ASdnPK+/Rmz6LPQMUeSmHh0+UkL54Y=")


def test_signatures_by_other_keys_are_ignored() -> None:
    """Either key verifies a note both signed; a key that did not sign it does not."""
    note = f"{GO_TEXT}\n{PETER_SIG}{ENOCH_SIG}"
    assert verify_note(note, GO_VKEY) == GO_TEXT
    assert verify_note(note, ENOCH_VKEY) == GO_TEXT
    with pytest.raises(InvalidNote, match="no signature by EnochRoot"):
        verify_note(GO_NOTE, ENOCH_VKEY)


def test_checkpoint_text_has_the_c2sp_shape() -> None:
    """Origin, decimal size and base64 root, each on its own line ending in a newline."""
    root = base64.b64encode(ROOT).decode()
    assert format_checkpoint(Checkpoint(ORIGIN, 40, ROOT)) == f"{ORIGIN}\n40\n{root}\n"
    assert format_checkpoint(Checkpoint(ORIGIN, 0, EMPTY_ROOT)) == (
        f"{ORIGIN}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    )
    with_extension = Checkpoint(ORIGIN, 7, ROOT, ("time 1764300000",))
    assert format_checkpoint(with_extension) == f"{ORIGIN}\n7\n{root}\ntime 1764300000\n"


def test_signed_checkpoint_has_the_signed_note_shape() -> None:
    """The text, a blank line, then an em dash, the key name and key hash ‖ 64-byte signature."""
    text = format_checkpoint(Checkpoint(ORIGIN, 40, ROOT))
    note = sign_note(text, SIGNER)
    body, signature_line = note.split("\n\n")
    assert f"{body}\n" == text
    assert signature_line.endswith("\n")
    assert signature_line.count("\n") == 1
    dash, name, encoded = signature_line[:-1].split(" ")
    assert (dash, name) == ("\u2014", ORIGIN)
    signature = base64.b64decode(encoded, validate=True)
    assert len(signature) == 4 + 64
    assert signature[:4] == SIGNER.key_hash
    name_part, hash_part, key_part = verifier_key(SIGNER).split("+", 2)
    assert (name_part, hash_part) == (ORIGIN, SIGNER.key_hash.hex())
    assert base64.b64decode(key_part) == b"\x01" + SIGNER.public_key


def test_signer_key_string_round_trips() -> None:
    """A generated key string parses back to a signer with the same name and key."""
    key = generate_signer_key(ORIGIN)
    assert key.startswith(f"PRIVATE+KEY+{ORIGIN}+")
    signer = parse_signer_key(key)
    assert signer.name == ORIGIN
    assert key.split("+")[3] == signer.key_hash.hex()


@given(
    origin=st.text(
        st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40
    ).filter(lambda text: "\n" not in text),
    size=st.integers(0, 2**63 - 1),
    root=st.binary(min_size=32, max_size=32),
)
def test_sign_verify_parse_round_trip(origin: str, size: int, root: bytes) -> None:
    """Any checkpoint signed and verified comes back the same."""
    checkpoint = Checkpoint(origin, size, root)
    note = sign_note(format_checkpoint(checkpoint), SIGNER)
    assert parse_checkpoint(verify_note(note, verifier_key(SIGNER))) == checkpoint


def signed_checkpoint() -> str:
    """A checkpoint note signed by SIGNER."""
    return sign_note(format_checkpoint(Checkpoint(ORIGIN, 40, ROOT)), SIGNER)


def test_another_key_of_the_same_name_is_refused() -> None:
    """A note signed by someone else's key under our name does not verify with ours."""
    impostor = parse_signer_key(generate_signer_key(ORIGIN))
    note = sign_note(format_checkpoint(Checkpoint(ORIGIN, 40, ROOT)), impostor)
    with pytest.raises(InvalidNote, match="no signature"):
        verify_note(note, verifier_key(SIGNER))


def test_the_right_signature_under_another_name_is_refused() -> None:
    """The key name is part of the key: a renamed signature line is not ours."""
    note = signed_checkpoint().replace(f"\u2014 {ORIGIN} ", "\u2014 other.example/log ")
    with pytest.raises(InvalidNote, match="no signature"):
        verify_note(note, verifier_key(SIGNER))


def test_a_flipped_signature_byte_is_refused() -> None:
    """One bit changed in the Ed25519 signature fails verification."""
    note = signed_checkpoint()
    text, line = note.split("\n\n")
    prefix, encoded = line[:-1].rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    raw[-1] ^= 1
    spoiled = f"{text}\n\n{prefix} {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(InvalidNote, match="does not verify"):
        verify_note(spoiled, verifier_key(SIGNER))


def test_go_invalid_signature_case_is_refused() -> None:
    """The reference's own spoiled signature: four characters inserted."""
    spoiled = f"{GO_TEXT}\n{PETER_SIG[:60]}ABCD{PETER_SIG[60:]}"
    with pytest.raises(InvalidNote, match="does not verify"):
        verify_note(spoiled, GO_VKEY)


@pytest.mark.parametrize(
    ("old", "new"), [("\n40\n", "\n41\n"), (ORIGIN, "kukar.example/other"), ("=\n", "=\nx\n")]
)
def test_an_altered_body_is_refused(old: str, new: str) -> None:
    """A changed size, origin or an added line breaks the signature."""
    with pytest.raises(InvalidNote, match="does not verify"):
        verify_note(signed_checkpoint().replace(old, new, 1), verifier_key(SIGNER))


@pytest.mark.parametrize(
    "note",
    [
        GO_TEXT,
        GO_TEXT + "\n",
        GO_TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + GO_NOTE,
        f"{GO_TEXT}\n— Bad Name {PETER_B64}\n",
        GO_NOTE + "Unexpected line.\n",
        f"{GO_TEXT}\n- PeterNeumann {PETER_B64}\n",
        GO_TEXT + "\n— PeterNeumann \n",
        GO_TEXT + "\n— PeterNeumann AQID\n",
        GO_TEXT + "\n— PeterNeumann x08go/ZJkuBS9UG!\n",
        GO_TEXT + "\n" + PETER_SIG * 101,
    ],
    ids=[
        "no-signatures",
        "blank-line-only",
        "no-final-newline",
        "control-character",
        "name-with-space",
        "line-after-signatures",
        "hyphen-not-em-dash",
        "empty-signature",
        "short-signature",
        "bad-base64",
        "too-many-signatures",
    ],
)
def test_malformed_notes_are_refused(note: str) -> None:
    """The reference's malformed notes, and more, are refused before any signature check."""
    with pytest.raises(InvalidNote):
        verify_note(note, GO_VKEY)


def test_a_note_that_is_not_utf8_is_refused() -> None:
    """Bytes are decoded strictly."""
    with pytest.raises(InvalidNote, match="UTF-8"):
        verify_note(b"\xff" + GO_NOTE.encode(), GO_VKEY)


@pytest.mark.parametrize(
    "key",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeuman+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",
        "PeterNeumann+c74f20a3",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
    ids=["wrong-hash", "wrong-name", "short-hash", "not-ed25519", "short-key", "no-key", "space"],
)
def test_malformed_verifier_keys_are_refused(key: str) -> None:
    """A verifier key whose parts do not fit together is refused."""
    with pytest.raises(InvalidNote):
        verify_note(GO_NOTE, key)


@pytest.mark.parametrize(
    "key",
    [
        "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+PeterNeuman+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PUBLIC+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+PeterNeumann+c74f20a3",
        GO_VKEY,
    ],
    ids=["wrong-hash", "wrong-name", "not-private", "no-key", "verifier-key"],
)
def test_malformed_signer_keys_are_refused(key: str) -> None:
    """A signer key whose hash does not match its seed, or of another form, is refused."""
    with pytest.raises(InvalidNote):
        parse_signer_key(key)


@pytest.mark.parametrize("name", ["", "with space", "a+b", "tab\there", "nbsp\u00a0here"])
def test_key_names_without_spaces_or_plus(name: str) -> None:
    """A key name must fit in a signature line and a key string."""
    with pytest.raises(InvalidNote, match="cannot name a key"):
        generate_signer_key(name)


def test_sign_needs_a_note_text() -> None:
    """The text must end with a newline and carry no other control character."""
    for text in ["abc", "a\tb\n"]:
        with pytest.raises(InvalidNote):
            sign_note(text, SIGNER)


@pytest.mark.parametrize(
    "text",
    [
        f"{ORIGIN}\n040\n{base64.b64encode(ROOT).decode()}\n",
        f"{ORIGIN}\n-1\n{base64.b64encode(ROOT).decode()}\n",
        f"{ORIGIN}\n+4\n{base64.b64encode(ROOT).decode()}\n",
        f"{ORIGIN}\n\u0664\u0660\n{base64.b64encode(ROOT).decode()}\n",
        f"{ORIGIN}\n40\n",
        f"{ORIGIN}\n40\n{base64.b64encode(ROOT).decode()}",
        f"{ORIGIN}\n40\n{base64.b64encode(ROOT).decode()}\n\nextension\n",
        f"\n40\n{base64.b64encode(ROOT).decode()}\n",
        f"{ORIGIN}\n40\n{base64.b64encode(ROOT[:31]).decode()}\n",
        f"{ORIGIN}\n40\n{base64.b64encode(ROOT).decode().rstrip('=')}\n",
        f"{ORIGIN}\n40\n{base64.b64encode(ROOT).decode()[:-2]}B=\n",
    ],
    ids=[
        "leading-zero",
        "negative",
        "plus-sign",
        "arabic-digits",
        "no-root",
        "no-final-newline",
        "empty-extension",
        "empty-origin",
        "short-root",
        "unpadded-root",
        "non-canonical-root",
    ],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    """Only the exact C2SP form parses."""
    with pytest.raises(InvalidNote):
        parse_checkpoint(text)


@pytest.mark.parametrize(
    "checkpoint",
    [
        Checkpoint("", 1, ROOT),
        Checkpoint("two\nlines", 1, ROOT),
        Checkpoint(ORIGIN, -1, ROOT),
        Checkpoint(ORIGIN, 1, ROOT[:31]),
        Checkpoint(ORIGIN, 1, ROOT, ("",)),
        Checkpoint(ORIGIN, 1, ROOT, ("bell\a",)),
    ],
    ids=["empty-origin", "newline", "negative", "short-root", "empty-extension", "control"],
)
def test_impossible_checkpoints_are_not_formatted(checkpoint: Checkpoint) -> None:
    """format_checkpoint writes nothing that parse_checkpoint would refuse."""
    with pytest.raises(InvalidNote):
        format_checkpoint(checkpoint)
