"""The client's audit reads as requests on the wire: CSV streaming, paging, filter names."""

from __future__ import annotations

import hashlib
import tracemalloc
from datetime import date
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from jamkesda_client import Client, JamkesdaConnectionError

from tests.client_fakes import Answer, json_answer, scripted_server

KEY = "auditor-key"
CHUNK = b"K7QM-3XD9-2F4A,2026-11-28T09:14:03+08:00,6402**********01,NOT_ELIGIBLE\r\n" * 900
CSV_BYTES = 32 * 1024 * 1024


def _stream_csv(handler: BaseHTTPRequestHandler) -> None:
    """Write a 32 MiB CSV answer piece by piece, as the service streams an export."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/csv")
    handler.send_header("Content-Length", str(CSV_BYTES))
    handler.end_headers()
    sent = 0
    while sent < CSV_BYTES:
        piece = CHUNK[: CSV_BYTES - sent]
        handler.wfile.write(piece)
        sent += len(piece)


def _cut_off(handler: BaseHTTPRequestHandler) -> None:
    """Promise a megabyte, send a tenth of it, and drop the connection."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/csv")
    handler.send_header("Content-Length", str(1024 * 1024))
    handler.end_headers()
    handler.wfile.write(b"x" * 100_000)
    handler.wfile.flush()
    handler.close_connection = True


def _expected_digest() -> str:
    """The SHA-256 of what ``_stream_csv`` sends."""
    digest, sent = hashlib.sha256(), 0
    while sent < CSV_BYTES:
        piece = CHUNK[: CSV_BYTES - sent]
        digest.update(piece)
        sent += len(piece)
    return digest.hexdigest()


def test_export_csv_streams_to_the_file_in_constant_memory(tmp_path: Path) -> None:
    target = tmp_path / "checks.csv"
    with scripted_server(Answer(200, body=_stream_csv)) as fake, Client(fake.url, KEY) as client:
        tracemalloc.start()
        try:
            client.export_csv(target, decision="NOT_ELIGIBLE", from_=date(2026, 3, 1))
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert target.stat().st_size == CSV_BYTES
    assert hashlib.sha256(target.read_bytes()).hexdigest() == _expected_digest()
    # 32 MiB went through a few hundred KiB of memory at most.
    assert peak < 2 * 1024 * 1024
    request = urlsplit(fake.requests[0].path)
    assert request.path == "/v1/audit/checks.csv"
    assert parse_qs(request.query) == {"decision": ["NOT_ELIGIBLE"], "from": ["2026-03-01"]}


def test_an_export_cut_off_midway_raises_and_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "checks.csv"
    with (
        scripted_server(Answer(200, body=_cut_off)) as fake,
        Client(fake.url, KEY) as client,
        pytest.raises(JamkesdaConnectionError),
    ):
        client.export_csv(target)
    assert list(tmp_path.iterdir()) == []


def test_audit_checks_passes_each_next_cursor_back_until_it_is_null() -> None:
    pages = [
        json_answer(200, {"items": [{"check_id": "A"}, {"check_id": "B"}], "next_cursor": "c1"}),
        json_answer(200, {"items": [{"check_id": "C"}, {"check_id": "D"}], "next_cursor": "c2"}),
        json_answer(200, {"items": [{"check_id": "E"}], "next_cursor": None}),
    ]
    with scripted_server(*pages) as fake, Client(fake.url, KEY) as client:
        records = list(client.audit_checks(since="2026-03-01", to=date(2026, 3, 31), limit=2))
    assert [record["check_id"] for record in records] == ["A", "B", "C", "D", "E"]
    queries = [parse_qs(urlsplit(seen.path).query) for seen in fake.requests]
    filters = {"from": ["2026-03-01"], "to": ["2026-03-31"], "limit": ["2"]}
    assert queries == [filters, {**filters, "cursor": ["c1"]}, {**filters, "cursor": ["c2"]}]


def test_from_and_since_together_are_refused_before_anything_is_sent() -> None:
    with (
        scripted_server() as fake,
        Client(fake.url, KEY) as client,
        pytest.raises(TypeError, match="from"),
    ):
        list(client.audit_checks(from_="2026-03-01", since="2026-03-02"))
    assert fake.requests == []


def test_stats_sends_group_by_as_a_comma_list() -> None:
    rows = [{"decision": "ELIGIBLE", "count": 2}]
    with (
        scripted_server(json_answer(200, {"rows": rows})) as fake,
        Client(fake.url, KEY) as client,
    ):
        assert client.stats(["facility", "decision"], facility="1040001") == rows
    query = parse_qs(urlsplit(fake.requests[0].path).query)
    assert query == {"group_by": ["facility,decision"], "facility": ["1040001"]}
