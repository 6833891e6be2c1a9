"""The service's JSON answers read into the library's result objects."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from jamkesda_client.errors import UnexpectedResponseError
from jamkesda_client.results import (
    BatchItem,
    BatchProblem,
    BatchResult,
    CheckResult,
    Coverage,
    DataAsOf,
    Dispute,
    IdentityMatch,
    Reason,
    Replay,
    Verdict,
)

COVERED = ("ELIGIBLE", "COVERED_BY_JKN")


def _member(body: Mapping[str, Any], name: str) -> Any:
    """A required member of an answer; its absence means the answer is not the API's."""
    try:
        return body[name]
    except KeyError:
        raise UnexpectedResponseError(f"the answer has no {name!r}") from None


def _object(value: Any, what: str) -> Mapping[str, Any]:
    """A JSON object, or an error naming what was expected."""
    if not isinstance(value, Mapping):
        raise UnexpectedResponseError(f"{what} is not a JSON object")
    return value


def _date(value: Any) -> date | None:
    """``YYYY-MM-DD`` or null."""
    return None if value is None else date.fromisoformat(str(value))


def _moment(value: Any) -> datetime:
    """An ISO 8601 date-time with an offset (``Z`` too, which Python 3.9 does not read)."""
    text = str(value)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def reasons_from(value: Any) -> tuple[Reason, ...]:
    """A list of ``{code, message}`` as reasons."""
    return tuple(
        Reason(str(_member(item, "code")), str(item.get("message") or ""))
        for item in (_object(reason, "a reason") for reason in value or ())
    )


def _coverage(value: Any) -> Coverage | None:
    """``coverage`` or null."""
    if value is None:
        return None
    coverage = _object(value, "coverage")
    return Coverage(
        scheme=str(coverage.get("scheme")),
        class_=coverage.get("class"),
        valid_until=_date(coverage.get("valid_until")),
    )


def _identity(value: Any) -> IdentityMatch | None:
    """``identity_match`` or null."""
    if value is None:
        return None
    identity = _object(value, "identity_match")
    return IdentityMatch(str(identity.get("name")), str(identity.get("birth_date")))


def _dispute(value: Any) -> Dispute | None:
    """``dispute`` or null."""
    if value is None:
        return None
    dispute = _object(value, "dispute")
    return Dispute(str(dispute.get("reference")), str(dispute.get("message")))


def check_result(value: Any, replayed: bool = False) -> CheckResult:
    """A check answer as a ``CheckResult``."""
    body = _object(value, "the check")
    data_as_of = _object(body.get("data_as_of") or {}, "data_as_of")
    try:
        return CheckResult(
            check_id=str(_member(body, "check_id")),
            decided_at=_moment(_member(body, "decided_at")),
            nik_masked=body.get("nik_masked"),
            decision=str(_member(body, "decision")),
            eligible=bool(body.get("eligible", body.get("decision") in COVERED)),
            reasons=reasons_from(body.get("reasons")),
            coverage=_coverage(body.get("coverage")),
            identity_match=_identity(body.get("identity_match")),
            policy_version=str(body.get("policy_version")),
            data_as_of=DataAsOf(
                population=_date(data_as_of.get("population")),
                jamkesda=_date(data_as_of.get("jamkesda")),
                jkn=_date(data_as_of.get("jkn")),
            ),
            dispute=_dispute(body.get("dispute")),
            emergency_notice=body.get("emergency_notice"),
            raw=body,
            replayed=replayed,
        )
    except ValueError as exc:
        raise UnexpectedResponseError(f"the check has a malformed date: {exc}") from exc


def field_errors(value: Any) -> dict[str, list[str]]:
    """A problem's ``errors`` as field → list of messages (nested lists flattened)."""
    if not isinstance(value, Mapping):
        return {}
    return {str(name): _texts(messages) for name, messages in value.items()}


def _texts(messages: Any) -> list[str]:
    """Messages of one field, however the service nested them, as a flat list."""
    if isinstance(messages, Mapping):
        return [text for item in messages.values() for text in _texts(item)]
    if isinstance(messages, (list, tuple)):
        return [text for item in messages for text in _texts(item)]
    return [str(messages)]


def _batch_problem(index: int, status: int, value: Any) -> BatchProblem:
    """A refused batch item from its problem document."""
    problem = _object(value, "a batch item's problem")
    check_id = problem.get("check_id")
    return BatchProblem(
        index=index,
        status=status,
        code=problem.get("code"),
        detail=str(problem.get("detail") or ""),
        errors=field_errors(problem.get("errors")),
        check_id=None if check_id is None else str(check_id),
        raw=problem,
    )


def _batch_item(value: Any) -> tuple[int, BatchItem]:
    """One item of a batch answer with its index."""
    item = _object(value, "a batch item")
    index, status = int(_member(item, "index")), int(_member(item, "status"))
    if "check" in item and item["check"] is not None:
        return index, check_result(item["check"])
    return index, _batch_problem(index, status, _member(item, "problem"))


def batch_result(value: Any, replayed: bool = False) -> BatchResult:
    """A batch answer, its results put in the order of the request by their index."""
    body = _object(value, "the batch")
    items = sorted((_batch_item(item) for item in _member(body, "results")), key=lambda i: i[0])
    return BatchResult(
        batch_id=str(_member(body, "batch_id")),
        results=tuple(result for _index, result in items),
        raw=body,
        replayed=replayed,
    )


def _verdict(value: Any) -> Verdict:
    """One part of a replay: ``{decision, reasons}``."""
    part = _object(value, "a replay part")
    return Verdict(str(_member(part, "decision")), reasons_from(part.get("reasons")))


def replay_result(value: Any) -> Replay:
    """A replay answer as a ``Replay``."""
    body = _object(value, "the replay")
    return Replay(
        recorded=_verdict(_member(body, "recorded")),
        as_of_then=_verdict(_member(body, "as_of_then")),
        as_of_now=_verdict(_member(body, "as_of_now")),
        same_as_recorded=bool(_member(body, "same_as_recorded")),
        raw=body,
    )


def audit_page(value: Any) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the audit listing: its records and the cursor of the next page (or None)."""
    page = _object(value, "the page")
    items = _member(page, "items")
    cursor = page.get("next_cursor")
    return list(items), None if cursor is None else str(cursor)


def stats_rows(value: Any) -> list[dict[str, Any]]:
    """The rows of ``GET /v1/audit/stats``."""
    return list(_member(_object(value, "the statistics"), "rows"))
