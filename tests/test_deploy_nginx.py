"""The production set-up of ``deploy/`` (SPEC §13): nginx with TLS in front of ``jamkesda serve``.

Issue 14, finding 1: bare gunicorn reads each request's headers in one of its worker
threads, so a few dozen connections that send their headers a line a second hold every
thread and the desks' checks wait. The test starts Debian's nginx with
``deploy/nginx/jamkesda.conf`` (only ports, paths and the upstream changed) and a
throw-away certificate in front of ``jamkesda serve`` with ``PROXY_HOPS=1``, all on
loopback, and shows: checks work over HTTPS and port 80 sends browsers there; the app
sees the client's address and HTTPS; the slow-header attack starves gunicorn when it
faces clients itself, and does not delay a check made through nginx.

nginx is not installed at test time: ``.ci/run`` installs Debian's ``nginx`` package,
and the test fails (it does not skip) where it is missing.
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import pwd
import select
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine
from sqlalchemy import select as select_rows
from sqlalchemy.orm import Session

from models import AccessRecord
from tests.factories import add_facility, add_key
from tests.test_server import free_port, serving_process

REPO_DIR = Path(__file__).resolve().parent.parent
DEPLOYED_CONF = REPO_DIR / "deploy" / "nginx" / "jamkesda.conf"
NIK = "6402014101900001"
# Loopback holds all of 127/8: a client at another address than the proxy's own.
CLIENT_ADDRESS = "127.0.0.5"
START_SECONDS = 10
# The attack: this many connections, each sending one more header line a second.
SLOW_CONNECTIONS = 64
TRICKLE_SECONDS = 1.0
# A desk check answers in milliseconds; gunicorn under attack must not answer in this.
STARVED_PROBE_SECONDS = 3.0
# Through nginx, under the same attack, a check must answer within this.
PROXIED_PROBE_SECONDS = 1.0
# nginx drops a connection that has not sent its whole header in client_header_timeout
# (10 s in the deployed file); allowed this much more to be seen doing it.
HEADER_TIMEOUT = 10.0
HEADER_TIMEOUT_SLACK = 5.0


@dataclass(frozen=True)
class Stack:
    """nginx in front of ``jamkesda serve``: where each listens, and what it trusts."""

    direct: str  # gunicorn, http://127.0.0.1:PORT
    https_port: int
    http_port: int
    certificate: Path
    access_log: Path

    @property
    def https(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def tls_context(self) -> ssl.SSLContext:
        """A client context that trusts only the test's certificate."""
        return ssl.create_default_context(cafile=str(self.certificate))


def nginx_binary() -> str:
    """Debian's nginx; the test fails with what to install when it is missing."""
    found = shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(path, os.X_OK)), None
    )
    if found is None:
        pytest.fail(
            "nginx is not installed: `apt-get install -y nginx` (.ci/run does it in CI). "
            "tests/test_deploy_nginx.py runs deploy/nginx/jamkesda.conf in front of the server."
        )
    return found


def write_certificate(folder: Path) -> tuple[Path, Path]:
    """A throw-away self-signed certificate for 127.0.0.1 and localhost, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        # Its own trust anchor: a CA certificate, as strict verification wants.
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    certificate_file = folder / "cert.pem"
    key_file = folder / "key.pem"
    certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certificate_file, key_file


def substitute(text: str, old: str, new: str) -> str:
    """``text`` with every ``old`` replaced; fails when the deployed file no longer has it."""
    assert old in text, f"deploy/nginx/jamkesda.conf no longer has {old!r}: update this test"
    return text.replace(old, new)


def render_site(folder: Path, upstream: int, https_port: int, http_port: int) -> str:
    """The deployed server blocks with the test's ports, certificate, upstream and logs."""
    certificate, key = write_certificate(folder)
    site = DEPLOYED_CONF.read_text(encoding="utf-8")
    for old, new in (
        ("    listen [::]:80;\n", ""),
        ("    listen [::]:443 ssl;\n", ""),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream};"),
        ("/etc/ssl/jamkesda/fullchain.pem", str(certificate)),
        ("/etc/ssl/jamkesda/privkey.pem", str(key)),
        ("/var/log/nginx/", f"{folder}/"),
    ):
        site = substitute(site, old, new)
    return site


def render_main(folder: Path, site: str) -> str:
    """The main configuration around the site, as Debian's nginx.conf would include it.

    Temporary files and logs go to ``folder``. Run as root, nginx's workers would be
    ``nobody``, who cannot enter pytest's private temporary folder: they run as the
    current user instead (the directive is ignored when not root).
    """
    temp = {name: folder / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    user = pwd.getpwuid(os.geteuid()).pw_name
    return f"""
user {user};
worker_processes 1;
events {{ worker_connections 1024; }}
http {{
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
{site}
}}
"""


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until something listens on ``port``; fail with nginx's log if it does not."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"nginx exited with {process.returncode}:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"nginx did not listen on {port} within {START_SECONDS} s:\n{log.read_text()}")


@contextmanager
def running_nginx(folder: Path, upstream: int) -> Iterator[tuple[int, int]]:
    """nginx in the foreground with the deployed site in front of ``upstream``; its ports."""
    binary = nginx_binary()
    https_port, http_port = free_port(), free_port()
    config = folder / "nginx.conf"
    config.write_text(render_main(folder, render_site(folder, upstream, https_port, http_port)))
    log = folder / "nginx.stderr"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                binary,
                "-p",
                str(folder),
                "-c",
                str(config),
                "-e",
                str(folder / "error.log"),
                "-g",
                f"daemon off; pid {folder / 'nginx.pid'};",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(https_port, process, log)
        wait_for_port(http_port, process, log)
        yield https_port, http_port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def stack(env: dict[str, str], engine: Engine, tmp_path: Path) -> Iterator[Stack]:
    """``jamkesda serve`` (two workers, PROXY_HOPS=1) with the deployed nginx in front."""
    nginx_binary()  # Fail at once, before the server starts, when nginx is missing.
    server_env = {**env, "PROXY_HOPS": "1"}
    with serving_process(server_env, tmp_path / "server.log", workers=2) as (base, _process):
        upstream = int(base.rsplit(":", 1)[1])
        folder = tmp_path / "nginx"
        folder.mkdir()
        with running_nginx(folder, upstream) as (https_port, http_port):
            yield Stack(
                direct=base,
                https_port=https_port,
                http_port=http_port,
                certificate=folder / "cert.pem",
                access_log=folder / "jamkesda.access.log",
            )


@pytest.fixture
def desk_key(session: Session) -> str:
    """A desk key of a puskesmas."""
    add_facility(session, "1040001", "Puskesmas Loa Janan")
    key = add_key(session, "desk", "1040001")
    session.commit()
    return key


def check(base: str, key: str, timeout: float, verify: str | bool = True) -> float:
    """Make a desk check at ``base``; the seconds it took (raises on a time-out)."""
    started = time.perf_counter()
    answer = requests.post(
        f"{base}/v1/checks",
        json={"nik": NIK},
        headers={"Authorization": f"Bearer {key}"},
        timeout=timeout,
        verify=verify,
    )
    assert answer.status_code == 201, answer.text
    return time.perf_counter() - started


def check_over_https(stack: Stack, desk_key: str) -> None:
    """A desk check through nginx, the certificate verified."""
    seconds = check(stack.https, desk_key, 10, verify=str(stack.certificate))
    assert seconds < 2


def redirect_and_headers(stack: Stack) -> None:
    """Port 80 sends browsers to HTTPS; answers carry HSTS and nosniff, no version;
    ``/metrics`` is refused from outside."""
    answer = requests.get(
        f"http://127.0.0.1:{stack.http_port}/desk/?x=1", allow_redirects=False, timeout=10
    )
    assert answer.status_code == 301
    assert answer.headers["Location"] == "https://127.0.0.1/desk/?x=1"
    assert "nginx/" not in answer.headers.get("Server", "")
    page = requests.get(f"{stack.https}/healthz", verify=str(stack.certificate), timeout=10)
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    # The metrics are for the operators' monitoring on the host, not for the public.
    metrics = requests.get(f"{stack.https}/metrics", verify=str(stack.certificate), timeout=10)
    assert metrics.status_code == 403
    assert requests.get(f"{stack.direct}/metrics", timeout=10).status_code == 200


def client_address_and_scheme(stack: Stack, session: Session) -> None:
    """The app sees the client's address and HTTPS; nginx's own log keeps no path."""
    connection = http.client.HTTPSConnection(
        "127.0.0.1",
        stack.https_port,
        source_address=(CLIENT_ADDRESS, 0),
        context=stack.tls_context(),
        timeout=10,
    )
    try:
        # An audit request without a key is refused and logged with the caller's address;
        # the X-Forwarded-For it sends itself is replaced by nginx, never believed.
        connection.request(
            "GET", "/v1/audit/checks?nik=6402014101900001", headers={"X-Forwarded-For": "10.9.9.9"}
        )
        refused = connection.getresponse()
        refused.read()
        assert refused.status == 401
        connection.request("GET", "/console/")
        page = connection.getresponse()
        page.read()
        assert page.status == 200
        cookie = page.getheader("Set-Cookie") or ""
    finally:
        connection.close()
    assert "jamkesda_sesi=" in cookie
    assert "Secure" in cookie.split(";", 1)[1]
    addresses = session.scalars(select_rows(AccessRecord.address)).all()
    assert set(addresses) == {CLIENT_ADDRESS}, addresses
    # nginx's own log names the client and the method, never the path or the query.
    logged = stack.access_log.read_text()
    assert CLIENT_ADDRESS in logged
    assert "6402014101900001" not in logged
    assert "/v1/audit" not in logged


class SlowClients:
    """Connections that send a request line, then one header line a second, never the end.

    One thread does all the socket work (a TLS connection must not be read and written
    from two threads at once): it sends the next line and notes the connections that the
    server answered or closed, which it never should before its header time-out, since
    their headers never end.
    """

    def __init__(self, sockets: list[socket.socket]) -> None:
        self.sockets = sockets
        self.closed: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.opened_at = time.perf_counter()

    def _trickle(self) -> None:
        line = 0
        while not self.stopped.wait(TRICKLE_SECONDS):
            line += 1
            for sock in self.sockets:
                if sock not in self.closed and not _sent(sock, f"X-Slow-{line}: {line}\r\n"):
                    self._note_closed(sock)
            readable, _, _ = select.select(self.sockets, [], [], 0)
            for sock in readable:
                if sock not in self.closed and _ended(sock):
                    self._note_closed(sock)

    def _note_closed(self, sock: socket.socket) -> None:
        with self.lock:
            self.closed.add(sock)

    def closed_by_server(self) -> int:
        """How many connections the server has answered or closed so far."""
        with self.lock:
            return len(self.closed)

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        for sock in self.sockets:
            sock.close()


def _sent(sock: socket.socket, line: str) -> bool:
    """Send one header line; False when the server has closed the connection."""
    try:
        sock.sendall(line.encode())
    except (ssl.SSLWantWriteError, BlockingIOError):
        return True
    except OSError:
        return False
    return True


def _ended(sock: socket.socket) -> bool:
    """Whether a readable connection was answered or closed (and not merely sent TLS
    session tickets, which TLS 1.3 servers send after the handshake)."""
    try:
        sock.recv(4096)
    except (ssl.SSLWantReadError, BlockingIOError):
        return False
    except OSError:
        return True
    return True


@contextmanager
def slow_clients(port: int, context: ssl.SSLContext | None = None) -> Iterator[SlowClients]:
    """``SLOW_CONNECTIONS`` connections trickling their headers to ``port`` (TLS if given)."""
    sockets: list[socket.socket] = []
    clients = SlowClients(sockets)
    try:
        for _ in range(SLOW_CONNECTIONS):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            if context is not None:
                sock = context.wrap_socket(sock, server_hostname="127.0.0.1")
            sock.sendall(b"POST /v1/checks HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            # From now on the trickling thread only sends and peeks: it must never block.
            sock.setblocking(False)
            sockets.append(sock)
        clients.opened_at = time.perf_counter()
        clients.thread.start()
        # Give the server the time to take them all up.
        time.sleep(0.5)
        yield clients
    finally:
        clients.close()


def wait_until_answering(base: str, key: str) -> float:
    """Wait until a check answers again; the seconds it took to come back."""
    started = time.perf_counter()
    deadline = started + 15
    while time.perf_counter() < deadline:
        try:
            check(base, key, 1)
            return time.perf_counter() - started
        except requests.Timeout:
            continue
    pytest.fail("gunicorn did not answer again after the slow clients went away")


def test_the_deployed_nginx_serves_https_and_shields_gunicorn_from_slow_clients(
    stack: Stack, desk_key: str, session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    # One test in parts: starting gunicorn and nginx takes most of its time.
    check_over_https(stack, desk_key)
    redirect_and_headers(stack)
    client_address_and_scheme(stack, session)
    slow_headers_starve_bare_gunicorn_but_not_checks_through_nginx(stack, desk_key, capsys)


def slow_headers_starve_bare_gunicorn_but_not_checks_through_nginx(
    stack: Stack, desk_key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The attack against gunicorn itself, then through nginx; prints what it measured."""
    check(stack.direct, desk_key, 10)  # The first check of a worker warms it up.
    baseline = min(check(stack.direct, desk_key, 10) for _ in range(3))

    # Facing the clients itself (the old documented set-up), gunicorn gives each slow
    # connection a worker thread that waits for the rest of its header: 64 of them hold
    # all 2 × 4 threads, and a desk's check waits behind them.
    with slow_clients(int(stack.direct.rsplit(":", 1)[1])):
        started = time.perf_counter()
        with pytest.raises(requests.Timeout):
            check(stack.direct, desk_key, STARVED_PROBE_SECONDS)
        starved = time.perf_counter() - started
    recovered = wait_until_answering(stack.direct, desk_key)

    # Through nginx the same attack never reaches gunicorn: nginx holds the connections
    # (cheaply, in its event loop) until their header is complete, which it never is.
    with slow_clients(stack.https_port, stack.tls_context()) as attack:
        proxied = [
            check(stack.https, desk_key, PROXIED_PROBE_SECONDS, verify=str(stack.certificate))
            for _ in range(5)
        ]
        assert attack.closed_by_server() == 0
        assert max(proxied) < PROXIED_PROBE_SECONDS
        # ...and drops them once client_header_timeout has passed.
        deadline = attack.opened_at + HEADER_TIMEOUT + HEADER_TIMEOUT_SLACK
        while attack.closed_by_server() < SLOW_CONNECTIONS and time.perf_counter() < deadline:
            time.sleep(0.25)
        dropped_after = time.perf_counter() - attack.opened_at
        assert attack.closed_by_server() == SLOW_CONNECTIONS

    with capsys.disabled():
        print(
            f"\nslow-header attack ({SLOW_CONNECTIONS} connections): desk check unattacked "
            f"{baseline * 1000:.1f} ms; bare gunicorn: no answer in {starved:.2f} s "
            f"(answering again {recovered:.2f} s after the attack stopped); through nginx: "
            f"{', '.join(f'{s * 1000:.1f}' for s in proxied)} ms; nginx dropped the slow "
            f"connections {dropped_after:.1f} s after they were opened"
        )
