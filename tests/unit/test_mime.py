"""Letters written as MIME bytes (services/notify/mime.py) read back by Python's own parser as
they were given: headers, addresses and both bodies, whatever the text holds."""

import email
from email import policy
from email.headerregistry import Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.notify.adapters import OutboxMailer, SmtpMailer
from services.notify.mime import Mail
from services.notify.ports import PermanentDeliveryError

# a header's text: anything printable (header_safe has removed the rest), accents included
header_text = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
                      max_size=150).map(str.strip)
local = st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,20}", fullmatch=True).filter(
    lambda s: ".." not in s and not s.endswith("."))
addresses = st.builds(lambda user, host: f"{user}@{host}.example", local,
                      st.from_regex(r"[a-z][a-z0-9-]{0,30}", fullmatch=True))
# bodies: every character but surrogates, lines of any length, dots, dashes and '=' included
bodies = st.text(st.characters(blacklist_categories=("Cs",)), max_size=1_000) | st.lists(
    st.sampled_from([".", "..", "From me", "--", "=", "=_", " ", "a" * 300, "é" * 90, "\t"]),
    max_size=30).map("\n".join)


def read_back(mail: Mail, linesep: str = "\n") -> email.message.EmailMessage:
    raw = mail.as_bytes(linesep=linesep)
    assert raw.isascii()
    lines = raw.split(linesep.encode())
    assert all(len(line) <= 998 for line in lines)
    message = email.message_from_bytes(raw, policy=policy.default)
    assert not message.defects and all(not part.defects for part in message.walk())
    return message


def lines_of(text: str) -> str:
    """A body as the package gives it back: its lines, each ending in a line break."""
    return b"".join(line + b"\n" for line in text.encode().splitlines()).decode()


@settings(max_examples=100, deadline=None)
@given(subject=header_text, name=header_text, sender=addresses,
       to=st.lists(addresses, min_size=1, max_size=10), text=bodies, html=bodies,
       linesep=st.sampled_from(["\n", "\r\n"]))
def test_what_is_written_reads_back_as_given(subject, name, sender, to, text, html, linesep):
    mail = Mail(str(Address(display_name=name, addr_spec=sender)), to, text, html)
    mail["Subject"] = subject
    mail["Reply-To"] = str(Address(display_name=subject, addr_spec=to[0]))
    mail["Message-ID"] = "<event.company@ser.example>"
    mail["X-Covenant-Correlation-Id"] = f"{name}-{'x' * 200}"
    message = read_back(mail, linesep)
    assert message["Subject"] == subject
    assert message["From"].addresses == (Address(display_name=name, addr_spec=sender),)
    assert [a.addr_spec for a in message["To"].addresses] == to
    assert message["Reply-To"].addresses == (Address(display_name=subject, addr_spec=to[0]),)
    assert message["Message-ID"] == mail["Message-ID"]
    assert message["X-Covenant-Correlation-Id"] == f"{name}-{'x' * 200}"
    assert message.get_content_type() == "multipart/alternative"
    for subtype, body in (("plain", text), ("html", html)):  # the parser keeps CRLF
        read = message.get_body((subtype,)).get_content().replace(linesep, "\n")
        assert read == lines_of(body)
    assert (mail.envelope_sender, mail.to) == (sender, tuple(to))


def test_a_long_list_of_recipients_is_folded_between_addresses():
    to = [f"contact-{i}-{'x' * 40}@company.example" for i in range(10)]
    mail = Mail("noreply@ser.example", to, "text", "<p>html</p>")
    raw = mail.as_bytes().decode()
    header = raw[raw.index("To: "):raw.index("MIME-Version")]
    assert header.count("\n") == 10 and all(len(line) <= 200 for line in header.splitlines())
    assert [a.addr_spec for a in read_back(mail)["To"].addresses] == to


def test_bodies_are_seven_bit_quoted_printable_with_short_lines():
    text = "één " * 100 + "\nA second line.\nA third."
    mail = Mail("noreply@ser.example", ["a@b.example"], text, "<p style='x'>" * 50)
    raw = mail.as_bytes().decode("ascii")
    body_lines = raw.split("\n\n", 1)[1].splitlines()
    assert max(len(line) for line in body_lines) <= 76
    assert raw.count("Content-Transfer-Encoding: quoted-printable") == 2
    # the text's own line breaks stay line breaks, readable in the raw letter
    assert "\nA second line.\nA third.\n" in raw


@pytest.mark.parametrize("value", ["a\nBcc: all@evil.example", "a\r\nX: 1", "a\rb", "a\x00b",
                                   "a\x1bb"])
def test_a_header_value_with_a_line_break_or_control_character_is_refused(value):
    mail = Mail("noreply@ser.example", ["a@b.example"], "text", "html")
    with pytest.raises(ValueError, match="line breaks"):
        mail["Subject"] = value
    with pytest.raises(ValueError, match="line breaks"):
        Mail("noreply@ser.example", [value], "text", "html")


def test_an_address_outside_ascii_is_written_to_the_outbox_as_it_is(tmp_path):
    mail = Mail("noreply@ser.example", ["jürgen@firma.example"], "t", "h")
    OutboxMailer(tmp_path).send(mail)
    [eml] = tmp_path.glob("*.eml")
    assert email.message_from_bytes(eml.read_bytes(), policy=policy.default)["To"] == \
        "jürgen@firma.example"


def test_an_address_outside_ascii_is_refused_for_good_before_connecting():
    mailer = SmtpMailer("smtp://127.0.0.1:9")  # nothing listens: it must not try
    with pytest.raises(PermanentDeliveryError, match="outside ASCII"):
        mailer.send(Mail("noreply@ser.example", ["jürgen@firma.example"], "t", "h"))
