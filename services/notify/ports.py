"""What notify needs from the outside world."""

from email.message import EmailMessage
from typing import Literal, Protocol


class PermanentDeliveryError(Exception):
    """The mail system refused the message for good (a 5xx reply): retrying cannot help.
    `reason` names the reply code, never an address."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Mailer(Protocol):
    """Hands a message to the mail system. Raises PermanentDeliveryError when it was refused
    for good, any other exception when it may work later."""

    channel: Literal["smtp", "outbox"]

    def send(self, message: EmailMessage) -> None: ...
