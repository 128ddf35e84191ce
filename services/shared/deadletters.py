"""Dead letters, for operators: what is in each stage's dead-letter queue and why, and sending
them back to their stage once the cause is fixed (`covenant deadletters list|redrive`).

Listing never removes anything: the messages are taken unacknowledged and handed back when the
connection closes. A re-drive publishes each message to the exchange and routing key it first
came by (from our `x-original-routing-key` header, or the broker's `x-death` record for a
message that hit its delivery limit), waits for the broker's confirm, and only then takes it off
the dead-letter queue: a message is never in neither place. It arrives as a new delivery
(delivery count 0), without the dead-letter headers. Bodies are never printed: they may hold
plan contents."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pika

from .messaging.handling import REASON_HEADER
from .topology import STAGES, Stage, topic_matches

_DEAD_HEADERS = (REASON_HEADER, "x-dead-lettered-by", "x-original-routing-key", "x-death",
                 "x-first-death-exchange", "x-first-death-queue", "x-first-death-reason",
                 "x-last-death-exchange", "x-last-death-queue", "x-last-death-reason",
                 "x-delivery-count")


@dataclass(frozen=True)
class DeadLetter:
    stage: str
    message_id: str | None
    reason: str
    exchange: str | None  # where it is sent back to; None when that cannot be known
    routing_key: str | None
    size: int
    user_id: str | None


def describe(stage: Stage, props: pika.BasicProperties, body: bytes) -> DeadLetter:
    headers = dict(props.headers or {})
    death = (headers.get("x-death") or [{}])[0]
    reason = headers.get(REASON_HEADER) or (
        f"the broker: {death.get('reason', headers.get('x-first-death-reason', 'unknown'))}"
        + (f" after {death['count']} deliveries" if death.get("count") else ""))
    key = headers.get("x-original-routing-key") or next(iter(death.get("routing-keys") or []),
                                                        None)
    key = key.decode() if isinstance(key, bytes) else key
    exchange = next((ex for ex, pattern in stage.bindings
                     if key is not None and topic_matches(pattern, key)), None)
    return DeadLetter(stage.name, props.message_id, str(reason), exchange, key, len(body),
                      props.user_id)


@contextmanager
def _taken(url: pika.URLParameters | list[pika.URLParameters], stage: Stage, limit: int
           ) -> Iterator[tuple[Any, list[tuple[Any, pika.BasicProperties, bytes]]]]:
    """Up to `limit` messages of the stage's dead-letter queue, unacknowledged; whatever is
    not acked by the caller goes back to the queue when the connection closes."""
    connection = pika.BlockingConnection(url)
    try:
        channel = connection.channel()
        taken: list[tuple[Any, pika.BasicProperties, bytes]] = []
        while len(taken) < limit:
            method, props, body = channel.basic_get(stage.dead_letter_queue, auto_ack=False)
            if method is None:
                break
            taken.append((method, props, body))
        yield channel, taken
    finally:
        if connection.is_open:
            connection.close()


def dead_letters(url: Any, stages: list[str], limit: int = 1000) -> list[DeadLetter]:
    found = []
    for name in stages:
        with _taken(url, STAGES[name], limit) as (_, taken):
            found += [describe(STAGES[name], props, body) for _, props, body in taken]
    return found


def redrive(url: Any, stage_name: str, limit: int = 1000, dry_run: bool = False
            ) -> tuple[list[DeadLetter], list[DeadLetter]]:
    """(sent back, left in place: their way back is unknown). With `dry_run` nothing moves."""
    stage = STAGES[stage_name]
    sent, left = [], []
    with _taken(url, stage, limit) as (channel, taken):
        channel.confirm_delivery()
        for method, props, body in taken:
            letter = describe(stage, props, body)
            if letter.exchange is None or letter.routing_key is None:
                left.append(letter)
                continue
            if not dry_run:
                headers = {k: v for k, v in (props.headers or {}).items()
                           if k not in _DEAD_HEADERS}
                channel.basic_publish(letter.exchange, letter.routing_key, body,
                                      pika.BasicProperties(
                                          content_type=props.content_type,
                                          delivery_mode=pika.DeliveryMode.Persistent,
                                          message_id=props.message_id,
                                          correlation_id=props.correlation_id,
                                          headers=headers or None),
                                      mandatory=True)  # confirmed (or raises) before the ack
                channel.basic_ack(method.delivery_tag)
            sent.append(letter)
    return sent, left
