"""``Client``: the service's checks, batches and audit reads as Python calls."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from jamkesda_client.answers import (
    audit_page,
    batch_result,
    check_result,
    replay_result,
    stats_rows,
)
from jamkesda_client.check_request import CheckRequest, DateLike, item_json
from jamkesda_client.errors import JamkesdaConnectionError, UnexpectedResponseError
from jamkesda_client.filters import FilterValue, audit_query, group_by_value
from jamkesda_client.idempotency import key_for_call
from jamkesda_client.results import BatchResult, CheckResult, Replay
from jamkesda_client.retrying import RetryPolicy
from jamkesda_client.transport import Transport

# The CSV is written to disk in pieces of this size, so an export of any length fits in
# constant memory.
CSV_CHUNK_BYTES = 64 * 1024


def _json(response: requests.Response) -> Any:
    """A success answer's JSON body, or an error saying the answer is not the API's."""
    try:
        return response.json()
    except ValueError as exc:
        raise UnexpectedResponseError(
            f"{response.request.method} {urlsplit(response.url).path}: "
            f"HTTP {response.status_code} without a JSON body"
        ) from exc


def _replayed(response: requests.Response) -> bool:
    """Whether the service answered from a previous attempt with the same Idempotency-Key."""
    return response.headers.get("Idempotent-Replayed", "").strip().lower() == "true"


def _reference(check_id: str) -> str:
    """A check reference as one path segment."""
    return quote(check_id, safe="")


class Client:
    """A connection to the eligibility service with one API key.

    ``timeout`` (seconds) bounds connecting and each wait for the answer in every attempt;
    ``retries`` is how many attempts may follow the first (see ``RetryPolicy`` for the
    waits). Use it as a context manager, or call ``close``, to release its connections.
    """

    def __init__(
        self,
        base_url: str,
        key: str,
        timeout: float = 10.0,
        retries: int = 3,
        *,
        backoff: float = 0.5,
        max_wait: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        """A client of the service at ``base_url`` with the API ``key``."""
        self._transport = Transport(
            base_url, key, timeout, RetryPolicy(retries, backoff, max_wait), session
        )

    def __enter__(self) -> Client:
        """The client itself, closed at the end of the block."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the client."""
        self.close()

    def close(self) -> None:
        """Release the pooled connections."""
        self._transport.close()

    # --- desk and integration keys ---------------------------------------------------

    def check(
        self,
        nik: str,
        *,
        service_date: DateLike | None = None,
        service_type: str | None = None,
        operator_id: str | None = None,
        patient_name: str | None = None,
        birth_date: DateLike | None = None,
        external_ref: str | None = None,
        idempotency_key: str | None = None,
    ) -> CheckResult:
        """Check one NIK (``POST /v1/checks``): the recorded decision.

        Every attempt carries the same Idempotency-Key (a fresh one unless given), so
        however many attempts it takes, the service records one check.
        """
        request = CheckRequest(
            nik, service_date, service_type, operator_id, patient_name, birth_date, external_ref
        )
        response = self._transport.send(
            "POST",
            "/v1/checks",
            json_body=request.to_json(),
            idempotency_key=key_for_call(idempotency_key),
        )
        return check_result(_json(response), _replayed(response))

    def check_batch(
        self,
        items: Iterable[CheckRequest | Mapping[str, Any]],
        *,
        idempotency_key: str | None = None,
    ) -> BatchResult:
        """Check up to 100 NIKs in one request (``POST /v1/checks/batch``, integration keys).

        Each item is a ``CheckRequest`` or a dict of its fields (``nik`` included). The
        results come in the order of the items: a ``CheckResult``, or a ``BatchProblem``
        for an item the service refused (recorded too, with its ``check_id``).
        """
        body = {"checks": [item_json(item) for item in items]}
        response = self._transport.send(
            "POST",
            "/v1/checks/batch",
            json_body=body,
            idempotency_key=key_for_call(idempotency_key),
        )
        return batch_result(_json(response), _replayed(response))

    def get_check(self, check_id: str) -> CheckResult:
        """A check of this key's facility read again by its reference."""
        response = self._transport.send("GET", f"/v1/checks/{_reference(check_id)}")
        return check_result(_json(response))

    # --- auditor keys -----------------------------------------------------------------

    def audit_checks(self, **filters: FilterValue) -> Iterator[dict[str, Any]]:
        """Every record matching the filters, newest first, fetched a page at a time.

        Filters: nik, facility, client, operator, decision, reason, ``from_`` (or
        ``since``), to, batch, and limit (the page size). Each record is the service's
        ``AuditRecord`` as a dict.
        """
        # The filters are read now, so that a wrong one fails here and not at the first item.
        return self._audit_pages(audit_query(filters))

    def _audit_pages(self, query: dict[str, str]) -> Iterator[dict[str, Any]]:
        """The listing's records, passing each page's next_cursor back until it is null."""
        while True:
            page = self._transport.send("GET", "/v1/audit/checks", params=query)
            records, cursor = audit_page(_json(page))
            yield from records
            if cursor is None:
                return
            query = {**query, "cursor": cursor}

    def audit_record(self, check_id: str) -> dict[str, Any]:
        """One ``AuditRecord`` of any facility."""
        response = self._transport.send("GET", f"/v1/audit/checks/{_reference(check_id)}")
        record: dict[str, Any] = _json(response)
        return record

    def replay(self, check_id: str) -> Replay:
        """The recorded decision beside the same request decided on the data then and now."""
        path = f"/v1/audit/checks/{_reference(check_id)}/replay"
        return replay_result(_json(self._transport.send("GET", path)))

    def stats(self, group_by: str | Sequence[str], **filters: FilterValue) -> list[dict[str, Any]]:
        """Counts and denial rates grouped by facility, decision, reason and/or day."""
        query = {**audit_query(filters), "group_by": group_by_value(group_by)}
        return stats_rows(_json(self._transport.send("GET", "/v1/audit/stats", params=query)))

    def export_csv(self, path: str | os.PathLike[str], **filters: FilterValue) -> Path:
        """Download the matching records as CSV into ``path``, streamed in constant memory.

        The file appears under its name only once complete: a download cut off midway
        raises ``JamkesdaConnectionError`` and leaves no file that looks whole.
        """
        target = Path(path)
        partial = target.with_name(target.name + ".part")
        response = self._transport.send(
            "GET", "/v1/audit/checks.csv", params=audit_query(filters), stream=True
        )
        try:
            with response, partial.open("wb") as output:
                for chunk in response.iter_content(chunk_size=CSV_CHUNK_BYTES):
                    output.write(chunk)
        except BaseException as exc:
            partial.unlink(missing_ok=True)
            if isinstance(exc, requests.RequestException):
                raise JamkesdaConnectionError(
                    f"the CSV download broke off: {type(exc).__name__}",
                    attempts=1,
                    idempotency_key=None,
                ) from exc
            raise
        os.replace(partial, target)
        return target

    def checkpoint(self) -> str:
        """The ledger's latest signed checkpoint, as text (C2SP signed note)."""
        return self._transport.send("GET", "/v1/ledger/checkpoint").text
