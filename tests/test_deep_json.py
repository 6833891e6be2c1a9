"""JSON nested deeper than the parser follows is a 400 at every JSON door (SPEC §13)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import CheckRecord
from tests.conftest import bearer

# Both under the 64 KiB body limit, both far deeper than Python's recursion limit.
DEEP = "[" * 30000 + "]" * 30000
DEEP_OBJECT = '{"a":' * 10000 + "1" + "}" * 10000


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["array", "object"])
@pytest.mark.parametrize(
    ("path", "role", "content_type", "code"),
    [
        ("/v1/checks", "desk", "application/json", "MALFORMED_JSON"),
        ("/v1/checks/batch", "integration", "application/json", "MALFORMED_JSON"),
        (
            "/fhir/R4/CoverageEligibilityRequest/$submit",
            "integration",
            "application/fhir+json",
            None,
        ),
    ],
)
def test_a_body_nested_thousands_deep_is_400_and_records_nothing(
    http: FlaskClient,
    keys: dict[str, str],
    session: Session,
    body: str,
    path: str,
    role: str,
    content_type: str,
    code: str | None,
) -> None:
    response = http.post(
        path, data=body, headers={**bearer(keys[role]), "Content-Type": content_type}
    )
    assert response.status_code == 400
    document = response.get_json()
    if code is not None:
        assert document["code"] == code
    else:
        assert document["resourceType"] == "OperationOutcome"
    assert session.scalar(select(func.count()).select_from(CheckRecord)) == 0
