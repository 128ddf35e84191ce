"""Notify: one `AssessmentCompleted` or `SubmissionRejected` in, each letter sent once, one
`NotificationDelivered` per letter sent out."""

from dataclasses import dataclass

from services.shared.contracts import NotificationDelivered
from services.shared.contracts.messages import NOTIFY_INPUT, AssessmentCompleted, SubmissionRejected
from services.shared.messaging.handling import (
    Delivery,
    Outcome,
    Outgoing,
    PermanentFailure,
    decode,
)
from services.shared.metrics import ServiceMetrics

from .adapters import PartiallyRefused
from .domain import Letter, Renderer, Secretariat, letters_for
from .ports import Mailer, PermanentDeliveryError
from .store import SqlNotificationStore


@dataclass
class NotifyHandler:
    mailer: Mailer
    renderer: Renderer
    secretariat: Secretariat
    sender: str
    metrics: ServiceMetrics
    store: SqlNotificationStore

    def __call__(self, delivery: Delivery) -> Outcome:
        event = decode(NOTIFY_INPUT, delivery, "assessment or rejection")
        self.store.keep(event)
        about = "assessment" if isinstance(event, AssessmentCompleted) else "rejection"
        delivered, repeated = [], 0
        for letter in letters_for(event, self.secretariat):
            key = f"{event.message_id}:{letter.role.value}"
            if self.store.begin(key) == "sent":  # a redelivered event: this letter went out
                self._attempt(key, event, letter, "already_sent")
                repeated += 1
                continue
            message_ref = self._send(key, event, letter)
            delivered.append(NotificationDelivered(
                correlation_id=event.correlation_id, about=about,
                submission_id=event.submission_id, covenant=event.covenant,
                recipient_role=letter.role, channel=self.mailer.channel,
                message_ref=message_ref,
            ))
        # nothing has to consume these: a missing subscriber must not fail the notification
        return Outcome("notified" if delivered else "duplicate",
                       [Outgoing.of(d, mandatory=False) for d in delivered], log={
                           "submission_id": event.submission_id, "about": about,
                           "recipients": [d.recipient_role.value for d in delivered],
                           "already_sent": repeated, "channel": self.mailer.channel,
                       })

    def _send(self, key: str, event: AssessmentCompleted | SubmissionRejected,
              letter: Letter) -> str:
        message = self.renderer.compose(event, letter, self.sender)
        outcome, detail = "sent", None
        try:
            self.mailer.send(message)
        except PartiallyRefused as e:
            outcome, detail = "partially_refused", str(e)
        except PermanentDeliveryError as e:
            self._attempt(key, event, letter, "refused", e.reason)
            self.metrics.notification_failures.labels("permanent").inc()
            raise PermanentFailure(f"{letter.role.value} notification refused: {e.reason}") \
                from None
        except Exception as e:  # the mail system may work later: the message is retried
            self._attempt(key, event, letter, "failed", type(e).__name__)
            self.metrics.notification_failures.labels("transient").inc()
            raise
        self.store.sent(key)
        self._attempt(key, event, letter, outcome, detail)
        self.metrics.notifications.labels(letter.role.value, self.mailer.channel).inc()
        return str(message["Message-ID"])

    def _attempt(self, key: str, event: AssessmentCompleted | SubmissionRejected,
                 letter: Letter, outcome: str, detail: str | None = None) -> None:
        self.store.attempt(key, event.message_id, letter.role.value, self.mailer.channel,
                           outcome, detail)
