"""The desk page's door onto the check (SPEC §10, §9): a posted form becomes a check request.

Nothing is decided here: the form's fields are the API's request members, validated by
the API's own ``parse_check_request`` and decided and recorded by ``check_eligibility``
under a ``CheckContext`` whose channel is ``desk``. A refused form is recorded as
``INVALID_REQUEST`` exactly as the API records a refused body.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from service import clock, db
from service.api.checks import check_context
from service.api.schemas import CheckRequestSchema, InvalidCheckRequest, parse_check_request
from service.checks import check_eligibility, record_invalid_request
from service.errors import Problem, field_messages
from service.logs import name_in_log
from service.metrics import count_checks

# The form's fields are the API's request members, so the two cannot drift apart.
FIELDS = tuple(CheckRequestSchema().fields)
CHANNEL = "desk"
logger = logging.getLogger(__name__)
# A clerk reads this instead of the answer when the database fails: never a denial.
NOT_A_REFUSAL = (
    "Pemeriksaan belum dapat dilakukan karena gangguan pada basis data, dan tidak ada yang "
    "dicatat. Ini BUKAN penolakan: jangan tolak pasien. Layani sesuai prosedur sementara "
    "dan ulangi pemeriksaan sebentar lagi."
)


@dataclass(frozen=True)
class Refused:
    """A form that could not be decided: its recorded reference and the faults by field."""

    check_id: str
    errors: dict[str, list[str]]


def request_body(form: Mapping[str, str]) -> dict[str, str]:
    """The API request body of a posted form: its filled fields, trimmed; the rest left out."""
    body: dict[str, str] = {}
    for name in FIELDS:
        value = form.get(name, "").strip()
        if value:
            body[name] = value
    return body


def _messages(errors: Mapping[str, Any]) -> dict[str, list[str]]:
    return {name: field_messages(texts) for name, texts in errors.items()}


def desk_check(body: dict[str, str]) -> str | Refused:
    """Decide and record the form's check as the API would: its reference, or the refusal."""
    context = check_context(channel=CHANNEL)
    connection = db.autocommit_connection()
    try:
        try:
            request = parse_check_request(body, clock.today(context.policy.zone))
        except InvalidCheckRequest as invalid:
            record = record_invalid_request(connection, context, body, invalid.errors)
            name_in_log(record.check_id)
            count_checks([(record.decision, record.channel)])
            return Refused(record.check_id, _messages(invalid.errors))
        record = check_eligibility(connection, context, request).record
        name_in_log(record.check_id)
        count_checks([(record.decision, record.channel)])
        return record.check_id
    except SQLAlchemyError as error:
        # Nothing was decided: the record and the decision go together (SPEC §2).
        logger.error("database unavailable: %s", type(error).__name__)
        db.session().rollback()
        raise Problem(503, "DATABASE_UNAVAILABLE", NOT_A_REFUSAL) from error
