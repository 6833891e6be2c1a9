"""The console's figures of the audit benchmark: a search by NIK and a record page.

Set-up, before the server starts (``prepare``):

- the synthetic registry the records' NIKs come from is imported (``jamkesda import`` of
  its population, Jamkesda and JKN files), so that a record page's replay finds the
  person by the record's NIK hash and reads real facts, as in production;
- the oldest ``BENCH_CONSOLE_SEQUENCED`` records (default 100,000) are queued and
  sequenced (``jamkesda ledger sequence --force``), so that their record pages have a
  leaf, a signed checkpoint and an inclusion proof to verify. The generator writes
  records without the ledger's queue trigger, so no record is sequenced otherwise, and
  sequencing all ten million takes a quarter of an hour; a proof at 10^5 leaves is the
  same single read of stored hashes as at 10^7, seven hashes shorter.

Measured (``measure``), on the server the other figures use: an auditor signs in
through the sign-in page (a ``requests.Session``; the CSRF token from the form), then,
one request at a time on one keep-alive connection:

- a search by NIK, for random registry NIKs: the POST of the search form and the
  redirect it answers, to the results page (newest 50 records of the NIK);
- ``GET /console/pemeriksaan/<check_id>`` for random sequenced records: the record, its
  replay (as then and as now) and its ledger state (signature and inclusion proof
  verified).

Each is timed twice: by the client, from sending to the last byte (a search: both
requests), and by the server, from gunicorn's access-log line of each request (its
``%(M)s``, whole milliseconds; a search adds its two lines). Target: p99 ≤ 300 ms of
server time, each.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Mapping
from pathlib import Path

import requests
from sqlalchemy import Engine, text

from bench.audit_data import AuditData
from bench.audit_timing import Timing
from bench.common import jamkesda

SEQUENCED = int(os.environ.get("BENCH_CONSOLE_SEQUENCED", "100000"))
REQUESTS = int(os.environ.get("BENCH_AUDIT_REQUESTS", "200"))
WARM_UP_REQUESTS = 20
TARGET_MS = 300.0
REGISTRY_SOURCES = ("population", "jamkesda", "jkn")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# gunicorn's access-log line (service/gunicorn_conf.py): '... "GET /path" 200 1234 12ms'.
_LOG_LINE = re.compile(r'"(GET|POST) (\S+)" (\d{3}) \S+ (\d+)ms$')
_RECORD_LINK = re.compile(r'href="/console/pemeriksaan/[0-9A-Z-]{14}"')


def prepare(engine: Engine, env: Mapping[str, str], folder: Path, records: int) -> int:
    """Import the registry and sequence the oldest records; how many were sequenced."""
    for source in REGISTRY_SOURCES:
        started = time.perf_counter()
        jamkesda(["import", source, str(folder / f"{source}.csv")], env, timeout=900)
        print(f"  console: import {source}: {time.perf_counter() - started:.1f} s", flush=True)
    count = min(SEQUENCED, records)
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO ledger_queue (record_id) SELECT id FROM check_records WHERE id <= :n"
            ),
            {"n": count},
        )
    jamkesda(["ledger", "sequence", "--force"], env, timeout=3600)
    print(f"  console: sequenced {count:,} records: {time.perf_counter() - started:.1f} s")
    return count


class ConsoleAuditor:
    """An auditor in the console: a signed-in session and the search form's CSRF token."""

    def __init__(self, base: str, key: str) -> None:
        self.base = base
        self.http = requests.Session()
        signin = self.http.get(f"{base}/console/", timeout=30)
        answer = self.http.post(
            f"{base}/console/", data={"csrf_token": _csrf(signin.text), "kunci": key}, timeout=30
        )
        if not answer.url.endswith("/console/pemeriksaan") or answer.status_code != 200:
            raise RuntimeError(f"console sign-in failed: {answer.status_code} {answer.url}")
        self.csrf = _csrf(answer.text)

    def search(self, nik: str) -> tuple[float, requests.Response]:
        """Post a search by NIK and follow it to its results; ms and the results page."""
        started = time.perf_counter()
        answer = self.http.post(
            f"{self.base}/console/pemeriksaan",
            data={"csrf_token": self.csrf, "nik": nik},
            timeout=60,
        )
        return (time.perf_counter() - started) * 1000, answer

    def record(self, check_id: str) -> tuple[float, requests.Response]:
        """Open a record page; ms and the page."""
        started = time.perf_counter()
        answer = self.http.get(f"{self.base}/console/pemeriksaan/{check_id}", timeout=60)
        return (time.perf_counter() - started) * 1000, answer


def _csrf(html: str) -> str:
    found = _CSRF.search(html)
    if found is None:
        raise RuntimeError("no CSRF token on the console page")
    return found.group(1)


def _log_end(log: Path) -> int:
    """Where the next access-log line will start, once the lines of the last answer are in."""
    # A worker writes its line after the answer's last byte: give it time to.
    time.sleep(0.5)
    return log.stat().st_size


def _server_ms(log: Path, offset: int) -> list[tuple[str, str, int, int]]:
    """The access-log lines written since ``offset``: method, path, status, ms."""
    time.sleep(0.5)
    with log.open("rb") as file:
        file.seek(offset)
        lines = file.read().decode("utf-8", "replace").splitlines()
    found = [_LOG_LINE.search(line) for line in lines]
    return [(m[1], m[2], int(m[3]), int(m[4])) for m in found if m]


def _sequenced_references(engine: Engine, count: int, rng: random.Random) -> list[str]:
    ids = rng.sample(range(1, count + 1), min(REQUESTS + WARM_UP_REQUESTS, count))
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, check_id FROM check_records WHERE id = ANY(:ids)"), {"ids": ids}
        ).all()
    by_id = {int(row[0]): str(row[1]) for row in rows}
    return [by_id[i] for i in ids]


def measure(
    base: str,
    data: AuditData,
    engine: Engine,
    log: Path,
    sequenced: int,
    rng: random.Random,
) -> list[Timing]:
    """Time the two console figures; server time held against the target, client beside it."""
    auditor = ConsoleAuditor(base, data.auditor_key)
    target = f"p99 <= {TARGET_MS:g} ms (server)"
    search = Timing("console search by NIK, server", target, TARGET_MS, "p99")
    search_client = Timing("console search by NIK, client", "(reference)", float("inf"), "p99")
    page = Timing("console record page, server", target, TARGET_MS, "p99", paged=False)
    page_client = Timing(
        "console record page, client", "(reference)", float("inf"), "p99", paged=False
    )
    niks = rng.sample(data.niks, REQUESTS + WARM_UP_REQUESTS)
    for nik in niks[:WARM_UP_REQUESTS]:
        auditor.search(nik)
    offset = _log_end(log)
    shown = []
    for nik in niks[WARM_UP_REQUESTS:]:
        ms, answer = auditor.search(nik)
        rows = len(_RECORD_LINK.findall(answer.text))
        shown.append(rows)
        search_client.add(ms, answer.status_code, rows, {"nik": "(random)"})
    lines = [line for line in _server_ms(log, offset) if line[1] == "/console/pemeriksaan"]
    if len(lines) != 2 * REQUESTS:
        raise RuntimeError(f"expected {2 * REQUESTS} search log lines, found {len(lines)}")
    for post, results, rows in zip(lines[::2], lines[1::2], shown, strict=True):
        status = results[2] if post[2] == 303 else post[2]
        search.add(post[3] + results[3], status, rows, {})

    references = _sequenced_references(engine, sequenced, rng)
    for check_id in references[:WARM_UP_REQUESTS]:
        auditor.record(check_id)
    offset = _log_end(log)
    for check_id in references[WARM_UP_REQUESTS:]:
        ms, answer = auditor.record(check_id)
        verified = int("Terverifikasi</strong>" in answer.text)
        page_client.add(ms, answer.status_code, verified, {"check_id": check_id})
    for method, path, status, ms in _server_ms(log, offset):
        if method == "GET" and path.startswith("/console/pemeriksaan/"):
            page.add(ms, status, 1, {"check_id": path.rsplit("/", 1)[1]})
    if len(page.latencies_ms) != len(references) - WARM_UP_REQUESTS:
        raise RuntimeError("the server's log does not hold every record page")
    verified = sum(page_client.items)
    print(f"  console: {verified} of {len(page_client.items)} record pages verified their proof")
    return [search, search_client, page, page_client]
