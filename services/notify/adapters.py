"""Mailers: SMTP (with STARTTLS) and the outbox folder of RFC 5322 `.eml` files."""

import contextlib
import hashlib
import hmac
import os
import smtplib
import ssl
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from services.shared.errors import ConfigError

from .mime import Mail
from .ports import MailUnavailable, PermanentDeliveryError


class SmtpConfigError(ConfigError):
    pass


class SmtpMailer:
    """`smtp://[user:pass@]host[:port]`: STARTTLS whenever the server offers it, and required
    when credentials are given (they are never sent in clear).
    `smtps://...`: TLS from the first byte (port 465).

    The connection is kept open between messages and opened again when the server dropped it.
    A 5xx reply (for the message or for every recipient) and a server that cannot carry the
    message's addresses raise PermanentDeliveryError; an unreachable server, a 4xx reply and
    refused credentials (ours, not the letter's: an operator must fix them) raise
    MailUnavailable."""

    channel: Literal["smtp", "outbox"] = "smtp"

    def __init__(self, url: str, timeout: float = 30.0, ca_file: str | None = None):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise SmtpConfigError("SMTP_URL must look like smtp://user:pass@host:587")
        self._implicit_tls = parts.scheme == "smtps"
        self._host = parts.hostname
        self._port = parts.port or (465 if self._implicit_tls else 25)
        self._user = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._timeout = timeout
        self._tls = ssl.create_default_context(cafile=ca_file)  # the server is always verified
        self._smtp: smtplib.SMTP | None = None

    def send(self, message: Mail) -> None:
        try:
            try:
                refused = self._send(message)
            except smtplib.SMTPServerDisconnected:
                self.close()
                refused = self._send(message)  # once more on a fresh connection
        except smtplib.SMTPRecipientsRefused as e:
            codes = [code for code, _ in e.recipients.values()]
            if any(500 <= code < 600 for code in codes):
                raise PermanentDeliveryError(_codes("every recipient refused", e.recipients)) \
                    from None
            raise MailUnavailable(_codes("recipients deferred", e.recipients)) from None
        except smtplib.SMTPAuthenticationError as e:
            self.close()
            raise MailUnavailable(f"the mail server refused our credentials (SMTP "
                                  f"{e.smtp_code})") from None
        except smtplib.SMTPResponseException as e:
            self.close()
            if 500 <= e.smtp_code < 600:
                raise PermanentDeliveryError(f"SMTP {e.smtp_code} refusal") from None
            raise MailUnavailable(f"SMTP {e.smtp_code} reply") from None
        except (OSError, smtplib.SMTPException) as e:
            self.close()
            raise MailUnavailable(f"mail server unavailable: {type(e).__name__}") from None
        if refused:
            raise PartiallyRefused(_codes("some recipients refused", refused))

    def _send(self, message: Mail) -> dict[str, tuple[int, bytes]]:
        if not all(a.isascii() for a in (message.envelope_sender, *message.to)):
            # ingest refuses such addresses (services/shared/contracts/plan.py)
            raise PermanentDeliveryError("an address has characters outside ASCII; letters "
                                         "go out over plain SMTP, without SMTPUTF8")
        if self._smtp is None:
            self._smtp = self._connect()
        return self._smtp.sendmail(message.envelope_sender, list(message.to),
                                   message.as_bytes(linesep="\r\n"))

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(Exception):
                self._smtp.quit()
            self._smtp = None

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


class PartiallyRefused(Exception):
    """Accepted for some recipients and refused for others: delivered, not to be sent again."""


def _codes(what: str, refused: dict[str, tuple[int, bytes]]) -> str:
    codes = sorted({str(code) for code, _ in refused.values()})
    return f"{what} ({len(refused)}; SMTP {', '.join(codes)})"


class OutboxMailer:
    """Writes each message as `<folder>/<date>-<hash>.eml`, atomically (temp file + rename),
    so a reader never sees half a message and a re-send of the same message overwrites it."""

    channel: Literal["smtp", "outbox"] = "outbox"

    def __init__(self, folder: Path):
        self.folder = folder

    def send(self, message: Mail) -> None:
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


class WebhookSender:
    """POSTs JSON to a recipient's URL, signed so the receiver can trust it:
    `X-Covenant-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>`,
    `X-Covenant-Timestamp` (seconds; receivers should refuse old ones) and
    `X-Covenant-Delivery` (the same for a repeated delivery: receivers can deduplicate on it).
    A 4xx reply other than 408/429 is permanent; 5xx replies and connection trouble are not."""

    def __init__(self, timeout: float = 10.0):
        self._timeout = timeout

    def post(self, url: str, secret: str, body: bytes, delivery: str) -> None:
        timestamp = str(int(time.time()))
        signature = hmac.new(secret.encode(), timestamp.encode() + b"." + body,
                             hashlib.sha256).hexdigest()
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "X-Covenant-Timestamp": timestamp,
            "X-Covenant-Signature": f"sha256={signature}", "X-Covenant-Delivery": delivery})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout):
                return
        except urllib.error.HTTPError as e:
            if 400 <= e.code < 500 and e.code not in (408, 429):
                raise PermanentDeliveryError(f"HTTP {e.code} from the webhook") from None
            raise
