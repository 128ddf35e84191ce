"""Submission traffic for the fault and cluster tests: many plans, a paced publisher, what the
mail server received, and the accounting of every submission's outcome."""

import copy
import json
import re
import uuid
from collections import Counter
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from typing import Any

import pika

from services.notify.store import SqlNotificationStore
from services.shared.contracts import PLANS_EXCHANGE
from services.shared.db import Database
from services.shared.messaging.handling import REASON_HEADER, Outgoing
from services.shared.messaging.pika_adapter import publish_confirmed
from services.shared.topology import STAGES
from tests.broker.amqp import drain
from tests.support import BANKING, INVALID, TEXTILE, Inbox, example_doc

SECRETARIAT = "secretariaat@ser.example"


@dataclass(frozen=True)
class Submission:
    submission_id: str
    kind: str  # textile, banking or invalid
    address: str
    message: Outgoing

    @property
    def expected(self) -> str:
        return "submission.rejected" if self.kind == "invalid" else "assessment.completed"

    @property
    def recipients(self) -> set[str]:
        """Who must receive a letter: an invalid plan's company was never accepted, so only
        the secretariat hears of its rejection."""
        return {SECRETARIAT} if self.kind == "invalid" else {self.address, SECRETARIAT}

    def notified(self, mailbag: "Mailbag") -> bool:
        return all(mailbag.letters(r) for r in self.recipients - {SECRETARIAT})


def submissions(count: int, publisher: str) -> list[Submission]:
    """One company each, so each company address must receive exactly one letter: one in four
    banking, one in twenty invalid (rejected), the rest textile."""
    bases = {"textile": example_doc(TEXTILE), "banking": example_doc(BANKING),
             "invalid": example_doc(INVALID)}
    made = []
    for i in range(count):
        kind = "invalid" if i % 20 == 7 else "banking" if i % 4 == 1 else "textile"
        doc = copy.deepcopy(bases[kind])
        sid, address = str(uuid.uuid4()), f"contact-{i:05d}@fabrikant{i:05d}.example"
        doc["submission"]["submission_id"] = sid
        doc["company"].update(company_id=f"FAB-{i:05d}", legal_name=f"Fabrikant {i:05d} B.V.",
                              contacts=[{"email": address, "name": f"Contactpersoon {i:05d}"}])
        covenant = doc["submission"]["covenant"]
        made.append(Submission(sid, kind, address, Outgoing(
            PLANS_EXCHANGE, f"plan.{covenant}", json.dumps(doc).encode(), sid,
            correlation_id=sid, user_id=publisher)))
    return made


class Publisher:
    """Publishes the plans in batches, keeping at most `in_flight` ahead of the letters that
    arrived; a batch whose connection was closed is published again (same message ids)."""

    def __init__(self, parameters: Any, plans: list[Submission], in_flight: int = 150,
                 batch: int = 25):
        self.parameters, self.plans = parameters, plans
        self.in_flight, self.batch = in_flight, batch
        self.published = self.republished = 0

    @property
    def done(self) -> bool:
        return self.published == len(self.plans)

    def feed(self, notified: int) -> None:
        if self.done or self.published - notified >= self.in_flight:
            return
        try:
            publish_confirmed(self.parameters, [
                p.message for p in self.plans[self.published:self.published + self.batch]])
            self.published = min(len(self.plans), self.published + self.batch)
        except (pika.exceptions.AMQPError, OSError):
            self.republished += 1


class Mailbag:
    """What the SMTP server received, by (recipient, Message-ID), read incrementally."""

    def __init__(self, inbox: Inbox):
        self.inbox, self.seen, self.received = inbox, 0, Counter[tuple[str, str]]()
        self.distinct = Counter[str]()  # recipient -> distinct letters

    def update(self) -> None:
        new = self.inbox.messages[self.seen:]
        self.seen += len(new)
        for recipients, raw in new:
            message_id = str(BytesHeaderParser().parsebytes(raw)["Message-ID"]).strip()  # folded
            for recipient in recipients:
                self.distinct[recipient] += (recipient, message_id) not in self.received
                self.received[recipient, message_id] += 1

    def letters(self, recipient: str) -> int:
        """Distinct letters the recipient received."""
        return self.distinct[recipient]


def dead_letters(url: str) -> list[Any]:
    """Takes every stage's dead letters: (properties, body)."""
    return [m for stage in STAGES.values() for m in drain(url, stage.dead_letter_queue)]


def reason_of(props: pika.BasicProperties) -> str | None:
    """Why a message was dead-lettered: our handler's reason, or the broker's."""
    headers = props.headers or {}
    return headers.get(REASON_HEADER) or headers.get("x-first-death-reason")


@dataclass
class Accounting:
    processed: set[str]  # exactly one event archived and one letter per recipient
    lost: list[str]  # no outcome, or a letter missing
    duplicated: list[str]  # two events, two distinct letters to a recipient, or two outcomes
    resent: int  # a letter received again under the same Message-ID
    archived: Counter[str]  # event type -> submissions


def accounting(plans: list[Submission], mailbag: Mailbag, dead: list[Any],
               notify_db: str) -> Accounting:
    """Each submission's outcome, from notify's archive (DATABASE_URL `notify_db`), the letters
    received and the dead-lettered messages."""
    db = Database(notify_db)
    try:
        archived = SqlNotificationStore(db).events()
    finally:
        db.close()
    events: dict[str, list[tuple[str, str]]] = {}
    for event in archived:
        events.setdefault(str(event.submission_id), []).append((event.type, event.message_id))
    letters: dict[str, Counter[str]] = {}  # event message id -> recipient -> distinct letters
    for recipient, message_ref in mailbag.received:
        event_id = re.sub(r"^<(.*)\.[a-z]+@[^>]+>$", r"\1", message_ref)
        letters.setdefault(event_id, Counter())[recipient] += 1
    dead_ids = {props.message_id for props, _ in dead}
    result = Accounting(set(), [], [], sum(n - 1 for n in mailbag.received.values()), Counter())
    for plan in plans:
        found = events.get(plan.submission_id, [])
        outcomes = len(found) + (plan.submission_id in dead_ids)
        if outcomes > 1:
            result.duplicated.append(plan.submission_id)
        if not found:  # a dead-letter entry with its reason is an outcome too
            if plan.submission_id in dead_ids:
                result.processed.add(plan.submission_id)
            else:
                result.lost.append(plan.submission_id)
            continue
        type_, event_id = found[0]
        result.archived[type_] += 1
        sent = letters.get(event_id, Counter())
        if type_ != plan.expected or any(sent[r] == 0 for r in plan.recipients):
            result.lost.append(plan.submission_id)
        elif set(sent) != plan.recipients or max(sent.values()) > 1:
            result.duplicated.append(plan.submission_id)
        elif outcomes == 1:
            result.processed.add(plan.submission_id)
    return result




def figures(title: str, plans: list[Submission], outcomes: Accounting, mailbag: Mailbag,
            dead: list[Any], publisher: Publisher) -> str:
    """The run's figures: sent, assessed, rejected, dead-lettered, duplicated, lost."""
    reasons = Counter(reason_of(props) for props, _ in dead)
    return "\n".join([
        f"\n{title}: {len(plans)} submissions sent ({publisher.republished} batches published "
        "again)",
        f"  assessed {outcomes.archived['assessment.completed']}, "
        f"rejected {outcomes.archived['submission.rejected']}, dead-lettered {len(dead)}, "
        f"duplicated {len(outcomes.duplicated)}, lost {len(outcomes.lost)}",
        f"  letters: {len(mailbag.received)} distinct, {outcomes.resent} received again under "
        "the same Message-ID",
        f"  dead-letter reasons: {dict(reasons)}",
    ])
