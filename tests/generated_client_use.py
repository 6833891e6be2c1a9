"""Run by tests/test_openapi_clients.py with a client that openapi-python-client generated.

Usage: python generated_client_use.py FOLDER BASE_URL DESK_KEY AUDITOR_KEY NIK. Prints what
the generated client read, as JSON, for the test to check.
"""

from __future__ import annotations

import json
import sys

sys.path.insert(0, sys.argv[1])

from jamkesda_api import AuthenticatedClient, Client
from jamkesda_api.api.audit import list_audit_checks
from jamkesda_api.api.checks import create_check, get_check
from jamkesda_api.api.health import get_health
from jamkesda_api.models import CheckRequest, CheckResponse, Problem

base, desk_key, auditor_key, nik = sys.argv[2:6]
desk = AuthenticatedClient(base_url=base, token=desk_key)
made = create_check.sync(client=desk, body=CheckRequest(nik=nik, operator_id="rina"))
assert isinstance(made, CheckResponse), made
read = get_check.sync(client=desk, check_id=made.check_id)
assert isinstance(read, CheckResponse), read
refused = create_check.sync(client=desk, body=CheckRequest(nik="6402"))
assert isinstance(refused, Problem), refused
auditor = AuthenticatedClient(base_url=base, token=auditor_key)
page = list_audit_checks.sync(client=auditor, nik=nik)
health = get_health.sync(client=Client(base_url=base))
print(
    json.dumps(
        {
            "check_id": made.check_id,
            "decision": str(made.decision),
            "read_decision": str(read.decision),
            "refused_code": refused.code,
            "refused_check_id": refused.check_id,
            "listed": [item.check_id for item in page.items] if page else None,
            "health": health.status if health else None,
        }
    )
)
