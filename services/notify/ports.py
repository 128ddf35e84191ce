"""What notify needs from the outside world."""

from email.message import EmailMessage
from typing import Literal, Protocol


class Mailer(Protocol):
    """Hands a message to the mail system; raises when it was not accepted."""

    channel: Literal["smtp", "outbox"]

    def send(self, message: EmailMessage) -> None: ...
