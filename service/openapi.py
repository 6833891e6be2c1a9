"""The OpenAPI document, generated from the schemas and views, as committed in ``openapi.yaml``."""

from __future__ import annotations

from typing import Any

import yaml


def openapi_text(api: Any) -> str:
    """The API's OpenAPI document as YAML text, keys in a stable order."""
    return yaml.safe_dump(api.spec.to_dict(), sort_keys=True, allow_unicode=True)
