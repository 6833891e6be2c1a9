"""The eligibility policy: a versioned TOML file of the rules' parameters (pure)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

BUNDLED_DIR = Path(__file__).parent / "policies"
DEFAULT_VERSION = "kukar-2025.1"


class PolicyError(ValueError):
    """The policy file is missing, malformed or incomplete; the message names the file and key."""


@dataclass(frozen=True)
class Policy:
    """The parameters of SPEC §4, as one version of the policy file gives them."""

    version: str
    regency_codes: tuple[str, ...]
    min_residency_days: int
    newborn_exempt: bool
    require_jamkesda_membership: bool
    default_class: str
    timezone: str

    def covers_region(self, village_code: str) -> bool:
        """Whether a domicile code lies in the regency (prefix match, dots ignored)."""
        code = village_code.replace(".", "")
        return any(code.startswith(prefix.replace(".", "")) for prefix in self.regency_codes)

    @property
    def zone(self) -> ZoneInfo:
        """The time zone in which 'today' and service dates are read."""
        return ZoneInfo(self.timezone)


_TYPES: dict[str, type] = {
    "version": str,
    "regency_codes": list,
    "min_residency_days": int,
    "newborn_exempt": bool,
    "require_jamkesda_membership": bool,
    "default_class": str,
    "timezone": str,
}


def _check(data: dict[str, Any], source: str) -> Policy:
    missing = [key for key in _TYPES if key not in data]
    if missing:
        raise PolicyError(f"{source}: missing key(s): {', '.join(missing)}")
    for key, expected in _TYPES.items():
        value = data[key]
        # bool is a subclass of int in Python; a day count of `true` is still wrong.
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise PolicyError(f"{source}: key '{key}' must be a {expected.__name__}")
    codes = data["regency_codes"]
    if not codes or not all(isinstance(c, str) and c.replace(".", "").isdigit() for c in codes):
        raise PolicyError(f"{source}: 'regency_codes' must be a non-empty list of region codes")
    if data["min_residency_days"] < 0:
        raise PolicyError(f"{source}: 'min_residency_days' must not be negative")
    if not data["version"].strip():
        raise PolicyError(f"{source}: 'version' must not be empty")
    try:
        ZoneInfo(data["timezone"])
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PolicyError(f"{source}: unknown 'timezone' {data['timezone']!r}") from exc
    return Policy(
        version=data["version"],
        regency_codes=tuple(codes),
        min_residency_days=data["min_residency_days"],
        newborn_exempt=data["newborn_exempt"],
        require_jamkesda_membership=data["require_jamkesda_membership"],
        default_class=data["default_class"],
        timezone=data["timezone"],
    )


def parse_policy(text: str, source: str = "policy") -> Policy:
    """Read a policy from TOML text; ``source`` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from exc
    return _check(data, source)


def load_policy(path: str | Path | None = None) -> Policy:
    """Load the policy file at ``path``, or the bundled default when it is None."""
    file = Path(path) if path else BUNDLED_DIR / f"{DEFAULT_VERSION}.toml"
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{file}: cannot read the policy file: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{file}: the policy file is not UTF-8 text") from exc
    return parse_policy(text, str(file))


def bundled_policies() -> dict[str, Policy]:
    """Every policy version shipped with the package, by version, for replays."""
    policies = (load_policy(file) for file in sorted(BUNDLED_DIR.glob("*.toml")))
    return {policy.version: policy for policy in policies}
