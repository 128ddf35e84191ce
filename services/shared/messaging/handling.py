"""The ack policy, written once for every transport.

A handler takes one `Delivery` and returns an `Outcome`: the messages to publish, a label for
metrics and logs, and optionally a step to run once the broker has confirmed those messages.
The `Processor` turns what the handler did into a `Disposition`:

- `Publish`: publish the outcome's messages, wait for confirms, run `after_publish`, then ack;
- `DeadLetter`: the message can never succeed (`PermanentFailure`, or an unexpected failure on
  its last allowed delivery): copy it to the dead-letter exchange with the reason, then ack;
- `Retry`: an unexpected failure with deliveries left: return it to the queue.
- `Hold`: a dependency is away (`Unavailable`: the database, the mail server): keep the
  message and handle it again after a pause, without spending one of its deliveries, for as
  long as the dependency stays away. An outage delays work; it never dead-letters it.

Transports (RabbitMQ, in-process) only carry out dispositions; they make no decisions.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pydantic_core
from pydantic import TypeAdapter, ValidationError

from services.shared import collector
from services.shared.logging import get_logger

from ..contracts.messages import Event
from ..errors import Unavailable
from ..metrics import ServiceMetrics

REASON_HEADER = "x-dead-letter-reason"
_log = get_logger()


class PermanentFailure(Exception):
    """Raised by a handler for a message that no retry can fix. Say why in plain words,
    without plan contents: the reason travels in a header and into the logs."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Delivery:
    body: bytes
    routing_key: str
    message_id: str | None = None
    correlation_id: str | None = None
    headers: dict[str, Any] = field(default_factory=dict)
    delivery_count: int = 0  # earlier deliveries of this message (quorum queues count them)
    user_id: str | None = None


@dataclass(frozen=True)
class Outgoing:
    exchange: str
    routing_key: str
    body: bytes
    message_id: str
    correlation_id: str | None = None
    headers: dict[str, Any] = field(default_factory=dict)
    mandatory: bool = True  # unroutable means a broken topology: fail, do not drop
    user_id: str | None = None  # the publisher; the broker checks it is the connection's user

    @classmethod
    def of(cls, event: Event, *, mandatory: bool = True) -> "Outgoing":
        return cls(
            exchange=event.exchange,
            routing_key=event.routing_key(),
            body=event.model_dump_json(by_alias=True).encode(),
            message_id=event.message_id,
            correlation_id=event.correlation_id,
            mandatory=mandatory,
        )

    @classmethod
    def dead_letter(cls, delivery: Delivery, stage: str, reason: str, exchange: str) -> "Outgoing":
        headers = {**delivery.headers, REASON_HEADER: reason, "x-original-routing-key":
                   delivery.routing_key, "x-dead-lettered-by": stage}
        return cls(exchange, stage, delivery.body, delivery.message_id or "",
                   delivery.correlation_id, headers)


@dataclass
class Outcome:
    label: str
    messages: list[Outgoing] = field(default_factory=list)
    after_publish: Callable[[], None] | None = None
    log: dict[str, Any] = field(default_factory=dict)  # ids only, never contents


@dataclass(frozen=True)
class Publish:
    outcome: Outcome


@dataclass(frozen=True)
class DeadLetter:
    message: Outgoing
    reason: str


@dataclass(frozen=True)
class Retry:
    reason: str


@dataclass(frozen=True)
class Hold:
    reason: str


Disposition = Publish | DeadLetter | Retry | Hold
Handler = Callable[[Delivery], Outcome]
T = TypeVar("T")


def decode(contract: TypeAdapter[T], delivery: Delivery, what: str) -> T:
    """An internal event that does not match its contract can never be handled: raise
    PermanentFailure (counting the errors, never quoting the body).

    The body is read into Python objects first (`pydantic_core.from_json`, which shares equal
    short texts) and validated from them. Validated straight from the JSON, a plan's section
    kept 2.4 KB a financing (a million: 2.4 GB beside the body), four times as much, and
    decoding took twice as long."""
    try:
        document = pydantic_core.from_json(delivery.body, allow_inf_nan=False)
    except ValueError:
        raise PermanentFailure(f"not a valid {what} event (not JSON)") from None
    try:
        return contract.validate_python(document)
    except ValidationError as e:
        raise PermanentFailure(f"not a valid {what} event ({e.error_count()} errors)") from None


@dataclass
class Processor:
    """Runs a handler on a delivery and decides its disposition; counts and logs each one."""

    stage: str
    handler: Handler
    metrics: ServiceMetrics
    delivery_limit: int
    dead_letter_exchange: str

    def process(self, delivery: Delivery) -> Disposition:
        self.metrics.received.inc()
        started = time.perf_counter()
        with collector.paused():  # a large plan's millions of objects (shared/collector.py)
            disposition = self._decide(delivery)
        self.metrics.handling_seconds.observe(time.perf_counter() - started)
        self._report(delivery, disposition)
        return disposition

    def _decide(self, delivery: Delivery) -> Disposition:
        try:
            return Publish(self.handler(delivery))
        except PermanentFailure as e:
            return self._dead_letter(delivery, e.reason)
        except Unavailable as e:
            return Hold(e.reason)
        except Exception as e:  # a handler bug or a failing dependency: retry, bounded
            reason = f"{type(e).__name__} in the {self.stage} handler"
            if delivery.delivery_count + 1 >= self.delivery_limit:
                return self._dead_letter(
                    delivery, f"{reason}, on delivery {delivery.delivery_count + 1} of "
                    f"{self.delivery_limit}")
            return Retry(reason)

    def _dead_letter(self, delivery: Delivery, reason: str) -> DeadLetter:
        return DeadLetter(
            Outgoing.dead_letter(delivery, self.stage, reason, self.dead_letter_exchange), reason
        )

    def _report(self, delivery: Delivery, disposition: Disposition) -> None:
        """One canonical log line per message, with its ids and outcome."""
        ids = {"stage": self.stage, "message_id": delivery.message_id,
               "correlation_id": delivery.correlation_id,
               "delivery_count": delivery.delivery_count}
        match disposition:
            case Publish(outcome):
                self.metrics.outcomes.labels(outcome.label).inc()
                _log.info("handled", outcome=outcome.label, **ids, **outcome.log)
            case DeadLetter(_, reason):
                self.metrics.outcomes.labels("dead_lettered").inc()
                _log.warning("dead-lettered", outcome="dead_lettered", reason=reason, **ids)
            case Retry(reason):
                self.metrics.outcomes.labels("retried").inc()
                _log.warning("will retry", outcome="retried", reason=reason, **ids)
            case Hold(reason):
                self.metrics.outcomes.labels("held").inc()
                _log.warning("dependency unavailable, holding", outcome="held", reason=reason,
                             **ids)

    def confirmed(self, disposition: Publish | DeadLetter) -> None:
        """All outgoing messages are confirmed by the broker: finish before the ack."""
        if isinstance(disposition, Publish) and disposition.outcome.after_publish:
            disposition.outcome.after_publish()
        self.metrics.acked.inc()

    def outgoing(self, disposition: Publish | DeadLetter) -> list[Outgoing]:
        return disposition.outcome.messages if isinstance(disposition, Publish) else [
            disposition.message]
