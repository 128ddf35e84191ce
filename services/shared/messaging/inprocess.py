"""In-process transport for the one-process mode: the same topology and the same Processors as
on RabbitMQ, with queues in memory. Publishing is immediately "confirmed"; an unroutable
mandatory message raises, as a returned message fails its input on the broker."""

import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..errors import Unavailable
from ..topology import Topology
from .handling import DeadLetter, Delivery, Hold, Outgoing, Processor, Publish, Retry


class Unroutable(Exception):
    pass


@dataclass
class _Queued:
    message: Outgoing
    delivery_count: int = 0


@dataclass
class InProcessBroker:
    topology: Topology
    queues: dict[str, deque[_Queued]] = field(default_factory=dict)
    published: list[Outgoing] = field(default_factory=list)  # everything, routed or not
    hold_pause: float = 0.5  # first pause before a held message is handled again; doubles
    hold_pause_max: float = 30.0

    def publish(self, message: Outgoing) -> None:
        self.published.append(message)
        targets = self.topology.routes(message.exchange, message.routing_key)
        if not targets and message.mandatory:
            raise Unroutable(f"{message.exchange} {message.routing_key}")
        for queue in targets:
            self.queues.setdefault(queue, deque()).append(_Queued(message))

    def drain(self, consumers: dict[str, Processor]) -> None:
        """Deliver until every consumed queue is empty."""
        while True:
            ready = [(q, p) for q, p in consumers.items() if self.queues.get(q)]
            if not ready:
                return
            for queue, processor in ready:
                self._deliver_one(queue, processor)

    def messages(self, queue: str) -> list[Outgoing]:
        return [q.message for q in self.queues.get(queue, ())]

    def _deliver_one(self, queue: str, processor: Processor) -> None:
        item = self.queues[queue].popleft()
        m = item.message
        delivery = Delivery(m.body, m.routing_key, m.message_id, m.correlation_id, dict(m.headers),
                            item.delivery_count)
        disposition = processor.process(delivery)
        pauses = self._pauses()
        while isinstance(disposition, Hold):  # a dependency is away: wait for it, in order
            time.sleep(next(pauses))
            disposition = processor.process(delivery)
        match disposition:
            case Retry():
                self.queues[queue].append(_Queued(m, item.delivery_count + 1))
            case Publish() | DeadLetter():
                for out in processor.outgoing(disposition):
                    self.publish(out)
                pauses = self._pauses()
                while True:  # the post-publish step (a ledger) may wait on its database too
                    try:
                        processor.confirmed(disposition)
                        break
                    except Unavailable:
                        time.sleep(next(pauses))

    def _pauses(self) -> Iterator[float]:
        pause = self.hold_pause
        while True:
            yield pause
            pause = min(self.hold_pause_max, pause * 2)
