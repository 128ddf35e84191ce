"""Notify: one `AssessmentCompleted` or `SubmissionRejected` in, the letters sent, one
`NotificationDelivered` per letter out."""

from dataclasses import dataclass

from services.shared.contracts import NotificationDelivered
from services.shared.contracts.messages import NOTIFY_INPUT, AssessmentCompleted
from services.shared.messaging.handling import Delivery, Outcome, Outgoing, decode
from services.shared.metrics import ServiceMetrics

from .domain import Renderer, Secretariat, letters_for
from .ports import Mailer


@dataclass
class NotifyHandler:
    mailer: Mailer
    renderer: Renderer
    secretariat: Secretariat
    sender: str
    metrics: ServiceMetrics

    def __call__(self, delivery: Delivery) -> Outcome:
        event = decode(NOTIFY_INPUT, delivery, "assessment or rejection")
        about = "assessment" if isinstance(event, AssessmentCompleted) else "rejection"
        delivered = []
        for letter in letters_for(event, self.secretariat):
            message = self.renderer.compose(event, letter, self.sender)
            self.mailer.send(message)
            self.metrics.notifications.labels(letter.role.value, self.mailer.channel).inc()
            delivered.append(NotificationDelivered(
                correlation_id=event.correlation_id,
                about=about,
                submission_id=event.submission_id,
                covenant=event.covenant,
                recipient_role=letter.role,
                channel=self.mailer.channel,
                message_ref=str(message["Message-ID"]),
            ))
        # nothing has to consume these: a missing subscriber must not fail the notification
        return Outcome("notified", [Outgoing.of(d, mandatory=False) for d in delivered], log={
            "submission_id": event.submission_id, "about": about,
            "recipients": [d.recipient_role.value for d in delivered],
            "channel": self.mailer.channel,
        })
