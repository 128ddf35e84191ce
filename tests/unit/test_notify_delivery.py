"""Notifications reach the right people once, against a real SMTP server (aiosmtpd)."""

import email
import re
import urllib.error
import uuid
from email import policy

import pytest
from aiosmtpd.controller import Controller
from prometheus_client import CollectorRegistry

from services.notify.adapters import SmtpMailer
from services.notify.domain import Renderer, Secretariat
from services.notify.handlers import NotifyHandler, WebhookTarget
from services.notify.ports import MailUnavailable
from services.notify.store import SqlNotificationStore
from services.shared.contracts import AssessmentCompleted, Language
from services.shared.messaging.handling import Delivery, PermanentFailure
from services.shared.metrics import ServiceMetrics
from tests.support import Inbox, Receiver, assessment, free_port

SECRETARIAT = Secretariat({"*": "secretariaat@ser.example"}, Language.NL)


def handler_for(port: int, store: SqlNotificationStore) -> NotifyHandler:
    metrics = ServiceMetrics.create("notify", CollectorRegistry())
    return NotifyHandler(SmtpMailer(f"smtp://127.0.0.1:{port}"), Renderer(), SECRETARIAT,
                         "noreply@ser.example", metrics, store)


def deliver(handler: NotifyHandler, event: AssessmentCompleted) -> None:
    handler(Delivery(event.model_dump_json().encode(), event.routing_key(),
                     message_id=event.message_id))


def test_a_thousand_companies_each_see_only_their_own_assessment_once(smtp_server, database):
    inbox, port = smtp_server
    handler = handler_for(port, SqlNotificationStore(database))
    events = [assessment(n) for n in range(1_000)]
    for event in events:
        deliver(handler, event)
    for event in events:  # every assessment redelivered
        deliver(handler, event)

    company_mail = {}
    for recipients, raw in inbox.messages:
        [to] = recipients
        if to != "secretariaat@ser.example":
            assert to not in company_mail, f"{to} got a second message"
            company_mail[to] = email.message_from_bytes(raw, policy=policy.default)
    assert len(company_mail) == 1_000
    assert sum(r == ["secretariaat@ser.example"] for r, _ in inbox.messages) == 1_000
    for n in range(1_000):
        message = company_mail[f"csr@bedrijf{n:04d}.example"]
        text = "".join(message.get_body((kind,)).get_content() for kind in ("plain", "html"))
        assert set(re.findall(r"AGT-\d{4}", text)) == {f"AGT-{n:04d}"}
        assert set(re.findall(r"Bedrijf \d{4}", text)) == {f"Bedrijf {n:04d}"}
        assert set(re.findall(r"F-\d{4}-A", text)) == {f"F-{n:04d}-A"}


class RefusingTheCompany(Inbox):
    """Refuses every address but the secretariat's, for good."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address != "secretariaat@ser.example":
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_refused_company_letter_fails_alone_and_the_secretariat_is_told(database):
    """The company's address is refused for good: that is recorded and counted, the
    secretariat's letter still goes out and says so, and the event is handled, not
    dead-lettered. A redelivery neither tries the company again nor writes twice."""
    inbox, port = RefusingTheCompany(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    store = SqlNotificationStore(database)
    event = assessment(uuid.uuid4().int % 1000)
    try:
        handler = handler_for(port, store)
        for _ in range(2):  # and once more, redelivered
            deliver(handler, event)
    finally:
        controller.stop()
    assert handler.metrics.notification_failures.labels("permanent")._value.get() == 1
    [(recipients, raw)] = inbox.messages
    assert recipients == ["secretariaat@ser.example"]
    body = email.message_from_bytes(raw, policy=policy.default).get_body(("plain",)).get_content()
    assert "Let op: de brief aan het bedrijf is niet bezorgd" in body
    assert body.index("niet bezorgd") < body.index("SAMENVATTING")  # up front
    outcomes = [(a[0], a[2]) for a in store.attempts(event.message_id)]
    assert sorted(outcomes) == sorted([("company", "refused"), ("secretariat", "sent"),
                                       ("company", "already_refused"),
                                       ("secretariat", "already_sent")])
    refusal = next(a for a in store.attempts(event.message_id) if a[2] == "refused")
    assert "550" in refusal[3] and "@" not in refusal[3]  # the code, never the address


class RefusingEveryone(Inbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return "550 5.1.1 no such user"


def test_a_refused_secretariat_address_is_a_permanent_failure_with_its_reason(database):
    """Nobody is left to tell: the event is dead-lettered with the reason, for an operator."""
    port = free_port()
    controller = Controller(RefusingEveryone(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        handler = handler_for(port, SqlNotificationStore(database))
        with pytest.raises(PermanentFailure, match=r"secretariat notification refused: every "
                                                   r"recipient refused.*550"):
            deliver(handler, assessment(uuid.uuid4().int % 1000))
    finally:
        controller.stop()
    assert handler.metrics.notification_failures.labels("permanent")._value.get() == 2


def test_a_server_that_is_down_and_then_up_gets_every_letter_once(database):
    port = free_port()
    store = SqlNotificationStore(database)
    handler = handler_for(port, store)
    event = assessment(7)
    with pytest.raises(MailUnavailable):  # nobody listens yet: held, no delivery spent
        deliver(handler, event)
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        deliver(handler, event)  # the redelivery
        deliver(handler, event)  # and a duplicate one
    finally:
        controller.stop()
    assert sorted(r for rs, _ in inbox.messages for r in rs) == [
        "csr@bedrijf0007.example", "secretariaat@ser.example"]
    outcomes = [a[2] for a in store.attempts(event.message_id)]
    assert outcomes.count("failed") == 1 and outcomes.count("sent") == 2
    assert outcomes.count("already_sent") == 2


def test_a_letter_left_sending_by_a_crash_is_sent_again_under_the_same_message_id(
        smtp_server, database):
    inbox, port = smtp_server
    store = SqlNotificationStore(database)
    event = assessment(uuid.uuid4().int % 1000)
    store.begin(f"{event.message_id}:company")  # the process died after handing it over
    deliver(handler_for(port, store), event)
    ids = [email.message_from_bytes(raw)["Message-ID"] for _, raw in inbox.messages]
    assert f"<{event.message_id}.company@ser.example>" in ids  # the sender's domain


def test_the_archive_lists_a_companys_assessments_and_shows_their_deliveries(
        smtp_server, tmp_path, monkeypatch, capsys):
    from services.cli import main
    from services.shared.db import Database

    _, port = smtp_server
    url = f"sqlite:///{tmp_path}/archive.sqlite3"
    handler = handler_for(port, SqlNotificationStore(Database(url)))
    for n in (1, 2):
        deliver(handler, assessment(n))
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["archive", "list", "--company", "AGT-0001"]) == 0
    out = capsys.readouterr().out
    assert "AGT-0001" in out and "S-0001" in out and "1 high" in out and "AGT-0002" not in out
    assert main(["archive", "show", "S-0002"]) == 0
    out = capsys.readouterr().out
    assert '"company_id": "AGT-0002"' in out and "company     smtp   sent" in out
    assert main(["archive", "show", "S-9999"]) == 1
    long = assessment(3).model_copy(update={"covenant": "natural_stone",
                                            "submission_id": "voorbeeld-natuursteen-2021"})
    deliver(handler, long)
    assert main(["archive", "list"]) == 0
    rows = capsys.readouterr().out.splitlines()[:-1]
    assert len(rows) == 3 and len({row.index("1 high") for row in rows}) == 1, rows  # aligned


def webhook_handler(port, store, receiver, secret="s3cret"):
    handler = handler_for(port, store)
    handler.webhooks = {"company:AGT-0003": WebhookTarget(receiver.url, secret)}
    return handler


def test_a_company_with_a_webhook_gets_a_signed_post_with_its_own_assessment_once(
        smtp_server, database):
    inbox, port = smtp_server
    receiver = Receiver("s3cret", [])
    try:
        handler = webhook_handler(port, SqlNotificationStore(database), receiver)
        event = assessment(3)
        deliver(handler, event)
        deliver(handler, event)  # redelivered: not posted again
    finally:
        receiver.close()
    [posted] = receiver.received
    assert posted["event"]["company_id"] == "AGT-0003" and "contacts" not in posted["event"]
    assert posted["recipient"] == "company" and receiver.deliveries == [
        f"{event.message_id}:company"]
    assert [r for r, _ in inbox.messages] == [["secretariaat@ser.example"]]  # no company e-mail


def test_a_companys_webhook_never_receives_another_companys_assessment(smtp_server, database):
    """Only company AGT-0003 has a webhook. The assessments of other companies go to their own
    contacts by e-mail (or nowhere, without contacts), never to AGT-0003's endpoint; nor does
    a secretariat's letter without a secretariat webhook."""
    inbox, port = smtp_server
    receiver = Receiver("s3cret", [])
    others = [assessment(n) for n in (1, 2, 4)]
    silent = assessment(5).model_copy(update={"contacts": []})
    try:
        handler = webhook_handler(port, SqlNotificationStore(database), receiver)
        for event in [*others, silent, assessment(3)]:
            deliver(handler, event)
    finally:
        receiver.close()
    assert [p["event"]["company_id"] for p in receiver.received] == ["AGT-0003"]
    mailed = {r for rs, _ in inbox.messages for r in rs} - {"secretariaat@ser.example"}
    assert mailed == {c.email for e in others for c in e.contacts}


def test_a_webhook_error_is_retried_and_a_gone_endpoint_is_permanent(smtp_server, database):
    _, port = smtp_server
    receiver = Receiver("s3cret", [500])
    try:
        handler = webhook_handler(port, SqlNotificationStore(database), receiver)
        event = assessment(3)
        with pytest.raises(urllib.error.HTTPError):  # 500: transient, the message is retried
            deliver(handler, event)
        deliver(handler, event)
        assert len(receiver.received) == 1
        receiver_gone = Receiver("s3cret", [410])
        handler.webhooks = {"company:AGT-0003": WebhookTarget(receiver_gone.url, "s3cret")}
        gone = assessment(3).model_copy(update={"message_id": str(uuid.uuid4())})
        deliver(handler, gone)  # the company's endpoint is gone: refused alone, not retried
        receiver_gone.close()
        attempts = {(a[0], a[2]): a[3] for a in handler.store.attempts(gone.message_id)}
        assert "HTTP 410" in attempts["company", "refused"]
        assert ("secretariat", "sent") in attempts
    finally:
        receiver.close()


def test_with_a_digest_the_secretariat_gets_one_e_mail_per_covenant_and_day(
        smtp_server, database):
    from datetime import UTC, datetime

    from services.notify.digest import send_digests

    inbox, port = smtp_server
    store = SqlNotificationStore(database)
    handler = handler_for(port, store)
    handler.secretariat = Secretariat({"*": "secretariaat@ser.example"}, Language.NL, digest=True)
    events = [assessment(n) for n in (uuid.uuid4().int % 1000 for _ in range(3))]
    for event in events:
        deliver(handler, event)
    assert all(r != ["secretariaat@ser.example"] for r, _ in inbox.messages)
    today = datetime.now(UTC).date()
    for _ in range(2):  # run twice: the digest goes out once
        send_digests(today, store, handler.mailer, Renderer(), handler.secretariat,
                     "noreply@ser.example")
    digests = [email.message_from_bytes(raw, policy=policy.default) for r, raw in inbox.messages
               if r == ["secretariaat@ser.example"]]
    assert len(digests) == 1 and digests[0]["Subject"].startswith(
        "Dagoverzicht kleding en textiel")
    body = digests[0].get_body(("plain",)).get_content()
    assert all(e.submission_id in body for e in events)


def test_a_digest_written_to_the_outbox_is_a_preview_and_still_sent_by_smtp_later(
        smtp_server, database, tmp_path):
    from datetime import UTC, datetime

    from services.notify.adapters import OutboxMailer
    from services.notify.digest import send_digests

    inbox, port = smtp_server
    store = SqlNotificationStore(database)
    handler = handler_for(port, store)
    handler.secretariat = Secretariat({"*": "secretariaat@ser.example"}, Language.NL, digest=True)
    deliver(handler, assessment(uuid.uuid4().int % 1000))
    today = datetime.now(UTC).date()
    outbox = OutboxMailer(tmp_path / "outbox")
    assert send_digests(today, store, outbox, Renderer(), handler.secretariat, "n@ser.example") \
        == ["textile"]
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    assert send_digests(today, store, handler.mailer, Renderer(), handler.secretariat,
                        "n@ser.example") == ["textile"]  # not recorded as sent by the preview
    assert [r for r, _ in inbox.messages if r == ["secretariaat@ser.example"]]


def test_an_event_is_archived_and_its_letters_begun_in_one_commit_then_one_per_letter(
        smtp_server, database, monkeypatch):
    """Each commit waits for the disk: before the letters go out, the archive and every
    letter's `sending` mark are one; after, each letter's record is one (the shorter the step
    between the mail system's acceptance and the record, the rarer a repeated letter)."""
    inbox, port = smtp_server
    store = SqlNotificationStore(database)
    transaction, opened = database.transaction, []

    def counted():
        opened.append(len(inbox.messages))  # letters handed over before this transaction
        return transaction()

    monkeypatch.setattr(database, "transaction", counted)
    event = assessment(uuid.uuid4().int % 1000)
    deliver(handler_for(port, store), event)
    assert opened == [0, 1, 2]
    monkeypatch.undo()
    assert [e.message_id for e in store.events()] == [event.message_id]
    assert {store.begin(f"{event.message_id}:{role}") for role in ("company", "secretariat")} \
        == {"sent"}
