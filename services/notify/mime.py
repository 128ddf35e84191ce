"""A letter as MIME bytes: headers, and its plain text and HTML as alternatives.

Python's `email` package parses every header it is given into a structured object, folds it
again on output and guesses an encoding for each body: almost half of notify's CPU per plan
(measured in one process on 2026-12-05: notify's CPU for a plan's two letters was 6.3 ms with
the package, 3.6 ms written here). A letter always has the same shape, so it is written directly:

- an ASCII header value is written on one line (RFC 5322 allows 998 characters), an address
  list folded between its addresses beyond `MAX_LINE`, and a value with other characters
  becomes RFC 2047 encoded words (through the package's own `Header`, only then);
- display names are quoted or encoded by `email.utils.formataddr`;
- a value holding a line break or another control character is refused (no header
  injection, whatever the caller checked);
- both bodies are UTF-8, quoted-printable (RFC 2045: 7-bit lines of at most 76 characters, so
  any relay carries them), ending with a line break;
- the boundary begins with `=_`, which a quoted-printable body cannot hold.

What the package's parser reads back is what was given (tests/unit/test_mime.py).
"""

import binascii
import functools
import re
import secrets
from collections.abc import Iterable
from email.header import Header
from email.utils import formataddr, getaddresses

MAX_LINE = 200  # an address list longer than this is folded between its addresses
MAX_LINE_RFC = 998  # RFC 5322's limit for a line


class Mail:
    """One letter. Headers keep the order they were set in; `mail[name]` reads the first of
    that name (None when absent), as `EmailMessage` does."""

    def __init__(self, sender: str, to: Iterable[str], text: str, html: str) -> None:
        self.envelope_sender = _addresses(sender)[0][1]  # SMTP's MAIL FROM
        self.to = tuple(to)  # SMTP's RCPT TO
        self.text, self.html = text, html
        self._headers: list[tuple[str, str]] = []
        self["From"] = sender
        self["To"] = ", ".join(self.to)

    def __setitem__(self, name: str, value: str) -> None:
        _refuse_controls(name, value)
        self._headers.append((name, value))

    def __getitem__(self, name: str) -> str | None:
        return next((v for n, v in self._headers if n.lower() == name.lower()), None)

    def as_bytes(self, linesep: str = "\n") -> bytes:
        boundary = f"=_{secrets.token_hex(16)}"
        lines = [_header(name, value, linesep) for name, value in self._headers]
        lines += ["MIME-Version: 1.0",
                  f'Content-Type: multipart/alternative; boundary="{boundary}"', ""]
        for subtype, body in (("plain", self.text), ("html", self.html)):
            lines += [f"--{boundary}", f'Content-Type: text/{subtype}; charset="utf-8"',
                      "Content-Transfer-Encoding: quoted-printable", "",
                      _quoted_printable(body, linesep)]
        lines += [f"--{boundary}--", ""]
        # ASCII throughout, but for an address outside ASCII, which only the outbox writes:
        # SMTP refuses it (adapters.SmtpMailer), ingest before it (contracts/plan.py)
        return linesep.join(lines).encode("utf-8")


_ADDRESSES = frozenset({"from", "to", "reply-to", "cc"})


def _header(name: str, value: str, linesep: str) -> str:
    if name.lower() in _ADDRESSES:  # display names encoded, addresses as they are
        addresses = [written for _, _, written in _addresses(value)]
        joined = ", ".join(addresses)
        if len(name) + 2 + len(joined) > MAX_LINE:
            joined = f",{linesep} ".join(addresses)
        return f"{name}: {joined}"
    if value.isascii() and len(name) + 2 + len(value) <= MAX_LINE_RFC:
        return f"{name}: {value}"  # one line (a subject is at most 150 characters, an id 200)
    # folded at spaces; a value outside ASCII becomes UTF-8 encoded words (Header's own choice)
    return f"{name}: " + Header(value, header_name=name).encode(linesep=linesep)


_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")


@functools.lru_cache(maxsize=1024)  # the sender and the secretariat's: in every letter
def _addresses(value: str) -> tuple[tuple[str, str, str], ...]:
    """(display name, address, as written) of each address in a header's value."""
    if _PLAIN_ADDRESS.fullmatch(value):
        return (("", value, value),)
    return tuple((name, address, formataddr((name, address), charset="utf-8")
                  if address.isascii() else address)  # only the outbox writes it (as_bytes)
                 for name, address in getaddresses([value]))


_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")  # line breaks among them


def _refuse_controls(name: str, value: str) -> None:
    if _CONTROLS.search(value) or _CONTROLS.search(name) or not name.isascii() \
            or ":" in name or " " in name:
        raise ValueError(f"the {name!r} header may hold neither line breaks nor control "
                         "characters")


def _quoted_printable(text: str, linesep: str) -> str:
    """The text's lines (split as the email package splits them), each ending in a line
    break, encoded. The line break before the next boundary is the boundary's own."""
    lines = text.encode("utf-8").splitlines()
    encoded = binascii.b2a_qp(b"".join(line + b"\n" for line in lines), istext=True)
    return encoded.decode("ascii").replace("\n", linesep)
