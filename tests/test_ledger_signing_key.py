"""Only the sequencer process holds the ledger's signing key (SPEC §13, issue 14 finding 12).

The finding: every web worker loaded ``LEDGER_SIGNING_KEY``, only to sign the empty log's
checkpoint on the spot. Now the web app holds the public verifier key alone and serves the
checkpoints the sequencer stored (the sequencer signs the empty log's in its first round);
``jamkesda serve`` takes the signing key out of the environment its workers inherit and
gives it to its sequencer process only.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from sqlalchemy import Engine

from service import create_app
from service.config import ConfigError, Settings
from service.ledger.merkle import EMPTY_ROOT
from service.ledger.note import Signer, parse_checkpoint, verify_note
from tests.conftest import TEST_LEDGER_SIGNING_KEY, TEST_LEDGER_VERIFIER_KEY, bearer
from tests.test_ledger_runner import sequencers_of, wait_for
from tests.test_server import serve_briefly, serving_process

PROC = Path("/proc")


def reachable(value: Any, depth: int = 6) -> Iterator[Any]:
    """``value`` and what its dicts, sequences and dataclasses hold, ``depth`` levels down."""
    yield value
    if depth == 0:
        return
    if isinstance(value, dict):
        children: list[Any] = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple | set | frozenset):
        children = list(value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        children = [getattr(value, field.name) for field in dataclasses.fields(value)]
    else:
        return
    for child in children:
        yield from reachable(child, depth - 1)


def holds_private_key(app: Flask) -> bool:
    """Whether the app's settings, extensions or configuration hold the signing key."""
    for value in reachable([app.extensions, dict(app.config)]):
        if isinstance(value, Signer | Ed25519PrivateKey):
            return True
        if isinstance(value, str) and TEST_LEDGER_SIGNING_KEY in value:
            return True
    return False


def test_the_app_holds_no_private_key_material(settings: Settings, engine: Engine) -> None:
    assert "ledger_signer" not in {field.name for field in dataclasses.fields(Settings)}
    assert settings.ledger_verifier_key == TEST_LEDGER_VERIFIER_KEY
    assert not holds_private_key(create_app(settings, engine))


def test_the_web_settings_never_read_the_signing_key(env: dict[str, str]) -> None:
    # A signing key that does not even parse: the web app's settings do not look at it.
    settings = Settings.from_env({**env, "LEDGER_SIGNING_KEY": "PRIVATE+KEY+broken"})
    assert settings.ledger_verifier_key == TEST_LEDGER_VERIFIER_KEY
    without = {name: value for name, value in env.items() if name != "LEDGER_SIGNING_KEY"}
    assert Settings.from_env(without).ledger_verifier_key == TEST_LEDGER_VERIFIER_KEY


def test_the_web_settings_need_the_verifier_key_with_a_database_url(env: dict[str, str]) -> None:
    without = {name: value for name, value in env.items() if name != "LEDGER_VERIFIER_KEY"}
    with pytest.raises(ConfigError, match="LEDGER_VERIFIER_KEY is not set"):
        Settings.from_env(without)
    with pytest.raises(ConfigError, match="LEDGER_VERIFIER_KEY is not a verifier key"):
        Settings.from_env({**env, "LEDGER_VERIFIER_KEY": "kukar+00000000+AAAA"})


def environment_of(pid: int) -> dict[str, str]:
    """A process's environment, as the kernel shows it to its owner."""
    raw = (PROC / str(pid) / "environ").read_bytes()
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {name.decode(): value.decode(errors="replace") for name, value in pairs}


def key_files_of(pid: int) -> list[Path]:
    """The process's open descriptors of the anonymous file holding the signing key."""
    found = []
    for descriptor in (PROC / str(pid) / "fd").iterdir():
        try:
            target = os.readlink(descriptor)
        except OSError:
            continue
        if "jamkesda-ledger-key" in target:
            found.append(descriptor)
    return found


def workers_of(master: int) -> list[int]:
    """The live gunicorn workers of ``master``: its children other than the sequencer."""
    sequencers = set(sequencers_of(master))
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) in sequencers:
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, parent = stat[stat.rindex(")") + 2 :].split()[:2]
        if int(parent) == master and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not (PROC / "self" / "environ").exists(), reason="reads /proc")
def test_served_workers_have_no_signing_key_and_serve_the_sequencers_checkpoint(
    env: dict[str, str], engine: Engine, keys: dict[str, str], tmp_path: Path
) -> None:
    # As deployed: only LEDGER_SIGNING_KEY is set; the server derives the verifier key.
    served = {name: value for name, value in env.items() if name != "LEDGER_VERIFIER_KEY"}
    with serving_process(served, tmp_path / "server.log", workers=2) as (base, master):
        assert wait_for(lambda: len(workers_of(master.pid)) == 2, seconds=10)
        assert wait_for(lambda: len(sequencers_of(master.pid)) == 1, seconds=10)
        for worker in workers_of(master.pid):
            environment = environment_of(worker)
            assert "LEDGER_SIGNING_KEY" not in environment
            assert TEST_LEDGER_SIGNING_KEY not in environment.values()
            assert environment["LEDGER_VERIFIER_KEY"] == TEST_LEDGER_VERIFIER_KEY
            assert key_files_of(worker) == []
        # The sequencer alone holds it, in an anonymous file whose descriptor it inherited.
        [sequencer] = sequencers_of(master.pid)
        assert "LEDGER_SIGNING_KEY" not in environment_of(sequencer)
        [key_file] = key_files_of(sequencer)
        assert key_file.read_text().strip() == TEST_LEDGER_SIGNING_KEY
        auditor = bearer(keys["auditor"])
        key = requests.get(f"{base}/v1/ledger/key", headers=auditor, timeout=10)
        assert key.text == TEST_LEDGER_VERIFIER_KEY
        # The sequencer signs the empty log's checkpoint in its first round.
        assert wait_for(
            lambda: (
                requests.get(
                    f"{base}/v1/ledger/checkpoint", headers=auditor, timeout=10
                ).status_code
                == 200
            ),
            seconds=10,
        )
        note = requests.get(f"{base}/v1/ledger/checkpoint", headers=auditor, timeout=10)
        checkpoint = parse_checkpoint(verify_note(note.content, TEST_LEDGER_VERIFIER_KEY))
        assert (checkpoint.size, checkpoint.root) == (0, EMPTY_ROOT)


def test_a_server_without_a_sequencer_needs_only_the_verifier_key(
    env: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    served = {name: value for name, value in env.items() if name != "LEDGER_SIGNING_KEY"}
    with serving_process({**served, "LEDGER_SEQUENCER": "off"}, tmp_path / "server.log") as (
        base,
        _master,
    ):
        assert requests.get(f"{base}/readyz", timeout=10).status_code == 200


def test_serve_refuses_a_verifier_key_that_is_not_the_signing_keys(env: dict[str, str]) -> None:
    from service.ledger.note import generate_signer_key, parse_signer_key, verifier_key

    other = verifier_key(parse_signer_key(generate_signer_key("test.jamkesda/ledger")))
    result = serve_briefly({**env, "LEDGER_VERIFIER_KEY": other})
    assert result.returncode == 2
    assert "LEDGER_VERIFIER_KEY is not the verifier key of LEDGER_SIGNING_KEY" in result.stderr


def test_serve_with_a_sequencer_still_needs_the_signing_key(env: dict[str, str]) -> None:
    without = {name: value for name, value in env.items() if name != "LEDGER_SIGNING_KEY"}
    result = serve_briefly(without)
    assert result.returncode == 2
    assert "LEDGER_SIGNING_KEY is not set" in result.stderr
