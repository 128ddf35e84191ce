"""Fault injection: thousands of submissions through the three services, as separate OS
processes on the real broker, while the test SIGKILLs each service at random moments and
restarts it, the broker force-closes every connection of the vhost, and the mail server goes
away for a while. At the end every submission is accounted for: exactly one assessment or
rejection archived and exactly one letter per recipient, or a dead-letter entry with a reason;
the queues are empty; and the services' logs hold no plan contents, addresses or secrets.

It runs twice: with SQLite stores (each service its own file, FAULT_PLANS submissions, default
1,200) and with all three on PostgreSQL (FAULT_PLANS_PG, default 500). FAULT_SEED (default:
random, printed) reproduces a run."""

import json
import os
import random
import re
import signal
import subprocess
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pika
import pytest

from services.shared.contracts import EVENTS_EXCHANGE
from services.shared.messaging.handling import Outgoing
from services.shared.messaging.pika_adapter import publish_confirmed
from services.shared.topology import STAGES
from tests.broker.amqp import ready, unacked, vhost_of, wait_consuming
from tests.broker.traffic import (
    SECRETARIAT,
    Accounting,
    Mailbag,
    Publisher,
    Submission,
    accounting,
    dead_letters,
    figures,
    reason_of,
    submissions,
)
from tests.support import (
    BANKING,
    INVALID,
    TEXTILE,
    Inbox,
    example_doc,
    free_port,
    issued,
    secure_smtp,
    start_service,
    wait_for,
)

pytestmark = [pytest.mark.broker, pytest.mark.e2e, pytest.mark.faults]

PLANS = {"sqlite": int(os.environ.get("FAULT_PLANS", "1200")),
         "postgresql": int(os.environ.get("FAULT_PLANS_PG", "500"))}
SEED = int(os.environ.get("FAULT_SEED") or random.randrange(1_000_000))
CORRUPT = 10  # broken internal events, which must be dead-lettered with a reason
IN_FLIGHT, BATCH = 150, 25  # submissions published but not yet notified, at most
OUTAGE_SECONDS = 8.0
DEADLINE_SECONDS = 900.0
KILLS_EACH = 2
CONNECTION_CLOSES = 2
SMTP_USER, SMTP_PASSWORD = "notify", uuid.uuid4().hex


def corrupt_events() -> list[Outgoing]:
    """Internal events the rules service can never decode. Their bodies carry an address, so
    the log scan also shows that a decoding error never quotes its input."""
    return [Outgoing(EVENTS_EXCHANGE, "submission.accepted.textile", json.dumps({
        "type": "submission.accepted", "plan": {"company": {
            "contacts": [{"email": f"corrupt-{k}@corrupt.example"}]}}}).encode(),
        f"corrupt-{k}") for k in range(CORRUPT)]


@dataclass
class Harness:
    """The three services, the mail server and the faults, driven from one polling loop."""

    tmp: Path
    envs: dict[str, dict[str, str]]
    smtp: Any  # a function: () -> a started SMTP controller
    url: str
    services: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    kills: Counter[str] = field(default_factory=Counter)
    crashes: list[tuple[str, int]] = field(default_factory=list)  # exits we did not cause
    events: list[str] = field(default_factory=list)
    controller: Any = None
    outage_until: float | None = None
    started: float = field(default_factory=time.monotonic)

    def start(self, name: str) -> None:
        self.services[name] = start_service(name, self.envs[name], self.tmp / f"{name}.log",
                                            "--metrics-port", str(free_port()))

    def note(self, event: str) -> None:
        self.events.append(f"{time.monotonic() - self.started:7.1f}s {event}")

    def kill(self, name: str) -> None:
        process = self.services[name]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        self.kills[name] += 1
        self.note(f"SIGKILL {name}")
        self.start(name)

    def close_connections(self) -> None:
        subprocess.run(["rabbitmqctl", "-q", "close_all_connections", "-p", vhost_of(self.url),
                        "fault injection"], check=True, capture_output=True, timeout=60)
        self.note("close_all_connections")

    def mail_server_away(self) -> None:
        self.controller.stop()
        self.outage_until = time.monotonic() + OUTAGE_SECONDS
        self.note("mail server stopped")

    def supervise(self) -> None:
        """A supervisor's duties: restart whatever exited, and bring the mail server back."""
        for name, process in self.services.items():
            if process.poll() is not None:
                self.crashes.append((name, process.returncode))
                self.note(f"{name} exited with {process.returncode}; restarting")
                self.start(name)
        if self.outage_until is not None and time.monotonic() >= self.outage_until:
            self.controller, self.outage_until = self.smtp(), None
            self.note("mail server back")

    def stop(self) -> dict[str, int]:
        for process in self.services.values():
            process.send_signal(signal.SIGTERM)
        codes = {name: process.wait(timeout=60) for name, process in self.services.items()}
        if self.controller is not None:
            self.controller.stop()
        return codes


@pytest.mark.timeout(DEADLINE_SECONDS + 300)
@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_every_submission_is_accounted_for_through_kills_disconnects_and_a_mail_outage(
        store, amqp_url, broker_user, tmp_path, report_figures, request):
    rng = random.Random(SEED)
    user, amqp_password, url = broker_user("upstream")
    server = issued(tmp_path, "smtp")
    inbox, smtp_port = Inbox(), free_port()

    def smtp() -> Any:
        controller = secure_smtp(inbox, smtp_port, server.cert, server.key, SMTP_USER,
                                 SMTP_PASSWORD)
        controller.start()
        return controller

    count = PLANS[store]
    databases = ({s: f"sqlite:///{tmp_path}/{s}.sqlite3" for s in STAGES} if store == "sqlite"
                 else dict.fromkeys(STAGES, request.getfixturevalue("postgres_schema")))
    envs = {s: {**os.environ, "AMQP_URL": url, "LOG_LEVEL": "INFO",
                "DATABASE_URL": databases[s]} for s in STAGES}
    envs["ingest"]["PUBLISHERS"] = json.dumps({"textile": [user], "banking": [user]})
    envs["notify"].update(SMTP_URL=f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{smtp_port}",
                          SMTP_CA_FILE=str(server.ca),
                          SECRETARIAT_ADDRESSES=json.dumps({"*": SECRETARIAT}))
    plans = submissions(count, user)
    harness = Harness(tmp_path, envs, smtp, amqp_url)
    harness.controller = smtp()
    faults = sorted((rng.uniform(0.05, 0.85) * count, rng.random(), what) for what in
                    [f"kill {s}" for s in STAGES for _ in range(KILLS_EACH)]
                    + ["close connections"] * CONNECTION_CLOSES + ["mail server away"])
    mailbag = Mailbag(inbox)
    publisher = Publisher(pika.URLParameters(url), plans, IN_FLIGHT, BATCH)
    try:
        for name in STAGES:
            harness.start(name)
        wait_consuming(amqp_url, harness.services, tmp_path)
        publish_confirmed(publisher.parameters, corrupt_events())

        def settled() -> bool:
            mailbag.update()
            progress = mailbag.letters(SECRETARIAT)
            publisher.feed(progress)
            while faults and progress >= faults[0][0]:
                what = faults.pop(0)[2]
                if what.startswith("kill "):
                    harness.kill(what.removeprefix("kill "))
                elif what == "close connections":
                    harness.close_connections()
                else:
                    harness.mail_server_away()
            harness.supervise()
            return (publisher.done and progress >= count and not faults
                    and harness.outage_until is None
                    and all(p.notified(mailbag) for p in plans))

        try:
            wait_for(settled, timeout=DEADLINE_SECONDS, interval=0.05,
                     what="every submission's letters")
        except AssertionError:
            dead = dead_letters(amqp_url)
            outcomes = accounting(plans, mailbag, dead, databases["notify"])
            print(report(store, plans, outcomes, mailbag, dead, harness, publisher))
            raise
        wait_for(lambda: ready(amqp_url, STAGES["rules"].dead_letter_queue) >= CORRUPT,
                 timeout=60, what="the corrupt events dead-lettered")
        for stage in STAGES.values():
            wait_for(lambda q=stage.queue: unacked(amqp_url, q) == 0 and ready(amqp_url, q) == 0,
                     timeout=60, what=f"{stage.queue} drained")
    finally:
        codes = harness.stop()
    dead = dead_letters(amqp_url)
    mailbag.update()
    outcomes = accounting(plans, mailbag, dead, databases["notify"])
    summary = report(store, plans, outcomes, mailbag, dead, harness, publisher)
    report_figures(summary)

    assert codes == {s: 0 for s in STAGES}, codes
    assert harness.crashes == [], "services exited on their own"
    assert harness.kills == {s: KILLS_EACH for s in STAGES}
    assert outcomes.lost == [] and outcomes.duplicated == [], summary
    assert outcomes.processed == {p.submission_id for p in plans}, summary
    assert sorted(props.message_id for props, _ in dead) == sorted(
        f"corrupt-{k}" for k in range(CORRUPT))
    assert all(reason_of(props) for props, _ in dead)
    # the one repeat the design admits: notify killed, or the mail server gone, between the
    # server's acceptance and the ledger's record: that letter again, under its Message-ID
    assert outcomes.resent <= harness.kills["notify"] + 1, summary
    assert_no_leaks(tmp_path, plans, [amqp_password, SMTP_PASSWORD])


def report(store: str, plans: list[Submission], outcomes: Accounting, mailbag: Mailbag,
           dead: list[Any], harness: Harness, publisher: Publisher) -> str:
    return "\n".join([
        figures(f"fault injection on {store} (FAULT_SEED={SEED}, and {CORRUPT} corrupt "
                "internal events)", plans, outcomes, mailbag, dead, publisher),
        f"  faults: {dict(harness.kills)} SIGKILLs, "
        f"{sum('close_all' in e for e in harness.events)} connection closes, "
        f"{sum('mail server stopped' in e for e in harness.events)} mail outages; "
        f"unexpected exits: {harness.crashes}",
        *(f"    {event}" for event in harness.events),
    ])


EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def free_text(value: Any) -> set[str]:
    """Every string in a plan long enough to be content rather than a code."""
    if isinstance(value, dict):
        return set().union(*map(free_text, value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*map(free_text, value)) if value else set()
    return {value} if isinstance(value, str) and len(value) >= 12 and " " in value else set()


def assert_no_leaks(tmp: Path, plans: list[Submission], secrets: list[str]) -> None:
    """The services' logs (LOG_LEVEL=INFO) name no address, plan text or secret."""
    logs = {name: (tmp / f"{name}.log").read_text() for name in STAGES}
    text = "\n".join(logs.values())
    assert all('"event": "handled"' in log for log in logs.values()), "a log is empty"
    for path in ("broker unavailable, reconnecting", "dependency unavailable, holding",
                 "dead-lettered"):
        assert path in text, f"the scan did not cover a {path!r} line"
    addresses = {m.group(0) for m in EMAIL.finditer(text)}
    assert not addresses, f"addresses in the logs: {sorted(addresses)[:5]}"
    contents = free_text([example_doc(n) for n in (TEXTILE, BANKING, INVALID)])
    contents |= {"Fabrikant ", "Contactpersoon "}
    leaked = sorted(c for c in contents if c in text)
    assert not leaked, f"plan contents in the logs: {leaked[:5]}"
    assert not [s for s in secrets if s in text], "a secret is in the logs"
