"""Every metric of the services, defined in one place.

`Metrics(registry)` defines the families once per registry; `for_service(name)` gives the
children with the `service` label applied, so the one-process mode can hold all three
services in one registry. Names carry the `covenant_` prefix; label sets are small and fixed:
`outcome` is a handler outcome (accepted, rejected, duplicate, assessed, notified) or
`dead_lettered`/`retried`/`held` (a dependency was away); `severity` is one of the five
finding severities; `recipient` is company or secretariat; `channel` is smtp or outbox;
`result` is ok or failed; `kind` is transient or permanent.
"""

from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

HANDLING_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self, registry: CollectorRegistry):
        def counter(name: str, doc: str, *labels: str) -> Counter:
            return Counter(f"covenant_{name}", doc, ["service", *labels], registry=registry)

        self.received = counter("messages_received", "Messages taken from the queue")
        self.acked = counter("messages_acked", "Messages acked after their outputs were confirmed")
        self.requeued = counter("messages_requeued", "Messages returned to the queue (handler "
                                "failure or an unroutable output)")
        self.republished = counter("outputs_republished", "Outputs published again after the "
                                   "broker nacked them (their input stays unacked meanwhile)")
        self.outcomes = counter("messages_handled", "Messages by outcome", "outcome")
        self.findings = counter("findings", "Findings produced, by severity", "severity")
        self.notifications = counter("notifications", "Notifications delivered", "recipient",
                                     "channel")
        self.notification_failures = counter(
            "notification_failures", "Notifications not delivered, by kind (transient: retried; "
            "permanent: dead-lettered)", "kind")
        self.rule_reloads = counter("rule_reloads", "Rule-set reloads by result (ok, failed)",
                                    "result")
        self.ruleset_loaded = Gauge(
            "covenant_ruleset_loaded", "1 when the rule files on disk are the rule set in "
            "force, 0 when the last reload failed", ["service"], registry=registry)
        self.handling_seconds = Histogram(
            "covenant_handling_seconds", "Time in the handler per message", ["service"],
            buckets=HANDLING_BUCKETS, registry=registry)

    def for_service(self, service: str) -> "ServiceMetrics":
        def child(metric: Any) -> Any:
            return metric.labels(service)

        return ServiceMetrics(
            received=child(self.received),
            acked=child(self.acked),
            requeued=child(self.requeued),
            republished=child(self.republished),
            handling_seconds=child(self.handling_seconds),
            outcomes=_Partial(self.outcomes, service),
            findings=_Partial(self.findings, service),
            notifications=_Partial(self.notifications, service),
            notification_failures=_Partial(self.notification_failures, service),
            rule_reloads=_Partial(self.rule_reloads, service),
            ruleset_loaded=child(self.ruleset_loaded),
        )


@dataclass(frozen=True)
class ServiceMetrics:
    """One service's metrics, `service` label applied."""

    received: Any
    acked: Any
    requeued: Any
    republished: Any
    handling_seconds: Any
    outcomes: "_Partial"
    findings: "_Partial"
    notifications: "_Partial"
    notification_failures: "_Partial"
    rule_reloads: "_Partial"
    ruleset_loaded: Any

    @classmethod
    def create(cls, service: str, registry: CollectorRegistry) -> "ServiceMetrics":
        """For a process that runs one service on its own registry."""
        return Metrics(registry).for_service(service)


class _Partial:
    """A labelled family with the service label already given."""

    def __init__(self, family: Counter, service: str):
        self._family, self._service = family, service
        self._children: dict[tuple[str, ...], Any] = {}

    def labels(self, *values: str) -> Any:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self._family.labels(self._service, *values)
        return child

