"""The three services as separate OS processes against the real broker and a real SMTP server."""

import email
import json
import os
import subprocess
import sys
import time
import urllib.request
from email import policy

import pytest

from services.shared.topology import STAGES
from tests.broker.amqp import ready, unacked, wait_consuming
from tests.support import (
    BANKING,
    EXAMPLES,
    INVALID,
    ROOT,
    TEXTILE,
    Inbox,
    Receiver,
    free_port,
    scrape,
    start_service,
    stop_services,
    wait_for,
)

pytestmark = [pytest.mark.broker, pytest.mark.e2e]
SECRETARIAT = "secretariaat@ser.example"
# the examples of the covenants defined beside the first two: (the company's contact, words
# of the agreement its letter cites)
OTHERS = {
    "natural_stone-voorbeeld-natuursteen-2021.json":
        ("mvo@voorbeeldnatuursteen.example", "Convenant Natuursteen"),
    "gold-voorbeeld-goud-2021.json": ("mvo@voorbeeldgoud.example", "Convenant Verantwoord Goud"),
    "food-voorbeeld-voeding-2021.json":
        ("mvo@voorbeeldvoeding.example", "IMVO-convenant Voedingsmiddelen"),
    "metals-voorbeeld-metaal-2023.json":
        ("mvo@voorbeeldmetaal.example", "IMVO-convenant Metaalsector"),
    "insurance-voorbeeld-verzekeraar-2021.json":
        ("mvo@voorbeeldverzekeringen.example", "IMVO-convenant Verzekeringssector"),
}


def by_recipient(inbox: Inbox) -> dict[str, list[email.message.EmailMessage]]:
    received: dict[str, list] = {}
    for rcpts, raw in inbox.messages:
        message = email.message_from_bytes(raw, policy=policy.default)
        for r in rcpts:
            received.setdefault(r, []).append(message)
    return received


def test_plans_travel_ingest_rules_notify_over_rabbitmq_to_smtp(amqp_url, smtp_server, tmp_path):
    inbox, smtp_port = smtp_server
    metrics_ports = {s: free_port() for s in STAGES}
    # a webhook of a company that submits nothing here: no other company's letter may reach it
    hook = Receiver("hook-secret", [])
    env = {**os.environ, "AMQP_URL": amqp_url, "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
           "DATABASE_URL": f"sqlite:///{tmp_path}/ledger.sqlite3", "LOG_LEVEL": "INFO",
           "SECRETARIAT_ADDRESSES": json.dumps({"*": SECRETARIAT}),
           "WEBHOOKS": json.dumps({"company:AGT-0001": {"url": hook.url,
                                                        "secret": "hook-secret"}})}
    services = {s: start_service(s, env, tmp_path / f"{s}.log", "--metrics-port",
                                 str(metrics_ports[s])) for s in STAGES}
    try:
        wait_consuming(amqp_url, services, tmp_path)
        for stage, port in metrics_ports.items():
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
                expected = {"broker": True, "database": True,
                            **({"rules": True} if stage == "rules" else {})}
                assert json.loads(r.read()) == expected
        submit = subprocess.run(
            [sys.executable, "-m", "services.cli", "submit",
             *(str(EXAMPLES / n) for n in (TEXTILE, BANKING, INVALID, *OTHERS))],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert submit.returncode == 0, submit.stderr
        assert submit.stdout.count("confirmed by the broker") == 3 + len(OTHERS)

        # the invalid plan's company was never accepted: its rejection goes to the
        # secretariat only, not to the address the payload names
        expected = {"mvo@voorbeeldmode.example": 1, "human.rights@voorbeeldbank.example": 1,
                    **{contact: 1 for contact, _ in OTHERS.values()},
                    SECRETARIAT: 3 + len(OTHERS)}
        received = wait_for(
            lambda: (r := by_recipient(inbox)) and {k: len(v) for k, v in r.items()} == expected
            and r, timeout=90, what=f"messages to {expected}")

        textile = received["mvo@voorbeeldmode.example"][0]
        assert textile["Subject"] == ("Automatische voortoets van uw plan van aanpak 2019: "
                                      "Voorbeeld Mode B.V.")
        assert "DD3-PRIORITY-RISK-HAS-ACTION" in textile.get_body(("plain",)).get_content()
        assert "Voorbeeldbank" not in textile.get_body(("plain",)).get_content()
        [rejection] = [m for m in received[SECRETARIAT] if "geweigerd" in m["Subject"]]
        assert rejection["Subject"] == ("Inzending geweigerd: een onbekend bedrijf (AGT-0099) (de "
                                        "inzending voldoet niet aan het formaat irbc-plan/1.0)")
        assert "/actions/0/risk_ids/0" in rejection.get_body(("plain",)).get_content()
        # each covenant's letter cites its own agreement (its definition's instrument)
        for contact, agreement in OTHERS.values():
            assert agreement in received[contact][0].get_body(("plain",)).get_content(), contact

        for stage in STAGES.values():
            wait_for(lambda q=stage.queue: unacked(amqp_url, q) == 0, what=f"{stage.queue} acked")
            assert ready(amqp_url, stage.queue) == 0
            assert ready(amqp_url, stage.dead_letter_queue) == 0
        assert f'outcome="accepted",service="ingest"}} {2 + len(OTHERS)}.0' in \
            scrape(metrics_ports["ingest"])
        # textile example: 1 critical finding; banking example: 2; insurance example: 1
        assert 'covenant_findings_total{service="rules",severity="critical"} 4.0' in \
            scrape(metrics_ports["rules"])
    finally:
        codes = stop_services(services)
        hook.close()
    assert codes == {s: 0 for s in STAGES}
    assert hook.received == []  # the companies' letters went to their own contacts

    log_text = "".join((tmp_path / f"{s}.log").read_text() for s in STAGES)
    lines = [json.loads(line) for line in log_text.splitlines() if line.startswith("{")]
    assert sum(line.get("event") == "handled" for line in lines) == \
        3 + 2 + 3 + 3 * len(OTHERS)
    for secret in ("@voorbeeldmode.example", "@voorbeeldbank.example", "@foutieftextiel",
                   *(contact for contact, _ in OTHERS.values()),
                   "Voorbeeld Mode", "Tiruppur", "guest:guest"):
        assert secret not in log_text, f"{secret!r} leaked into the logs"


OUTAGE_S = 15  # the mail server's absence in the outage test


def transient_failures(exposition: str) -> float:
    """covenant_notification_failures_total{kind="transient"} from a metrics page."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in exposition.splitlines()
               if line.startswith("covenant_notification_failures_total{")
               and 'kind="transient"' in line)


def test_notifications_survive_a_mail_server_outage_and_arrive_once(amqp_url, tmp_path):
    from aiosmtpd.controller import Controller

    from services.shared.contracts import AssessmentCompleted
    from services.shared.messaging.handling import Outgoing
    from services.shared.messaging.pika_adapter import publish_confirmed
    from tests.support import assessment

    smtp_port, metrics_port = free_port(), free_port()
    env = {**os.environ, "AMQP_URL": amqp_url, "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
           "DATABASE_URL": f"sqlite:///{tmp_path}/notify.sqlite3",
           "SECRETARIAT_ADDRESSES": json.dumps({"*": SECRETARIAT})}
    notify = {"notify": start_service("notify", env, tmp_path / "notify.log", "--metrics-port",
                                      str(metrics_port))}
    inbox, controller = Inbox(), None
    try:
        wait_consuming(amqp_url, notify, tmp_path)
        events: list[AssessmentCompleted] = [assessment(n) for n in range(20)]
        import pika

        publish_confirmed(pika.URLParameters(amqp_url), [Outgoing.of(e) for e in events])
        wait_for(lambda: 'kind="transient",service="notify"}' in scrape(metrics_port),
                 timeout=30, what="failed attempts while the mail server is away")
        # the outage lasts OUTAGE_S: each event is tried again after pauses that double
        # (0.5, 1, 2, 4, 8 s: 5 or 6 tries in 15 s), not every 0.5 s (30 tries)
        time.sleep(OUTAGE_S)
        tries = transient_failures(scrape(metrics_port))
        assert 20 * 4 <= tries <= 20 * 7, tries
        assert ready(amqp_url, STAGES["notify"].dead_letter_queue) == 0
        controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        wait_for(lambda: len(inbox.messages) >= 40, timeout=120, what="40 notifications")
        wait_for(lambda: unacked(amqp_url, STAGES["notify"].queue) == 0, what="all acked")
        assert ready(amqp_url, STAGES["notify"].dead_letter_queue) == 0
    finally:
        codes = stop_services(notify)
        if controller:
            controller.stop()
    recipients = [r for rs, _ in inbox.messages for r in rs]
    assert len(recipients) == 40 and recipients.count(SECRETARIAT) == 20
    assert len(set(recipients) - {SECRETARIAT}) == 20  # so each company exactly once
    assert codes == {"notify": 0}
