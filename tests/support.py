"""Helpers for tests: example plans, plan variants, waiting with a deadline."""

import copy
import http.client
import json
import re
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TEXTILE = "textile-voorbeeld-mode-2019.json"
TEXTILE_2018 = "textile-voorbeeld-mode-2018.json"
BANKING = "banking-voorbeeldbank-2019.json"
INVALID = "invalid-plan-errors.json"

T = TypeVar("T")


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def example_doc(name: str) -> dict[str, Any]:
    return json.loads(example(name))


def variant(name: str, change: Callable[[dict[str, Any]], None]) -> bytes:
    """The example with one change applied, as bytes."""
    doc = copy.deepcopy(example_doc(name))
    change(doc)
    return json.dumps(doc).encode()


def missing(what: str, why: str, variable: str = "REQUIRE_BROKER") -> None:
    """A service or tool a test needs is not here: the test fails under CI=true (or
    `variable`=1), and is skipped with a loud reason otherwise. Never returns."""
    import os

    import pytest

    message = f"{what} is not available ({why})"
    if os.environ.get("CI", "").lower() == "true" or os.environ.get(variable) == "1":
        pytest.fail(f"{message}, and CI=true or {variable}=1 requires it", pytrace=False)
    pytest.skip(f"!!! SKIPPED: {message}; these tests did NOT run")


def wait_for(check: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.1,
             what: str = "condition", why: Callable[[], str] | None = None) -> T:
    """Poll `check` until it returns something truthy, or fail after `timeout` seconds (with
    what `why` then says, on the lines below)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            said = f"\n{why()}" if why is not None else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{said}")
        time.sleep(interval)


def log_tail(log: Path, lines: int = 40) -> str:
    """The last lines of a service's log, or a word that there is none."""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) \
        if log.exists() else "(no log)"


# below Linux's ephemeral range (32768-60999): a port the kernel gives out for port 0 is also
# what it gives the source of an outgoing connection, so between this test choosing it and its
# service listening on it, one of the test's many broker connections could take it (seen: a
# rules service refused to start with "Address already in use" in the cluster test)
PORTS_FROM, PORTS_EACH = 20_000, 6_000  # each pytest-xdist worker its own slice
# every port handed out in this process: a port is free when chosen, but nothing listens on it
# until its server starts, so it could be chosen again meanwhile (seen: a cluster node's
# distribution port was another node's AMQP port, and that node did not start)
_GIVEN: set[int] = set()


def free_port() -> int:
    """A port below the ephemeral range that nothing listens on and that this process has not
    handed out before."""
    import os
    import random
    import socket

    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    first = PORTS_FROM + (worker % 2) * PORTS_EACH
    for _ in range(200):
        port = random.randrange(first, first + PORTS_EACH)
        if port in _GIVEN:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _GIVEN.add(port)
        return port
    raise RuntimeError("no free port below the ephemeral range")


class Inbox:
    """An aiosmtpd handler that keeps what it receives: (recipients, raw message)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def start_service(stage: str, env: dict[str, str], log: Path, *args: str) -> Any:
    """`covenant <stage>` as its own OS process, output to `log`."""
    import subprocess
    import sys

    with log.open("ab") as out:  # appends: a restarted service keeps its earlier output
        return subprocess.Popen([sys.executable, "-m", "services.cli", stage, *args], env=env,
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


class Issued(NamedTuple):
    cert: Path
    key: Path
    ca: Path  # the private CA that signed it, to verify it with


def issued(folder: Path, name: str) -> Issued:
    """A certificate for 127.0.0.1 (server and client use), signed by a private CA that is made
    on first use in `folder`. (Erlang refuses a self-signed peer certificate: hence a CA.)"""
    import subprocess

    def openssl(*args: str | Path) -> None:
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)

    folder.mkdir(parents=True, exist_ok=True)
    ca, ca_key = folder / "ca.pem", folder / "ca-key.pem"
    if not ca.exists():
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", "/CN=covenant test CA", "-keyout", ca_key, "-out", ca)
    cert, key, request = (folder / f"{name}-{part}.pem" for part in ("cert", "key", "req"))
    extensions = folder / f"{name}.ext"
    extensions.write_text("subjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\n"
                          "extendedKeyUsage = serverAuth, clientAuth\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN=127.0.0.1/O={name}",
            "-keyout", key, "-out", request)
    openssl("x509", "-req", "-in", request, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
            "-days", "1", "-extfile", extensions, "-out", cert)
    return Issued(cert, key, ca)


def secure_smtp(inbox: Inbox, port: int, cert: Path, key: Path, user: str,
                password: str) -> Any:
    """An aiosmtpd Controller (not started) that requires STARTTLS and then AUTH as user."""
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        # handled=False: aiosmtpd itself answers 535 to a failure (True would leave it silent)
        return AuthResult(success=(auth_data.login, auth_data.password) ==
                          (user.encode(), password.encode()), handled=False)

    return Controller(inbox, hostname="127.0.0.1", port=port, tls_context=tls,
                      require_starttls=True, authenticator=authenticator, auth_require_tls=True)


def stop_services(processes: dict[str, Any]) -> dict[str, int]:
    """SIGTERM each, and their exit codes."""
    import signal

    for process in processes.values():
        process.send_signal(signal.SIGTERM)
    return {name: process.wait(timeout=60) for name, process in processes.items()}


def assessment(n: int) -> Any:
    """An AssessmentCompleted for company n: its own id, name, contact and one finding."""
    from services.shared.contracts import AssessmentCompleted

    company = f"AGT-{n:04d}"
    return AssessmentCompleted.model_validate({
        "correlation_id": f"c-{n}", "submission_id": f"S-{n:04d}", "covenant": "textile",
        "reporting_year": 2019, "company_id": company, "company_name": f"Bedrijf {n:04d} B.V.",
        "language": "nl" if n % 2 else "en",
        "contacts": [{"email": f"csr@bedrijf{n:04d}.example"}],
        "ruleset_version": "rs-1", "as_of": "2019-03-28",
        "findings": [{
            "finding_id": f"F-{n:04d}-A", "rule_id": "DD6-GM-AVAILABLE", "rule_version": 1,
            "severity": "high", "title": {"nl": "Klachtenmechanisme", "en": "Grievance"},
            "message": {"nl": f"Geen mechanisme bij {company}", "en": f"No mechanism at {company}"},
            "guidance": {"nl": "Richt er een in", "en": "Set one up"},
            "references": [{"instrument": "UNGP", "locator": "29"}], "pointers": ["/grievance"]}],
    })


def scrape(port: int) -> str:
    """The Prometheus exposition of a service's metrics port."""
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return str(r.read().decode())


PASSWORD = "correct horse battery staple"  # of the console accounts tests make


class Browser:
    """HTTP with cookies as a browser on localhost keeps them (Secure ones too)."""

    def __init__(self, port: int):
        self.port, self.cookies = port, {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None
                ) -> tuple[int, dict[str, str], str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value and "Max-Age=0" not in header and "expires=Thu, 01 Jan 1970" not in header:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return response.status, dict(response.headers), text

    def get(self, path: str) -> tuple[int, str]:
        status, _, text = self.request("GET", path)
        return status, text

    def login(self, username: str, password: str = PASSWORD) -> int:
        _, page = self.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        status, _, _ = self.request("POST", "/login", {"csrf": token, "username": username,
                                                       "password": password})
        return status

    def csrf(self) -> str:
        """The session's CSRF token, from the page the home page leads to."""
        status, headers, page = self.request("GET", "/")
        if status == 302:
            page = self.get(urllib.parse.urlsplit(headers["Location"]).path)[1]
        return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


class Receiver:
    """A real HTTP server that checks the signature as a webhook receiver would."""

    def __init__(self, secret: str, statuses: list[int]):
        import hashlib
        import hmac
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.received: list[dict] = []
        self.deliveries: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                expected = hmac.new(secret.encode(), self.headers["X-Covenant-Timestamp"].encode()
                                    + b"." + body, hashlib.sha256).hexdigest()
                assert self.headers["X-Covenant-Signature"] == f"sha256={expected}"
                status = statuses.pop(0) if statuses else 200
                if status == 200:
                    receiver.received.append(json.loads(body))
                    receiver.deliveries.append(self.headers["X-Covenant-Delivery"])
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@contextmanager
def serving_console(db: Any, smtp_port: int) -> Iterator[tuple[int, Any]]:
    """The console over `db` in waitress on a free port, its outbox relayed to notify's own
    handler and an SMTP server at `smtp_port`; yields (the port, the console's stores)."""
    import threading

    from prometheus_client import CollectorRegistry
    from waitress.server import create_server

    from services.console.bootstrap import build_stores
    from services.console.web import create_app
    from services.notify.adapters import SmtpMailer
    from services.notify.domain import Renderer, Secretariat
    from services.notify.handlers import NotifyHandler
    from services.notify.store import SqlNotificationStore
    from services.shared.contracts import Language
    from services.shared.messaging.handling import Delivery, Outgoing
    from services.shared.metrics import ServiceMetrics
    from services.shared.outbox import OutboxRelay

    stores = build_stores(db)
    notify = NotifyHandler(
        SmtpMailer(f"smtp://127.0.0.1:{smtp_port}"), Renderer(),
        Secretariat({"*": "secretariaat@ser.example"}, Language.NL), "noreply@ser.example",
        ServiceMetrics.create("notify", CollectorRegistry()), SqlNotificationStore(db))

    def publish(messages: list[Outgoing]) -> None:
        for m in messages:
            notify(Delivery(m.body, m.routing_key, message_id=m.message_id))

    relay = OutboxRelay(stores.outbox, publish, interval_s=0.2)
    relay.start()
    server = create_server(create_app(stores, secure_cookies=False), host="127.0.0.1", port=0)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        yield server.effective_port, stores
    finally:
        server.close()
        relay.stop()
