"""The secretariat's daily digest: one e-mail per covenant with the day's assessments, each
digest sent once (the delivery ledger, key `digest:<covenant>:<day>`). Run it daily, e.g. from
cron: `covenant notify digest` (yesterday, UTC) or `--day 2019-03-28`.

Only a digest handed to the mail server counts as sent. Without SMTP_URL it is written to the
outbox folder as a preview and not recorded: a later run with SMTP_URL still sends it."""

from collections import defaultdict
from datetime import date

from services.shared.contracts import AssessmentCompleted

from .domain import Renderer, Secretariat
from .ports import Mailer
from .store import SqlNotificationStore


def send_digests(day: date, store: SqlNotificationStore, mailer: Mailer, renderer: Renderer,
                 secretariat: Secretariat, sender: str) -> list[str]:
    """Sends what was not sent yet; returns the covenants a digest went out (or, to the
    outbox, was previewed) for."""
    by_covenant: dict[str, list[AssessmentCompleted]] = defaultdict(list)
    for archived in store.events(type="assessment.completed", received_on=day.isoformat()):
        event = AssessmentCompleted.model_validate(archived.event)
        by_covenant[event.covenant].append(event)
    sent = []
    for covenant, events in sorted(by_covenant.items()):
        key = f"digest:{covenant}:{day.isoformat()}"
        if store.begin(key) == "sent":
            continue
        mailer.send(renderer.digest(covenant, day.isoformat(), events, secretariat, sender))
        if mailer.channel == "smtp":
            store.sent(key, key, "secretariat", mailer.channel)
        sent.append(covenant)
    return sent
