"""Whether an answer keeps to ``openapi.yaml``: the contract run's checks, for one answer.

``tests/test_api_contract.py`` finds answers that break the document with generated
requests against a live server; a test here pins one such answer, in process and fast.
"""

from __future__ import annotations

import re
from typing import Any

import schemathesis
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.test_server import REPO_DIR

DOCUMENT = schemathesis.openapi.from_path(REPO_DIR / "openapi.yaml")
# What every answer must satisfy (SPEC §11): no 5xx, and nothing that breaks the document.
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def assert_documented(method: str, path: str, response: Any) -> None:
    """Fail unless ``response`` to ``method`` on the document's ``path`` keeps to it.

    ``path`` is the document's template (``/v1/checks/{check_id}``); ``response`` a Flask
    test client's answer or a ``requests`` one. No 5xx, a documented status and content
    type, and a body and headers that conform to the documented schemas.
    """
    # The case only names the operation; its path parameters stand in for those sent.
    names = re.findall(r"{(\w+)}", path)
    case = DOCUMENT[path][method.upper()].Case(path_parameters=dict.fromkeys(names, "x"))
    case.validate_response(response, checks=CHECKS)
