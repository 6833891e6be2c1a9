"""Settings read from the environment, in one place."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from service.ledger.note import InvalidNote, Signer, generate_signer_key, parse_signer_key
from service.policy import Policy, load_policy
from service.ratelimit.rates import InvalidRate, Rate, parse_rate

PROJECT_DIR = Path(__file__).resolve().parent.parent
MIN_KEY_LENGTH = 32
# The log's origin (its checkpoints' first line) is the signing key's name; a key that
# `jamkesda ledger keygen` or the SQLite default generates gets this one.
DEFAULT_LEDGER_ORIGIN = "kukarkab.go.id/jamkesda/ledger"
DEFAULT_CHECKPOINT_INTERVAL = 10.0
# The embedded SQLite database, in the instance folder, when DATABASE_URL is not set.
DEFAULT_DATABASE_FILE = "jamkesda.db"
DEFAULT_RATE_LIMIT = Rate(20, "s")
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class ConfigError(RuntimeError):
    """The environment does not allow the service to start; the message says what to set."""


def instance_dir(env: Mapping[str, str] = os.environ) -> Path:
    """The folder of local state: the SQLite default, the demo's generated secrets."""
    return Path(env.get("JAMKESDA_INSTANCE", PROJECT_DIR / "instance"))


def database_url(env: Mapping[str, str] = os.environ) -> str:
    """``DATABASE_URL``, or the embedded SQLite file in ``instance/``."""
    url = env.get("DATABASE_URL", "").strip()
    if url:
        return url
    folder = instance_dir(env)
    folder.mkdir(parents=True, exist_ok=True)
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
    key = env.get("LEDGER_SIGNING_KEY", "").strip()
    if not key:
        if env.get("DATABASE_URL", "").strip():
            raise ConfigError(
                "LEDGER_SIGNING_KEY is not set. Generate one with `jamkesda ledger keygen`, "
                "set it, keep it secret, and publish the verifier key it prints."
            )
        key = _instance_secret(
            env, "ledger_signing_key", lambda: generate_signer_key(DEFAULT_LEDGER_ORIGIN)
        )
    try:
        return parse_signer_key(key)
    except InvalidNote as error:
        raise ConfigError(
            f"LEDGER_SIGNING_KEY is not a signer key ({error}); generate one with "
            "`jamkesda ledger keygen`."
        ) from error


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
    text = env.get("REQUEST_LOG", "").strip().lower() or "on"
    if text not in ("on", "off"):
        raise ConfigError("REQUEST_LOG must be on or off.")
    return text == "on"


def rate_limit(env: Mapping[str, str] = os.environ) -> Rate | None:
    """``RATE_LIMIT``: each key's rate, ``N/s`` or ``N/m`` (default 20/s); ``off``: none.

    ``off`` exists to measure what the limiter costs; a server in service keeps a limit.
    """
    text = env.get("RATE_LIMIT", "").strip() or str(DEFAULT_RATE_LIMIT)
    if text.lower() == "off":
        return None
    try:
        return parse_rate(text)
    except InvalidRate as error:
        raise ConfigError(f"RATE_LIMIT: {error}.") from error


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
    text = env.get("METRICS", "").strip().lower() or "on"
    if text not in ("on", "off"):
        raise ConfigError("METRICS must be on or off.")
    return text == "on"


def _instance_secret(env: Mapping[str, str], name: str, generate: Callable[[], str]) -> str:
    """The secret kept in ``instance/<name>``, generated on first use."""
    file = instance_dir(env) / name
    if not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
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
    ledger_signer: Signer
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
    rate_limit_storage_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        """Read and check the settings; raise ``ConfigError`` or ``PolicyError`` if unusable."""
        return cls(
            database_url=database_url(env),
            nik_hash_key=nik_hash_key(env),
            policy=load_policy(env.get("JAMKESDA_POLICY") or None),
            ledger_signer=ledger_signer(env),
            ledger_checkpoint_interval=ledger_checkpoint_interval(env),
            console_secret_key=console_secret_key(env),
            request_log=request_log(env),
            metrics=metrics(env),
            rate_limit=rate_limit(env),
            rate_limit_storage_url=rate_limit_storage_url(env),
        )
