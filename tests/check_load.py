"""Checks sent to a served app under a fault, and the bookkeeping that holds it to SPEC §2.

Every request carries an ``external_ref`` of its own, so that each answer (or each request
that got none) can be matched to the record the service wrote for it afterwards. The load
is a few client threads, each sending one check after another on a fresh connection, so
that a connection cut by a fault cuts exactly one request.
"""

from __future__ import annotations

import itertools
import os
import socket
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from types import TracebackType

import requests
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import CheckRecord
from tests.conftest import MOVED_IN_FROM_SAMARINDA, RESIDENT
from tests.factories import (
    TODAY,
    add_facility,
    add_jkn,
    add_key,
    add_membership,
    add_person,
    add_snapshot,
)

# Every request gives up after this long: a fault must never hang a desk.
REQUEST_TIMEOUT_SECONDS = 10.0
# A short pause between one client's checks keeps a busy two-core machine responsive.
PAUSE_SECONDS = 0.02
REFUSED_PAUSE_SECONDS = 0.1
CLIENTS = 4
FACILITY = "1040001"
INVALID_NIK = "6402 0101 019"
# What each NIK of ``add_registry`` truly gets (as tests/test_api_checks.py states it).
EXPECTED = {
    RESIDENT: "ELIGIBLE",
    MOVED_IN_FROM_SAMARINDA: "ELIGIBLE",
    "6402010101800002": "NOT_ELIGIBLE",  # deceased
    "6402010101800003": "NOT_ELIGIBLE",  # moved out
    "6402010101800004": "NOT_ELIGIBLE",  # lives outside Kukar
    "6402010101800005": "COVERED_BY_JKN",
    "6402010101900099": "NOT_ELIGIBLE",  # not in the registry
}
# The NIKs the clients cycle through: each decision, and a refused request now and then.
NIKS = [*EXPECTED, INVALID_NIK]
# The only codes a fault may answer with: nothing was decided, retry (SPEC §2.1).
UNAVAILABLE_CODES = {"DATABASE_UNAVAILABLE"}


def add_registry(session: Session) -> None:
    """The people of ``EXPECTED``: the ``registry`` fixture's, and one not registered."""
    population = add_snapshot(session, "population", TODAY - timedelta(days=3))
    jamkesda = add_snapshot(session, "jamkesda", TODAY - timedelta(days=1))
    jkn = add_snapshot(session, "jkn", TODAY - timedelta(days=2))
    add_person(session, population, RESIDENT, birth_date=date(1990, 1, 1))
    add_membership(session, jamkesda, RESIDENT, kelas="II", end_date=TODAY + timedelta(days=30))
    add_person(session, population, MOVED_IN_FROM_SAMARINDA)
    add_membership(session, jamkesda, MOVED_IN_FROM_SAMARINDA)
    add_person(session, population, "6402010101800002", status="MATI")
    add_person(session, population, "6402010101800003", status="PINDAH")
    add_membership(session, jamkesda, "6402010101800003")
    add_person(session, population, "6402010101800004", village_code="6472010001")
    add_person(session, population, "6402010101800005")
    add_jkn(session, jkn, "6402010101800005")


def prepare_desk(session: Session) -> str:
    """A puskesmas, its desk key and the registry, committed; the desk key."""
    add_facility(session, FACILITY, "Puskesmas Loa Janan")
    key = add_key(session, "desk", FACILITY)
    add_registry(session)
    session.commit()
    return key


@dataclass
class Sent:
    """One check request and what became of it (``status`` None: no answer arrived)."""

    ref: str
    nik: str
    started: float
    ended: float | None = None
    status: int | None = None
    media_type: str = ""
    code: str | None = None
    decision: str | None = None
    check_id: str | None = None
    error: str | None = None

    @property
    def cut_off(self) -> bool:
        """No answer arrived: the connection failed, was refused or timed out."""
        return self.ended is not None and self.status is None

    @property
    def refused(self) -> bool:
        """The connection was refused: the server never saw this request."""
        return self.cut_off and "Connection refused" in (self.error or "")

    def describe(self) -> str:
        """One line for an assertion message."""
        answer = self.error if self.status is None else f"{self.status} {self.code or ''}"
        return f"{self.ref} nik={self.nik} -> {answer} {self.decision or ''} {self.check_id or ''}"


class CheckLog:
    """Every check a test sends to one server, in the order sent; safe across threads."""

    def __init__(self, base: str, key: str) -> None:
        self.base = base
        self.key = key
        self._sent: list[Sent] = []
        self._lock = threading.Lock()
        self._numbers = itertools.count()

    def sent(self) -> list[Sent]:
        """A copy of every request so far (those in flight included)."""
        with self._lock:
            return list(self._sent)

    def in_flight(self) -> list[Sent]:
        """The requests sent whose answer (or failure) has not come yet."""
        return [sent for sent in self.sent() if sent.ended is None]

    def check(self, nik: str, tag: str) -> Sent:
        """Send one check with a fresh ``external_ref`` and note what became of it."""
        sent = Sent(f"{tag}-{next(self._numbers)}", nik, time.monotonic())
        with self._lock:
            self._sent.append(sent)
        try:
            answer = requests.post(
                f"{self.base}/v1/checks",
                json={"nik": nik, "external_ref": sent.ref, "operator_id": "fault-test"},
                # A connection of its own: a fault that cuts it cuts this request only.
                headers={"Authorization": f"Bearer {self.key}", "Connection": "close"},
                timeout=REQUEST_TIMEOUT_SECONDS,
            )
            _note_answer(sent, answer)
        except requests.RequestException as error:
            sent.error = f"{type(error).__name__}: {error}"
        sent.ended = time.monotonic()
        return sent


def _note_answer(sent: Sent, answer: requests.Response) -> None:
    sent.status = answer.status_code
    sent.media_type = answer.headers.get("Content-Type", "")
    try:
        body = answer.json()
    except ValueError:
        return
    if isinstance(body, dict):
        sent.code = body.get("code")
        sent.decision = body.get("decision")
        sent.check_id = body.get("check_id")


class CheckLoad:
    """``CLIENTS`` threads sending checks in a loop until the block ends."""

    def __init__(self, log: CheckLog, tag: str = "load") -> None:
        self.log = log
        self.tag = tag
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._send_checks, args=(number,), daemon=True)
            for number in range(CLIENTS)
        ]

    def __enter__(self) -> CheckLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(REQUEST_TIMEOUT_SECONDS + 5)

    def _send_checks(self, number: int) -> None:
        # Each client starts at another NIK, so that every decision is in flight at once.
        for nik in itertools.islice(itertools.cycle(NIKS), number * 2, None):
            if self._stopping.is_set():
                return
            sent = self.log.check(nik, f"{self.tag}{number}")
            # A desk whose server is gone tries again a little later, not at once.
            time.sleep(REFUSED_PAUSE_SECONDS if sent.refused else PAUSE_SECONDS)


def check_every_nik(log: CheckLog, tag: str) -> list[Sent]:
    """One check of each NIK, one after another."""
    return [log.check(nik, tag) for nik in NIKS]


def assert_healthy_answers(answers: list[Sent]) -> None:
    """Every NIK got its true decision (and the refused request its 422), nothing failed."""
    wrong = [sent for sent in answers if sent.status != expected_status(sent.nik)]
    wrong += [sent for sent in answers if sent.decision != EXPECTED.get(sent.nik)]
    assert not wrong, "\n".join(sent.describe() for sent in wrong)


def expected_status(nik: str) -> int:
    """201 for a NIK that can be decided, 422 for the malformed one."""
    return 422 if nik == INVALID_NIK else 201


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> float:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.05)
    return time.monotonic()


def wait_for_answers(log: CheckLog, after: float, count: int, seconds: float) -> float:
    """Wait until ``count`` checks sent after ``after`` were answered 201 or 422."""

    def answered() -> bool:
        good = [s for s in log.sent() if s.started > after and s.status in (201, 422)]
        return len(good) >= count

    return wait_until(answered, seconds, f"{count} checks answered after the fault")


@dataclass(frozen=True)
class Stored:
    """What a record says that a request can be matched against."""

    check_id: str
    external_ref: str | None
    decision: str


def stored_records(engine: Engine) -> list[Stored]:
    """Every check record in the database (the test's database holds no others)."""
    with Session(engine) as session:
        rows = session.execute(
            select(CheckRecord.check_id, CheckRecord.external_ref, CheckRecord.decision)
        ).all()
    return [Stored(*row) for row in rows]


def assert_promises_kept(sent: list[Sent], records: list[Stored], faults: bool) -> Counter[str]:
    """SPEC §2 over a whole run: no false denial, no answer without its record.

    ``faults``: whether the database was made unavailable (503 answers allowed). Returns
    how many requests ended each way, for the test's report.
    """
    assert all(s.ended is not None for s in sent), "a request still in flight"
    problems = _wrong_answers(sent, faults) + _unmatched_records(sent, records)
    assert not problems, "\n".join(problems[:40])
    return Counter("cut off" if s.cut_off else f"{s.status} {s.decision or s.code}" for s in sent)


def _wrong_answers(sent: list[Sent], faults: bool) -> list[str]:
    """Answers a fault must never give: a wrong decision, a 500, any other status."""
    problems = []
    for request in sent:
        if request.cut_off:
            continue
        if request.status == 503 and faults:
            if request.code not in UNAVAILABLE_CODES or "problem+json" not in request.media_type:
                problems.append(f"a 503 that is not DATABASE_UNAVAILABLE: {request.describe()}")
        elif request.status != expected_status(request.nik):
            problems.append(f"unexpected status: {request.describe()}")
        elif request.status == 201 and request.decision != EXPECTED[request.nik]:
            problems.append(
                f"wrong decision (expected {EXPECTED[request.nik]}): {request.describe()}"
            )
        elif request.status == 422 and (request.code != "INVALID_NIK" or not request.check_id):
            problems.append(f"a 422 without its reference: {request.describe()}")
    return problems


def _unmatched_records(sent: list[Sent], records: list[Stored]) -> list[str]:
    """Answers without their record, records without a request, records of a 503."""
    problems = []
    by_ref: dict[str | None, list[Stored]] = {}
    for record in records:
        by_ref.setdefault(record.external_ref, []).append(record)
    requests_by_ref = {request.ref: request for request in sent}
    for ref, found in by_ref.items():
        if ref not in requests_by_ref:
            problems.append(f"records no request of the test made: {found}")
        elif len(found) > 1:
            problems.append(f"one request, {len(found)} records: {found}")
    for request in sent:
        found = by_ref.get(request.ref, [])
        if request.status in (201, 422):
            if [r.check_id for r in found] != [request.check_id]:
                problems.append(f"an answer without its record: {request.describe()} {found}")
            elif found[0].decision != (request.decision or "INVALID_REQUEST"):
                problems.append(f"a record of another decision: {request.describe()} {found}")
        elif request.cut_off:
            # Cut off after its record committed: on file, and it must be a true decision.
            if found and found[0].decision not in (EXPECTED.get(request.nik), "INVALID_REQUEST"):
                problems.append(f"a wrong decision on file: {request.describe()} {found}")
            if found and request.refused:
                problems.append(f"a refused connection with a record: {request.describe()}")
        elif found:
            problems.append(f"a record for a {request.status} answer: {request.describe()} {found}")
    return problems


def assert_recovered(sent: list[Sent], fault_ended: float, seconds: float) -> float:
    """The last failed check came within ``seconds`` of the fault's end; how long after."""
    failed = [s for s in sent if s.status not in (201, 422)]
    last = max((s.started for s in failed), default=fault_ended)
    assert last - fault_ended <= seconds, (
        f"checks still failed {last - fault_ended:.1f} s after the fault ended"
    )
    later = [s for s in sent if s.started > last]
    assert later, "no check was answered after the last failure"
    return max(0.0, last - fault_ended)


def server_children(pid: int) -> list[int]:
    """The child processes of ``pid`` (every thread's)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with suppress(FileNotFoundError):
            children += [int(child) for child in (task / "children").read_text().split()]
    return children


def command_line(pid: int) -> list[str]:
    """A process's command line ([] once it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return []
    return raw.decode(errors="replace").split("\0")[:-1]


def worker_pids(server_pid: int) -> list[int]:
    """gunicorn's workers: forks of the server, with its command line (not the sequencer's)."""
    own = command_line(server_pid)
    return [child for child in server_children(server_pid) if command_line(child) == own]


def worker_serving(server_pid: int, port: int) -> int | None:
    """A worker holding a connection to the server's port open: one serving a request now."""
    established = _established_sockets(port)
    for pid in worker_pids(server_pid):
        if _open_sockets(pid) & established:
            return pid
    return None


def _established_sockets(port: int) -> set[str]:
    """The inodes of the established loopback connections whose server end is ``port``."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if int(local.split(":")[1], 16) == port and state == "01":
            inodes.add(inode)
    return inodes


def _open_sockets(pid: int) -> set[str]:
    """The inodes of the sockets a process has open."""
    inodes = set()
    with suppress(FileNotFoundError):
        for descriptor in Path(f"/proc/{pid}/fd").iterdir():
            with suppress(OSError):
                target = os.readlink(descriptor)
                if target.startswith("socket:["):
                    inodes.add(target.removeprefix("socket:[").removesuffix("]"))
    return inodes


def is_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie not yet reaped counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def refuses_connections(base: str) -> bool:
    """Whether nothing listens on the server's port any more."""
    host, port = base.removeprefix("http://").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


@contextmanager
def records_held(engine: Engine) -> Iterator[None]:
    """Every record's insert waits until the block ends; reading facts does not.

    Requests started meanwhile stay in flight (decided, not yet recorded) for as long as
    the test wants. On SQLite the test holds the write lock (the server waits up to its
    busy timeout, 10 s). On PostgreSQL a trigger polls a row the test deletes at the end:
    polled, not a lock waited for, because the server gives up any lock wait after 2 s;
    and a row, not a lock, so that a fault that kills the test's connections or restarts
    the server does not let the inserts go.
    """
    if engine.dialect.name == "sqlite":
        with _sqlite_write_lock(engine):
            yield
        return
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE records_on_hold (held boolean)")
        connection.exec_driver_sql("INSERT INTO records_on_hold VALUES (true)")
        connection.exec_driver_sql(
            "CREATE FUNCTION hold_records() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "WHILE EXISTS (SELECT FROM records_on_hold) LOOP PERFORM pg_sleep(0.02); END LOOP; "
            "RETURN NEW; END $$"
        )
        connection.exec_driver_sql(
            "CREATE TRIGGER hold_records BEFORE INSERT ON check_records "
            "FOR EACH ROW EXECUTE FUNCTION hold_records()"
        )
    try:
        yield
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql("DELETE FROM records_on_hold")
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TRIGGER hold_records ON check_records")
            connection.exec_driver_sql("DROP FUNCTION hold_records()")
            connection.exec_driver_sql("DROP TABLE records_on_hold")


@contextmanager
def _sqlite_write_lock(engine: Engine) -> Iterator[None]:
    """Hold SQLite's write lock on the database file (``BEGIN IMMEDIATE``) in the block."""
    connection = sqlite3.connect(str(engine.url.database), isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()
