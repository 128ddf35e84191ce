"""Mailers: SMTP (with STARTTLS) and the outbox folder of RFC 5322 `.eml` files."""

import hashlib
import os
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit


class SmtpConfigError(ValueError):
    pass


class SmtpMailer:
    """`smtp://[user:pass@]host[:port]`: STARTTLS whenever the server offers it, and required
    when credentials are given (they are never sent in clear).
    `smtps://...`: TLS from the first byte (port 465)."""

    channel: Literal["smtp", "outbox"] = "smtp"

    def __init__(self, url: str, timeout: float = 30.0):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise SmtpConfigError("SMTP_URL must look like smtp://user:pass@host:587")
        self._implicit_tls = parts.scheme == "smtps"
        self._host = parts.hostname
        self._port = parts.port or (465 if self._implicit_tls else 25)
        self._user = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._timeout = timeout
        self._tls = ssl.create_default_context()

    def send(self, message: EmailMessage) -> None:
        with self._connect() as smtp:
            smtp.send_message(message)

    def _connect(self) -> smtplib.SMTP:
        if self._implicit_tls:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self._host, self._port, timeout=self._timeout,
                                                  context=self._tls)
        else:
            smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=self._tls)
                smtp.ehlo()
            elif self._user:
                smtp.close()
                raise SmtpConfigError("the SMTP server offers no STARTTLS; refusing to send "
                                      "credentials in clear (use smtps:// or a TLS server)")
        if self._user:
            smtp.login(self._user, self._password or "")
        return smtp


class OutboxMailer:
    """Writes each message as `<folder>/<date>-<hash>.eml`, atomically (temp file + rename),
    so a reader never sees half a message and a re-send of the same message overwrites it."""

    channel: Literal["smtp", "outbox"] = "outbox"

    def __init__(self, folder: Path):
        self.folder = folder

    def send(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        data = message.as_bytes()
        name = hashlib.sha256(str(message["Message-ID"]).encode()).hexdigest()[:16]
        target = self.folder / f"{name}.eml"
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
