"""Settings read from the environment, in one place."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from service.policy import Policy, load_policy

PROJECT_DIR = Path(__file__).resolve().parent.parent
MIN_KEY_LENGTH = 32


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
    return f"sqlite:///{folder / 'jamkesda.db'}"


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
    file = instance_dir(env) / "nik_hash_key"
    if not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        # Created readable by the owner only, so the secret is never exposed in between.
        descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as key_file:
            key_file.write(secrets.token_hex(32) + "\n")
    return file.read_text(encoding="utf-8").strip().encode("utf-8")


@dataclass(frozen=True)
class Settings:
    """Everything the web application needs to start."""

    database_url: str
    nik_hash_key: bytes
    policy: Policy

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        """Read and check the settings; raise ``ConfigError`` or ``PolicyError`` if unusable."""
        return cls(
            database_url=database_url(env),
            nik_hash_key=nik_hash_key(env),
            policy=load_policy(env.get("JAMKESDA_POLICY") or None),
        )
