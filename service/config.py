"""Settings read from the environment, in one place."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path

from service.ledger.note import (
    InvalidNote,
    Signer,
    check_verifier_key,
    generate_signer_key,
    parse_signer_key,
    verifier_key,
)
from service.policy import Policy, load_policy
from service.ratelimit.rates import InvalidRate, Rate, parse_rate

PROJECT_DIR = Path(__file__).resolve().parent.parent
MIN_KEY_LENGTH = 32
# The log's origin (its checkpoints' first line) is the signing key's name; a key that
# `jamkesda ledger keygen` or the SQLite default generates gets this one.
DEFAULT_LEDGER_ORIGIN = "kukarkab.go.id/jamkesda/ledger"
DEFAULT_CHECKPOINT_INTERVAL = 10.0
# SPEC §13: a record decided this many seconds before the latest checkpoint was signed is
# quarantined, not sequenced, and the verifiers report leaves that go back this far.
DEFAULT_MAX_SKEW_SECONDS = 300
# The demo's keys in the instance folder: the secret one, and its public verifier key for
# the web workers, which never read the secret one (SPEC §13).
_SIGNING_KEY_FILE = "ledger_signing_key"
_VERIFIER_KEY_FILE = "ledger_verifier_key"
# ``jamkesda serve`` hands the signing key to its sequencer processes through this file
# descriptor (an anonymous in-memory file), never through the environment: a process's
# first environment stays in its memory and in /proc/<pid>/environ, which forked web
# workers would inherit (SPEC §13).
LEDGER_KEY_FD = "JAMKESDA_LEDGER_KEY_FD"
# The embedded SQLite database, in the instance folder, when DATABASE_URL is not set.
DEFAULT_DATABASE_FILE = "jamkesda.db"
DEFAULT_RATE_LIMIT = Rate(20, "s")
DEFAULT_RATE_LIMIT_ANONYMOUS = Rate(10, "s")
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
# More proxies than this in a row is a typing error, not a deployment.
MAX_PROXY_HOPS = 10


class ConfigError(RuntimeError):
    """The environment does not allow the service to start; the message says what to set."""


def instance_dir(env: Mapping[str, str] = os.environ) -> Path:
    """The folder of local state: the SQLite default, the demo's generated secrets."""
    return Path(env.get("JAMKESDA_INSTANCE", PROJECT_DIR / "instance"))


def private_folder(folder: Path) -> Path:
    """``folder``, created owner-only (0700) when missing, as is everything kept in it.

    An existing folder keeps its mode: ``JAMKESDA_INSTANCE`` may name a folder that other
    things share, which is not ours to close. The files the service keeps there (the
    secrets, the SQLite database, the demo's keys) are owner-only themselves.
    """
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def database_url(env: Mapping[str, str] = os.environ) -> str:
    """``DATABASE_URL``, or the embedded SQLite file in ``instance/``.

    The SQLite file itself is created owner-only by ``service.db.make_engine``.
    """
    url = env.get("DATABASE_URL", "").strip()
    if url:
        return url
    folder = private_folder(instance_dir(env))
    return f"sqlite:///{folder / DEFAULT_DATABASE_FILE}"


def nik_hash_key(env: Mapping[str, str] = os.environ) -> bytes:
    """The secret key of the NIK hash.

    A real deployment must set ``NIK_HASH_KEY``: losing or changing it makes every
    earlier record unsearchable by NIK. Only the embedded SQLite default (the demo)
    may generate one, kept in ``instance/`` so that it survives restarts.
    """
    key = env.get("NIK_HASH_KEY", "")
    if key:
        if len(key) < MIN_KEY_LENGTH:
            raise ConfigError(f"NIK_HASH_KEY must be at least {MIN_KEY_LENGTH} characters long.")
        return key.encode("utf-8")
    if env.get("DATABASE_URL", "").strip():
        raise ConfigError(
            "NIK_HASH_KEY is not set. Set it to a long random secret (for example the output "
            "of `python -c 'import secrets; print(secrets.token_hex(32))'`) and keep it safe."
        )
    return _instance_secret(env, "nik_hash_key", lambda: secrets.token_hex(32)).encode("utf-8")


def ledger_signer(env: Mapping[str, str] = os.environ) -> Signer:
    """The Ed25519 key that signs the ledger's checkpoints; its name is the log's origin.

    As with the NIK hash key, a real deployment must set ``LEDGER_SIGNING_KEY``: auditors
    keep the verifier key, and checkpoints signed by another key no longer verify. Only
    the embedded SQLite default (the demo) may generate one into ``instance/``.
    """
    key = env.get("LEDGER_SIGNING_KEY", "").strip() or _key_from_descriptor(env)
    generated = not key
    if not key:
        if env.get("DATABASE_URL", "").strip():
            raise ConfigError(
                "LEDGER_SIGNING_KEY is not set. Generate one with `jamkesda ledger keygen`, "
                "set it, keep it secret, and publish the verifier key it prints."
            )
        key = _instance_secret(
            env, _SIGNING_KEY_FILE, lambda: generate_signer_key(DEFAULT_LEDGER_ORIGIN)
        )
    try:
        signer = parse_signer_key(key)
    except InvalidNote as error:
        raise ConfigError(
            f"LEDGER_SIGNING_KEY is not a signer key ({error}); generate one with "
            "`jamkesda ledger keygen`."
        ) from error
    if generated:
        # The demo's web workers read the public half from here, never the secret file.
        _instance_secret(env, _VERIFIER_KEY_FILE, lambda: verifier_key(signer))
    return signer


def ledger_verifier_key(env: Mapping[str, str] = os.environ) -> str:
    """``LEDGER_VERIFIER_KEY``: the public key of the checkpoints' signatures.

    The web workers serve it and check stored checkpoints with it; only the sequencer
    process holds the signing key (SPEC §13). ``jamkesda serve`` sets it for its workers
    from ``LEDGER_SIGNING_KEY``; the embedded SQLite default keeps it beside its generated
    signing key in ``instance/``.
    """
    key = env.get("LEDGER_VERIFIER_KEY", "").strip()
    if not key and not env.get("DATABASE_URL", "").strip():
        file = instance_dir(env) / _VERIFIER_KEY_FILE
        if not file.exists():
            # The demo's first start: generating its signing key writes the public half.
            ledger_signer(env)
        key = file.read_text(encoding="utf-8").strip()
    if not key:
        raise ConfigError(
            "LEDGER_VERIFIER_KEY is not set. It is the verifier key that `jamkesda ledger "
            "keygen` printed beside LEDGER_SIGNING_KEY; `jamkesda serve` sets it itself "
            "from LEDGER_SIGNING_KEY."
        )
    try:
        return check_verifier_key(key)
    except InvalidNote as error:
        raise ConfigError(f"LEDGER_VERIFIER_KEY is not a verifier key ({error}).") from error


def withhold_ledger_signing_key(env: MutableMapping[str, str], sequencer: bool) -> str | None:
    """Keep the signing key from the web workers: move it out of ``env`` (SPEC §13).

    For ``jamkesda serve``, before it forks workers: sets ``LEDGER_VERIFIER_KEY`` to the
    signing key's verifier key (refusing one that differs), removes ``LEDGER_SIGNING_KEY``
    from ``env`` and returns it, for the sequencer process alone (None when it is not in
    the environment: the demo's sequencer reads it from ``instance/``, and a server
    started again by ``jamkesda serve`` finds it behind ``LEDGER_KEY_FD``). A server
    without a sequencer needs no signing key, only the verifier key.
    """
    if env.get(LEDGER_KEY_FD) or (not sequencer and not env.get("LEDGER_SIGNING_KEY", "").strip()):
        ledger_verifier_key(env)
        return None
    signer = ledger_signer(env)
    given = env.get("LEDGER_VERIFIER_KEY", "").strip()
    if given and given != verifier_key(signer):
        raise ConfigError(
            "LEDGER_VERIFIER_KEY is not the verifier key of LEDGER_SIGNING_KEY: set the one "
            "that `jamkesda ledger keygen` printed with it, or leave it unset."
        )
    env["LEDGER_VERIFIER_KEY"] = verifier_key(signer)
    return env.pop("LEDGER_SIGNING_KEY", None) or None


def ledger_key_descriptor(key: str) -> int:
    """An inheritable descriptor of an anonymous file holding ``key``, for ``LEDGER_KEY_FD``."""
    if hasattr(os, "memfd_create"):
        descriptor = os.memfd_create("jamkesda-ledger-key")
    else:  # pragma: no cover - not Linux: an unlinked temporary file does the same
        with tempfile.TemporaryFile() as file:
            descriptor = os.dup(file.fileno())
    os.write(descriptor, key.encode("utf-8"))
    os.set_inheritable(descriptor, True)
    return descriptor


def ledger_key_descriptors(env: Mapping[str, str] = os.environ) -> tuple[int, ...]:
    """The descriptor named by ``LEDGER_KEY_FD``, for a sequencer process to inherit; or none."""
    text = env.get(LEDGER_KEY_FD, "")
    return (int(text),) if text.isdigit() else ()


def forget_ledger_key_descriptor(env: MutableMapping[str, str] = os.environ) -> None:
    """Close the key's descriptor in a forked web worker, which must not be able to read it."""
    for descriptor in ledger_key_descriptors(env):
        # Already closed is as good: the worker cannot read it either way.
        with contextlib.suppress(OSError):
            os.close(descriptor)
    env.pop(LEDGER_KEY_FD, None)


def _key_from_descriptor(env: Mapping[str, str]) -> str:
    """The signing key behind ``LEDGER_KEY_FD``, or "" when there is none."""
    for descriptor in ledger_key_descriptors(env):
        try:
            return os.pread(descriptor, 4096, 0).decode("utf-8").strip()
        except OSError as error:
            message = f"{LEDGER_KEY_FD}: the signing key cannot be read ({error})."
            raise ConfigError(message) from error
    return ""


def ledger_sequencer_enabled(env: Mapping[str, str] = os.environ) -> bool:
    """``LEDGER_SEQUENCER``: whether ``jamkesda serve`` runs a sequencer process (default on)."""
    return env.get("LEDGER_SEQUENCER", "on").strip().lower() != "off"


def ledger_max_skew_seconds(env: Mapping[str, str] = os.environ) -> int:
    """``LEDGER_MAX_SKEW_SECONDS``: how far a record's time may lie before the latest checkpoint.

    A whole number of seconds, 0 or more (default 300, SPEC §13).
    """
    text = env.get("LEDGER_MAX_SKEW_SECONDS", "").strip()
    if not text:
        return DEFAULT_MAX_SKEW_SECONDS
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise ConfigError(
            "LEDGER_MAX_SKEW_SECONDS must be a whole number of seconds, 0 or more (default "
            f"{DEFAULT_MAX_SKEW_SECONDS})."
        )
    return int(text)


def console_secret_key(env: Mapping[str, str] = os.environ) -> str:
    """``CONSOLE_SECRET_KEY``: signs the web pages' session cookies and CSRF tokens.

    As with the other secrets, a deployment with ``DATABASE_URL`` must set it (every
    worker and server must sign with the same key); the SQLite default generates one into
    ``instance/``. Changing it signs everyone out of the pages, nothing more.
    """
    key = env.get("CONSOLE_SECRET_KEY", "").strip()
    if key:
        if len(key) < MIN_KEY_LENGTH:
            raise ConfigError(
                f"CONSOLE_SECRET_KEY must be at least {MIN_KEY_LENGTH} characters long."
            )
        return key
    if env.get("DATABASE_URL", "").strip():
        raise ConfigError(
            "CONSOLE_SECRET_KEY is not set. Set it to a long random secret (for example the "
            "output of `python -c 'import secrets; print(secrets.token_hex(32))'`): it signs "
            "the web pages' sessions."
        )
    return _instance_secret(env, "console_secret_key", lambda: secrets.token_hex(32))


def ledger_checkpoint_interval(env: Mapping[str, str] = os.environ) -> float:
    """``LEDGER_CHECKPOINT_INTERVAL``: at least this many seconds between two checkpoints."""
    text = env.get("LEDGER_CHECKPOINT_INTERVAL", "").strip()
    if not text:
        return DEFAULT_CHECKPOINT_INTERVAL
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise ConfigError("LEDGER_CHECKPOINT_INTERVAL must be a number of seconds, 0 or more.")
    return seconds


def request_log(env: Mapping[str, str] = os.environ) -> bool:
    """``REQUEST_LOG``: ``on`` (the default) writes a JSON line per request; ``off`` none."""
    return _on_or_off(env, "REQUEST_LOG")


def _on_or_off(env: Mapping[str, str], name: str) -> bool:
    """A switch ``name``: ``on`` (the default) or ``off``; anything else stops start-up."""
    text = env.get(name, "").strip().lower() or "on"
    if text not in ("on", "off"):
        raise ConfigError(f"{name} must be on or off.")
    return text == "on"


def proxy_hops(env: Mapping[str, str] = os.environ) -> int:
    """``PROXY_HOPS``: how many reverse proxies in front of the server to believe (default 0).

    Behind nginx every request comes from 127.0.0.1 over plain HTTP; with ``PROXY_HOPS=1``
    the client's address and scheme are read from the ``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` headers the proxy sets. With 0 those headers are ignored, so that
    a client talking to the server directly cannot choose the address it is counted under.
    """
    text = env.get("PROXY_HOPS", "").strip() or "0"
    if not text.isascii() or not text.isdigit() or int(text) > MAX_PROXY_HOPS:
        raise ConfigError(
            f"PROXY_HOPS must be a whole number from 0 to {MAX_PROXY_HOPS}: the number of "
            "reverse proxies in front of the server (1 behind the nginx of deploy/)."
        )
    return int(text)


def rate_limit(env: Mapping[str, str] = os.environ) -> Rate | None:
    """``RATE_LIMIT``: each key's rate, ``N/s`` or ``N/m`` (default 20/s); ``off``: none."""
    return _rate(env, "RATE_LIMIT", DEFAULT_RATE_LIMIT)


def rate_limit_anonymous(env: Mapping[str, str] = os.environ) -> Rate | None:
    """``RATE_LIMIT_ANONYMOUS``: the rate per client address of requests without a valid
    key (SPEC §13), ``N/s`` or ``N/m`` (default 10/s); ``off``: none."""
    return _rate(env, "RATE_LIMIT_ANONYMOUS", DEFAULT_RATE_LIMIT_ANONYMOUS)


def _rate(env: Mapping[str, str], name: str, default: Rate) -> Rate | None:
    """The rate named ``name``, ``default`` when unset, None for ``off``.

    ``off`` exists to measure what the limits cost; a server in service keeps them.
    """
    text = env.get(name, "").strip() or str(default)
    if text.lower() == "off":
        return None
    try:
        return parse_rate(text)
    except InvalidRate as error:
        raise ConfigError(f"{name}: {error}.") from error


def audit_heavy_slots(env: Mapping[str, str] = os.environ) -> int:
    """``AUDIT_HEAVY_SLOTS``: heavy audit requests running at once in one worker.

    By default half the worker's threads (``JAMKESDA_THREADS``, default 4), so that the
    other half is always free for checks.
    """
    threads_text = env.get("JAMKESDA_THREADS", "").strip() or "4"
    default = max(1, int(threads_text) // 2) if threads_text.isdigit() else 1
    text = env.get("AUDIT_HEAVY_SLOTS", "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ConfigError("AUDIT_HEAVY_SLOTS must be a whole number from 1.")
    return int(text)


def rate_limit_storage_url(env: Mapping[str, str] = os.environ) -> str | None:
    """``RATE_LIMIT_STORAGE_URL``: the Redis that servers share their buckets in, if any."""
    url = env.get("RATE_LIMIT_STORAGE_URL", "").strip()
    if not url:
        return None
    if not url.startswith(_REDIS_SCHEMES):
        raise ConfigError(
            "RATE_LIMIT_STORAGE_URL must be a Redis address (redis://HOST:PORT/DB, "
            "rediss:// or unix://), or unset to keep the limits in the server."
        )
    return url


def metrics(env: Mapping[str, str] = os.environ) -> bool:
    """``METRICS``: ``on`` (the default) counts and serves ``/metrics``; ``off`` neither."""
    return _on_or_off(env, "METRICS")


def _instance_secret(env: Mapping[str, str], name: str, generate: Callable[[], str]) -> str:
    """The secret kept in ``instance/<name>``, generated on first use."""
    file = instance_dir(env) / name
    if not file.exists():
        private_folder(file.parent)
        # Created readable by the owner only, so the secret is never exposed in between.
        descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as key_file:
            key_file.write(generate() + "\n")
    return file.read_text(encoding="utf-8").strip()


@dataclass(frozen=True)
class Settings:
    """Everything the web application needs to start."""

    database_url: str
    nik_hash_key: bytes
    policy: Policy
    # Only the public key: the web workers never hold the signing key (SPEC §13), they
    # serve the checkpoints the sequencer process stored.
    ledger_verifier_key: str
    ledger_checkpoint_interval: float = DEFAULT_CHECKPOINT_INTERVAL
    # Empty only where no page is served to a browser (the OpenAPI writer, some tests):
    # the app then signs with a random key of its own process.
    console_secret_key: str = ""
    # One JSON line per request on standard error (SPEC §11); off only to measure its cost.
    request_log: bool = True
    # Prometheus metrics and ``/metrics`` (SPEC §11); off only to measure what they cost.
    metrics: bool = True
    # SPEC §11: each key's rate (None: no limits, only to measure their cost), and the
    # Redis the servers share their buckets in (None: each server keeps its own).
    rate_limit: Rate | None = DEFAULT_RATE_LIMIT
    rate_limit_anonymous: Rate | None = DEFAULT_RATE_LIMIT_ANONYMOUS
    rate_limit_storage_url: str | None = None
    # Heavy audit requests (replay, stats, CSV, reports) at once per worker (service.audit.heavy).
    audit_heavy_slots: int = 2
    # Reverse proxies in front of the server whose X-Forwarded-For and -Proto are believed.
    proxy_hops: int = 0

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        """Read and check the settings; raise ``ConfigError`` or ``PolicyError`` if unusable."""
        return cls(
            database_url=database_url(env),
            nik_hash_key=nik_hash_key(env),
            policy=load_policy(env.get("JAMKESDA_POLICY") or None),
            ledger_verifier_key=ledger_verifier_key(env),
            ledger_checkpoint_interval=ledger_checkpoint_interval(env),
            console_secret_key=console_secret_key(env),
            request_log=request_log(env),
            metrics=metrics(env),
            rate_limit=rate_limit(env),
            rate_limit_anonymous=rate_limit_anonymous(env),
            rate_limit_storage_url=rate_limit_storage_url(env),
            audit_heavy_slots=audit_heavy_slots(env),
            proxy_hops=proxy_hops(env),
        )
