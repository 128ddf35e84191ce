"""Notify: one `AssessmentCompleted`, `SubmissionRejected`, `ReviewFinalised` or
`SignalForwarded` in, each letter sent once, one `NotificationDelivered` per letter sent out.

Each recipient's letter fails alone. The company's letter is tried first; when the company's
side refuses it for good (a 5xx reply, a webhook's 4xx), that is recorded, counted, and said in
the secretariat's letter, which is sent all the same; the event is not dead-lettered for it. A
mail system that is away (`MailUnavailable`) holds the event until it is back."""

from dataclasses import dataclass, field

from services.shared.contracts import NotificationDelivered, RecipientRole
from services.shared.contracts.messages import NOTIFY_INPUT, NotifyEvent
from services.shared.messaging.handling import (
    Delivery,
    Outcome,
    Outgoing,
    PermanentFailure,
    decode,
)
from services.shared.metrics import ServiceMetrics

from .adapters import PartiallyRefused, WebhookSender
from .domain import (
    ABOUT,
    MAX_RECIPIENTS,
    Letter,
    Renderer,
    Secretariat,
    letters_for,
    webhook_key,
    webhook_payload,
)
from .ports import Mailer, PermanentDeliveryError
from .store import SqlNotificationStore


@dataclass(frozen=True)
class WebhookTarget:
    url: str
    secret: str


@dataclass
class NotifyHandler:
    mailer: Mailer
    renderer: Renderer
    secretariat: Secretariat
    sender: str
    metrics: ServiceMetrics
    store: SqlNotificationStore
    webhooks: dict[str, WebhookTarget] = field(default_factory=dict)
    webhook_sender: WebhookSender = field(default_factory=WebhookSender)
    max_recipients: int = MAX_RECIPIENTS
    company_letter: str = "automatic"  # or "after_review" (setting COMPANY_LETTER)

    def __call__(self, delivery: Delivery) -> Outcome:
        event = decode(NOTIFY_INPUT, delivery, "assessment, rejection, feedback or signal")
        about = ABOUT[event.type]
        delivered, repeated, undelivered = [], 0, []
        letters = letters_for(event, self.secretariat, frozenset(self.webhooks),
                              self.max_recipients, self.company_letter)
        keys = [f"{event.message_id}:{letter.role.value}" for letter in letters]
        states = self.store.open(event, keys)
        for letter, key in zip(letters, keys, strict=True):
            hook = webhook_key(letter, frozenset(self.webhooks))
            channel = "webhook" if hook else self.mailer.channel
            state = states[key]
            if state in ("sent", "refused"):  # a redelivered event: this letter is done
                self.store.attempt(key, event.message_id, letter.role.value, channel,
                                   f"already_{state}")
                repeated += 1
                if state == "refused":
                    undelivered.append(letter.role)
                continue
            message_ref = self._send(key, event, letter, hook, tuple(undelivered))
            if message_ref is None:
                undelivered.append(letter.role)
                continue
            delivered.append(NotificationDelivered(
                correlation_id=event.correlation_id, about=about,
                submission_id=event.submission_id, covenant=event.covenant,
                recipient_role=letter.role, channel=channel, message_ref=message_ref,
            ))
        # nothing has to consume these: a missing subscriber must not fail the notification
        return Outcome("notified" if delivered else "duplicate",
                       [Outgoing.of(d, mandatory=False) for d in delivered], log={
                           "submission_id": event.submission_id, "about": about,
                           "recipients": [d.recipient_role.value for d in delivered],
                           "already_done": repeated,
                           "refused": [r.value for r in undelivered],
                           "contacts_beyond_cap": max(0, len({c.email for c in event.contacts})
                                                      - self.max_recipients),
                       })

    def _send(self, key: str, event: NotifyEvent, letter: Letter,
              hook: str | None, undelivered: tuple[RecipientRole, ...]) -> str | None:
        """Hands the letter over (webhook or mail) and records the attempt; returns its ref,
        or None when the company's side refused it for good. `undelivered`: the recipients
        whose letters were refused, for the secretariat's letter to say so."""
        if hook:
            target, channel, ref = self.webhooks[hook], "webhook", key
            body = webhook_payload(event, letter, key)

            def hand_over() -> None:
                self.webhook_sender.post(target.url, target.secret, body, key)
        else:
            message = self.renderer.compose(event, letter, self.sender, undelivered)
            channel, ref = self.mailer.channel, str(message["Message-ID"])

            def hand_over() -> None:
                self.mailer.send(message)

        def attempt(outcome: str, detail: str | None = None) -> None:
            self.store.attempt(key, event.message_id, letter.role.value, channel, outcome,
                               detail)

        outcome, detail = "sent", None
        try:
            hand_over()
        except PartiallyRefused as e:
            outcome, detail = "partially_refused", str(e)
        except PermanentDeliveryError as e:
            self.store.refused(key, event.message_id, letter.role.value, channel, e.reason)
            self.metrics.notification_failures.labels("permanent").inc()
            if letter.role is RecipientRole.SECRETARIAT:  # nobody left to tell: an operator's
                raise PermanentFailure(f"secretariat notification refused: {e.reason}") \
                    from None
            return None
        except Exception as e:  # the mail system or webhook may work later: held or retried
            attempt("failed", getattr(e, "reason", None) or type(e).__name__)
            self.metrics.notification_failures.labels("transient").inc()
            raise
        self.store.sent(key, event.message_id, letter.role.value, channel, outcome, detail)
        self.metrics.notifications.labels(letter.role.value, channel).inc()
        return ref
