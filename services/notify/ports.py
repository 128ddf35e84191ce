"""What notify needs from the outside world."""

from typing import Literal, Protocol

from services.shared.errors import Unavailable

from .mime import Mail


class PermanentDeliveryError(Exception):
    """The mail system refused the message for good (a 5xx reply): retrying cannot help.
    `reason` names the reply code, never an address."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class MailUnavailable(Unavailable):
    """The mail system cannot take the message now (unreachable, a 4xx reply, our own
    credentials refused): the letter waits for it, without spending the event's deliveries."""


class Mailer(Protocol):
    """Hands a message to the mail system. Raises PermanentDeliveryError when it was refused
    for good, MailUnavailable when the mail system may take it later."""

    channel: Literal["smtp", "outbox"]

    def send(self, message: Mail) -> None: ...
