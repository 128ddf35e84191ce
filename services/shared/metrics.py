"""Every metric of the services, defined in one place.

Names carry the `covenant_` prefix and the service as a constant label, so the three services
share one dashboard. Label sets are small and fixed: `outcome` is one of the handler outcome
labels or `dead_lettered`/`retried`; `severity` is one of the five finding severities.
"""

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

HANDLING_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


@dataclass
class ServiceMetrics:
    received: Counter
    acked: Counter
    requeued: Counter
    outcomes: "_Labelled"
    handling_seconds: Histogram
    findings: "_Labelled"
    notifications: "_Labelled"

    @classmethod
    def create(cls, service: str, registry: CollectorRegistry) -> "ServiceMetrics":
        const = {"service": service}

        return cls(
            received=Counter("covenant_messages_received", "Messages taken from the queue",
                             ["service"], registry=registry).labels(**const),
            acked=Counter("covenant_messages_acked", "Messages acked after their outputs were "
                          "confirmed", ["service"], registry=registry).labels(**const),
            requeued=Counter("covenant_messages_requeued", "Messages returned to the queue "
                             "(handler failure or unconfirmed output)", ["service"],
                             registry=registry).labels(**const),
            outcomes=_Labelled(Counter(
                "covenant_messages_handled", "Messages by outcome (accepted, rejected, "
                "duplicate, assessed, notified, dead_lettered, retried)",
                ["service", "outcome"], registry=registry), const),
            handling_seconds=Histogram(
                "covenant_handling_seconds", "Time spent in the handler per message",
                ["service"], buckets=HANDLING_BUCKETS, registry=registry).labels(**const),
            findings=_Labelled(Counter(
                "covenant_findings", "Findings produced, by severity", ["service", "severity"],
                registry=registry), const),
            notifications=_Labelled(Counter(
                "covenant_notifications", "Notifications delivered, by recipient role and "
                "channel", ["service", "recipient", "channel"], registry=registry), const),
        )


class _Labelled:
    """A labelled metric with the service label already applied."""

    def __init__(self, metric: Counter, const: dict[str, str]):
        self._metric, self._const = metric, const

    def labels(self, *values: str) -> Counter:
        return self._metric.labels(*self._const.values(), *values)


def serve_metrics(port: int, registry: CollectorRegistry) -> None:
    """Expose the registry on http://0.0.0.0:<port>/metrics in a daemon thread."""
    start_http_server(port, registry=registry)
