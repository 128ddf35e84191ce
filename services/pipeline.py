"""The one-process mode: ingest, rules and notify handlers connected by in-process queues, on
embedded defaults (in-memory ledger, the outbox folder instead of SMTP). The handlers, the
ack policy and the topology are the ones the services run on RabbitMQ."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from services.ingest.bootstrap import build_handler as build_ingest
from services.ingest.settings import IngestSettings
from services.notify.bootstrap import build_handler as build_notify
from services.notify.settings import NotifySettings
from services.rules.bootstrap import build_handler as build_rules
from services.rules.settings import RulesSettings
from services.shared.contracts import (
    PLANS_EXCHANGE,
    AssessmentCompleted,
    NotificationDelivered,
    SubmissionRejected,
    plan_routing_key_for,
)
from services.shared.contracts.messages import DEAD_LETTER_EXCHANGE
from services.shared.messaging.handling import REASON_HEADER, Handler, Outgoing, Processor
from services.shared.messaging.inprocess import InProcessBroker
from services.shared.metrics import Metrics
from services.shared.topology import STAGES, Topology

IN_MEMORY = "sqlite://"


@dataclass
class PlanReport:
    """Everything that happened to one submitted file, in order."""

    source: str
    correlation_id: str
    rejection: SubmissionRejected | None = None
    assessment: AssessmentCompleted | None = None
    notifications: list[NotificationDelivered] = field(default_factory=list)
    dead_letters: list[str] = field(default_factory=list)  # reasons

    @property
    def outcome(self) -> str:
        if self.dead_letters:
            return "dead-lettered"
        if self.rejection:
            return "rejected"
        return "accepted" if self.assessment else "duplicate"


class LocalPipeline:
    def __init__(self, ingest: IngestSettings, rules: RulesSettings, notify: NotifySettings):
        self.outbox = None if notify.smtp_url else notify.outbox_dir
        self.broker = InProcessBroker(Topology(delivery_limit=ingest.delivery_limit))
        self.registry = CollectorRegistry()
        family = Metrics(self.registry)
        metrics = {s: family.for_service(s) for s in STAGES}
        handlers: dict[str, Handler] = {
            "ingest": build_ingest(ingest),
            "rules": build_rules(rules, metrics["rules"]),
            "notify": build_notify(notify, metrics["notify"]),
        }
        self.consumers = {
            STAGES[s].queue: Processor(s, h, metrics[s],
                                       STAGES[s].delivery_limit(ingest.delivery_limit),
                                       DEAD_LETTER_EXCHANGE)
            for s, h in handlers.items()
        }

    @classmethod
    def on_embedded_defaults(cls, outbox: Path | None = None) -> "LocalPipeline":
        """Settings from the environment, except what the one-process mode embeds: the
        ledger in memory unless DATABASE_URL is set, the outbox unless SMTP_URL is set."""
        ingest, rules = IngestSettings(), RulesSettings()
        if "database_url" not in ingest.model_fields_set:
            ingest = ingest.model_copy(update={"database_url": SecretStr(IN_MEMORY)})
        if "database_url" not in rules.model_fields_set:
            rules = rules.model_copy(update={"database_url": SecretStr(IN_MEMORY)})
        notify = NotifySettings()
        if "database_url" not in notify.model_fields_set:
            notify = notify.model_copy(update={"database_url": SecretStr(IN_MEMORY)})
        if outbox is not None:
            notify = notify.model_copy(update={"outbox_dir": outbox})
        return cls(ingest, rules, notify)

    def run(self, files: Iterable[Path]) -> list[PlanReport]:
        reports = [self._submit(path) for path in files]
        self.broker.drain(self.consumers)
        return [self._collect(r) for r in reports]

    def _submit(self, path: Path) -> PlanReport:
        body = path.read_bytes()
        message_id = str(uuid.uuid4())
        self.broker.publish(Outgoing(PLANS_EXCHANGE, plan_routing_key_for(body), body,
                                     message_id, correlation_id=message_id))
        return PlanReport(str(path), message_id)

    def _collect(self, report: PlanReport) -> PlanReport:
        for message in self.broker.published:
            if message.correlation_id != report.correlation_id:
                continue
            if message.exchange == DEAD_LETTER_EXCHANGE:
                report.dead_letters.append(str(message.headers.get(REASON_HEADER)))
            elif message.routing_key.startswith("submission.rejected."):
                report.rejection = SubmissionRejected.model_validate_json(message.body)
            elif message.routing_key.startswith("assessment.completed."):
                report.assessment = AssessmentCompleted.model_validate_json(message.body)
            elif message.routing_key.startswith("notification.delivered."):
                report.notifications.append(
                    NotificationDelivered.model_validate_json(message.body))
        return report


def plan_files(paths: Iterable[Path]) -> list[Path]:
    """The given files, and the *.json files in the given folders, in a stable order."""
    found: list[Path] = []
    for path in paths:
        found.extend(sorted(path.glob("*.json")) if path.is_dir() else [path])
    return found
