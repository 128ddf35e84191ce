import email
from email import policy

import pytest
from prometheus_client import CollectorRegistry

from services.notify.adapters import OutboxMailer, SmtpConfigError, SmtpMailer
from services.notify.domain import Renderer, Secretariat, letters_for
from services.notify.handlers import NotifyHandler
from services.notify.ports import MailUnavailable
from services.notify.store import SqlNotificationStore
from services.shared.contracts import (
    AssessmentCompleted,
    Contact,
    Finding,
    Language,
    Localized,
    RecipientRole,
    Reference,
    Severity,
    SubmissionRejected,
)
from services.shared.db import Database
from services.shared.messaging.handling import Delivery, PermanentFailure
from services.shared.metrics import ServiceMetrics


def memory_store() -> SqlNotificationStore:
    return SqlNotificationStore(Database("sqlite://"))


SECRETARIAT = Secretariat({"*": "secretariaat@ser.example", "banking": "dba@ser.example"},
                          Language.NL)


def assessment(**changes) -> AssessmentCompleted:
    base = dict(
        correlation_id="c-1", submission_id="S-1", covenant="textile", reporting_year=2019,
        company_id="AGT-1", company_name="Mode B.V.", language="en",
        contacts=[Contact(email="csr@mode.example")], ruleset_version="rs-1",
        as_of="2019-03-28",
        findings=[Finding(
            finding_id="F-000000000001", rule_id="DD6-GM-AVAILABLE", rule_version=1,
            severity=Severity.HIGH,
            title=Localized(nl="Klachtenmechanisme", en="Grievance mechanism"),
            message=Localized(nl="Geen mechanisme", en="No mechanism"),
            guidance=Localized(nl="Richt er een in", en="Set one up"),
            references=[Reference(instrument="UNGP", locator="29")],
            pointers=["/grievance/mechanism"])],
    )
    return AssessmentCompleted.model_validate({**base, **changes})


def test_company_and_secretariat_are_both_told_each_in_their_language():
    letters = letters_for(assessment(), SECRETARIAT)
    assert [(x.role, x.to, x.language) for x in letters] == [
        (RecipientRole.COMPANY, ("csr@mode.example",), Language.EN),
        (RecipientRole.SECRETARIAT, ("secretariaat@ser.example",), Language.NL),
    ]


def test_without_contacts_only_the_covenants_secretariat_is_told():
    letters = letters_for(assessment(contacts=[], covenant="banking"), SECRETARIAT)
    assert [(x.role, x.to) for x in letters] == [(RecipientRole.SECRETARIAT, ("dba@ser.example",))]


def parsed(message) -> email.message.EmailMessage:
    return email.message_from_bytes(message.as_bytes(), policy=policy.default)


def test_the_message_is_multipart_with_every_finding_and_its_provisions():
    letter = letters_for(assessment(), SECRETARIAT)[0]
    m = parsed(Renderer().compose(assessment(), letter, "noreply@ser.example"))
    text = m.get_body(("plain",)).get_content()
    html = m.get_body(("html",)).get_content()
    assert m["Subject"] == "Automatic pre-assessment of your 2019 plan of action: Mode B.V."
    assert "DD6-GM-AVAILABLE" in text and "UNGP 29" in text and "Set one up" in text
    assert "Set one up" in html
    for body in (text, html):  # where in the plan, in words, not as a JSON pointer
        assert "place in the plan: The grievance mechanism" in body, body
        assert "/grievance/mechanism" not in body


def test_a_raised_severity_is_explained_in_the_readers_language():
    event = assessment()
    raised = event.findings[0].model_copy(update={"severity_reason": Localized(
        nl="Vier criteria ontbreken.", en="Four criteria are missing.")})
    event = event.model_copy(update={"findings": [raised]})
    company, secretariat = letters_for(event, SECRETARIAT)
    for letter, line in ((company, "  Why this severity: Four criteria are missing."),
                         (secretariat, "  Waarom deze ernst: Vier criteria ontbreken.")):
        m = parsed(Renderer().compose(event, letter, "noreply@ser.example"))
        assert line in m.get_body(("plain",)).get_content()
        assert line.split(": ")[1] in m.get_body(("html",)).get_content()
    plain = parsed(Renderer().compose(assessment(), company, "noreply@ser.example"))
    assert "Why this severity" not in plain.get_body(("plain",)).get_content()


def test_payload_text_cannot_inject_headers_or_markup():
    nasty = "Evil <script>alert(1)</script>\r\nBcc: everyone@evil.example" + "x" * 500
    finding = assessment().findings[0].model_copy(update={"message": Localized(
        nl="Locatie <img src=x onerror=alert(1)>\r\nX-Injected: 1", en="<b>bold</b>" * 2000)})
    event = assessment(company_name=nasty, findings=[finding])
    letter = letters_for(event, SECRETARIAT)[0]
    m = parsed(Renderer().compose(event, letter, "noreply@ser.example"))
    html = m.get_body(("html",)).get_content()
    assert m["Bcc"] is None and m["X-Injected"] is None
    assert "\n" not in m["Subject"] and len(m["Subject"]) <= 150
    assert "<script>" not in html and "<b>" not in html and "<img" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html  # shown, not interpreted


def test_a_rejection_lists_its_errors_by_pointer():
    event = SubmissionRejected(
        correlation_id="c-2", reason="invalid", errors_total=1,
        errors=[{"pointer": "/company/size_class", "code": "enum", "message": "bad size",
                 "context": {"expected": "'small', 'medium' or 'large'"}}],
        language="nl", contacts=[Contact(email="a@b.example")])
    letter = letters_for(event, SECRETARIAT)[0]
    text = parsed(Renderer().compose(event, letter, "x@y.example")).get_body(("plain",))
    assert "* De bedrijfsgegevens, grootteklasse: Deze waarde is niet toegestaan; kies uit " \
        "'small' (klein), 'medium' (middelgroot) of 'large' (groot)." in text.get_content()
    assert "(/company/size_class, enum)" in text.get_content()  # for the secretariat


def test_the_outbox_holds_one_file_per_message_even_when_sent_twice(tmp_path):
    mailer = OutboxMailer(tmp_path)
    letter = letters_for(assessment(), SECRETARIAT)[0]
    message = Renderer().compose(assessment(), letter, "x@y.example")
    mailer.send(message)
    mailer.send(message)
    [eml] = tmp_path.glob("*.eml")
    assert email.message_from_bytes(eml.read_bytes())["Message-ID"] == message["Message-ID"]
    assert list(tmp_path.glob("*.tmp")) == []


def test_smtp_delivers_to_a_real_server(smtp_server):
    inbox, port = smtp_server
    handler = NotifyHandler(SmtpMailer(f"smtp://127.0.0.1:{port}"), Renderer(), SECRETARIAT,
                            "noreply@ser.example", ServiceMetrics.create("n", CollectorRegistry()),
                            memory_store())
    outcome = handler(Delivery(assessment().model_dump_json().encode(), "assessment.completed.x"))
    assert sorted(r for rcpts, _ in inbox.messages for r in rcpts) == [
        "csr@mode.example", "secretariaat@ser.example"]
    assert [m.routing_key for m in outcome.messages] == ["notification.delivered.textile"] * 2
    assert all(not m.mandatory for m in outcome.messages)


def test_smtp_refuses_to_send_credentials_without_tls(smtp_server):
    _, port = smtp_server
    mailer = SmtpMailer(f"smtp://user:secret@127.0.0.1:{port}")
    letter = letters_for(assessment(), SECRETARIAT)[0]
    with pytest.raises(SmtpConfigError, match="STARTTLS"):
        mailer.send(Renderer().compose(assessment(), letter, "x@y.example"))


def test_an_unreadable_event_is_a_permanent_failure(tmp_path):
    handler = NotifyHandler(OutboxMailer(tmp_path), Renderer(), SECRETARIAT, "x@y.example",
                            ServiceMetrics.create("n", CollectorRegistry()), memory_store())
    with pytest.raises(PermanentFailure):
        handler(Delivery(b'{"type": "something.else"}', "assessment.completed.x"))


def test_smtp_with_starttls_and_authentication_against_a_real_server(tmp_path):
    from tests.support import Inbox, free_port, issued, secure_smtp

    server = issued(tmp_path, "smtp")
    inbox, port = Inbox(), free_port()
    controller = secure_smtp(inbox, port, server.cert, server.key, "notify", "s3cret")
    controller.start()
    try:
        mailer = SmtpMailer(f"smtp://notify:s3cret@127.0.0.1:{port}", ca_file=str(server.ca))
        letter = letters_for(assessment(), SECRETARIAT)[0]
        mailer.send(Renderer().compose(assessment(), letter, "x@y.example"))
        mailer.close()
        untrusted = SmtpMailer(f"smtp://notify:s3cret@127.0.0.1:{port}")  # system CAs only
        with pytest.raises(MailUnavailable, match="SSLCertVerificationError"):
            untrusted.send(Renderer().compose(assessment(), letter, "x@y.example"))
        # a wrong password (or an untrusted certificate) is the operator's to fix, not the
        # letter's fault: held until fixed, never dead-lettered as a refusal of this message
        wrong = SmtpMailer(f"smtp://notify:wrong@127.0.0.1:{port}", ca_file=str(server.ca))
        with pytest.raises(MailUnavailable, match="credentials"):
            wrong.send(Renderer().compose(assessment(), letter, "x@y.example"))
    finally:
        controller.stop()
    assert len(inbox.messages) == 1


def test_no_letter_goes_to_more_than_max_recipients():
    event = assessment(contacts=[{"email": f"c{k}@bedrijf.example"} for k in range(20)])
    company = letters_for(event, SECRETARIAT, max_recipients=3)[0]
    assert company.to == ("c0@bedrijf.example", "c1@bedrijf.example", "c2@bedrijf.example")


def test_subjects_carry_no_control_or_bidi_characters():
    event = assessment(company_name="Evil\u202e fdp.exe\r\nBcc: x@y.example\u2066 B.V.")
    letter = letters_for(event, SECRETARIAT)[0]
    subject = str(Renderer().compose(event, letter, "x@y.example")["Subject"])
    assert subject.endswith("Evil fdp.exe Bcc: x@y.example B.V.")
    assert not any(ord(c) < 32 or 0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069
                   for c in subject)
