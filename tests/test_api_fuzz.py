"""No input produces a 500 or an HTML page: random bodies get a decision or a problem."""

from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import bearer

FIELDS = (
    "nik",
    "service_date",
    "service_type",
    "operator_id",
    "patient_name",
    "birth_date",
    "external_ref",
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
nik_like = st.from_regex(r"[0-9 .\-]{0,20}", fullmatch=True)
bodies = st.dictionaries(
    st.sampled_from(FIELDS) | st.text(max_size=8),
    json_values | nik_like | st.dates().map(str),
    max_size=7,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies | json_values)
def test_any_json_body_gets_a_decision_or_a_problem(
    http: FlaskClient, keys: dict[str, str], body: Any
) -> None:
    response = http.post(
        "/v1/checks",
        data=json.dumps(body),
        content_type="application/json",
        headers=bearer(keys["desk"]),
    )
    assert response.status_code in (201, 400, 422), response.get_data(as_text=True)
    if response.status_code == 201:
        assert response.mimetype == "application/json"
        assert response.get_json()["decision"] == "UNDETERMINED"
    else:
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["code"]


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=200))
def test_any_bytes_get_a_problem_not_a_crash(
    http: FlaskClient, keys: dict[str, str], raw: bytes
) -> None:
    response = http.post(
        "/v1/checks", data=raw, content_type="application/json", headers=bearer(keys["desk"])
    )
    assert response.status_code in (201, 400, 422)
    assert response.mimetype in ("application/json", "application/problem+json")


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(reference=st.text(max_size=30))
def test_any_reference_gets_a_problem_not_a_crash(
    http: FlaskClient, keys: dict[str, str], reference: str
) -> None:
    response = http.get(f"/v1/checks/{reference}", headers=bearer(keys["desk"]))
    assert response.status_code in (404, 422, 308)
    if response.status_code != 308:
        assert response.mimetype == "application/problem+json"
