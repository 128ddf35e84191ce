"""RabbitMQ transport: one consumer/publisher used by all three services.

- Manual acks, bounded prefetch.
- Publisher confirms, pipelined: outputs are published as soon as a handler returns and the
  confirms are collected asynchronously; an input is acked when, and only when, every one of
  its outputs is confirmed (and routed: outputs are mandatory, a return counts as a failure).
- A returned (unroutable) output sends its input back to the queue; the quorum queue's delivery
  limit dead-letters a message that keeps failing, also when it kills the process.
- Outputs go out on a channel of their own (the publisher channel), inputs come in and are
  acked on another (the consumer channel).
- A nacked output is the broker's trouble, not the message's (e.g. a queue electing a new
  leader after a node died): it is published again after a pause that doubles up to 30 s,
  while its input stays unacked, so no delivery is spent on it. An output nacked
  `FRESH_CHANNEL_AFTER` times in a row is published again on a new publisher channel: a
  channel that published to a quorum queue while it had no leader can go on nacking every
  publish to it for minutes after the queue has a leader again (its queue client gave up on
  the members; rabbitmq/rabbitmq-server#15333), which a new channel does not. The old channel
  stays open until the confirms of what it still has outstanding arrive (an output the queue
  took is not published twice), at most `RETIRE_SECONDS`; what is then still unconfirmed
  counts as nacked and is published again.
- A message whose handler found a dependency away (`Hold`: the database or the mail server)
  stays unacked and is handled again after a pause that doubles up to 30 s, for as long as it
  takes: no delivery is spent on it. A stop leaves it to the broker to deliver again.
- The connection is re-established with capped exponential backoff when the broker goes away,
  on the next of the cluster's nodes (messaging/broker.py); unacked inputs are redelivered by
  the broker, so nothing is half-handled. The topology is declared before the first consume
  only (and again if the queue turns out missing), so a reconnect does not wait on a
  declaration that a frozen cluster peer holds up.
- Poison containment: a message that kills the process takes every unacked delivery of the
  channel back to the queue, and each return counts towards the delivery limit. So after every
  (re)connect a consumer subscribes with a prefetch of 1 and handles the redeliveries it gets
  one at a time (each acked before the next arrives). At the first fresh message it subscribes
  again with `prefetch`. (RabbitMQ applies basic.qos to consumers created after it, so the
  prefetch of a running consumer cannot be changed: it is cancelled and replaced. At that
  moment the fresh message is its only unacked delivery, so nothing is handed back.) A poison
  message then fails alone: its neighbours lose at most the one attempt of the first crash.
- `stop()` (e.g. from SIGTERM) cancels the consumer, lets in-flight outputs be confirmed and
  their inputs acked, lingers so the queue applies those acks, then closes; whatever is left
  after `stop_timeout` is redelivered later.
"""

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pika
from pika.adapters.select_connection import SelectConnection
from pika.adapters.utils.connection_workflow import AMQPConnectorException
from pika.channel import Channel
from pika.spec import Basic, BasicProperties

from services.shared.logging import get_logger

from ..errors import Unavailable
from ..logging import describe
from .broker import node_of
from .handling import (
    DeadLetter,
    Delivery,
    Disposition,
    Hold,
    Outgoing,
    Processor,
    Publish,
    Retry,
)

log = get_logger()

STOP_POLL_SECONDS = 0.2
# Quorum queues may ignore acks that arrive just before their channel closes and return those
# messages to the queue (rabbitmq/rabbitmq-server#10327, open; reproduced here on 3.10.8: up to
# 130 of 200 final acks lost without a pause, none with 0.2 s). A graceful stop therefore keeps
# the channel open this long after its last ack. See tests/broker: graceful stop.
SETTLE_LINGER_SECONDS = 1.0
# A message that failed goes back to the queue after a pause that doubles with each delivery,
# so a short outage of a dependency does not use up its delivery limit in milliseconds. The
# pause is scheduled on the ioloop: other messages keep flowing meanwhile.
RETRY_DELAY_SECONDS = 0.5
RETRY_DELAY_MAX_SECONDS = 30.0
SILENCE_DEFAULT_SECONDS = 60  # readiness's bound on silence when no heartbeat is set
# Rounds of nacks of one output after which it goes out on a new publisher channel (see the
# module docstring). 2: a queue that is merely electing a leader (a few seconds) is rarely
# worth a new channel, and a stuck channel costs one pause (0.5 s) before it is replaced.
FRESH_CHANNEL_AFTER = 2
RETIRE_SECONDS = 30.0  # how long a replaced publisher channel may keep confirms outstanding


def retry_pause(attempt: int) -> float:
    """The pause before retrying after `attempt` earlier tries: 0.5 s, doubling, at most 30 s
    (notify's 20 deliveries then span about 7.5 minutes of a mail server's absence)."""
    return min(RETRY_DELAY_MAX_SECONDS, RETRY_DELAY_SECONDS * 2 ** attempt)


@dataclass
class Backoff:
    initial: float = 0.5
    maximum: float = 30.0
    current: float = field(init=False, default=0.0)

    def next(self) -> float:
        self.current = min(self.maximum, self.current * 2 if self.current else self.initial)
        return self.current

    def reset(self) -> None:
        self.current = 0.0


@dataclass
class _InFlight:
    """An input whose outputs are published and not yet all confirmed."""

    delivery_tag: int
    delivery_count: int
    disposition: Publish | DeadLetter
    # by (publisher channel number, publish seq)
    unconfirmed: dict[tuple[int, int], Outgoing] = field(default_factory=dict)
    failed: str | None = None  # an output came back unroutable
    nacked: list[Outgoing] = field(default_factory=list)  # to publish again
    republished: int = 0  # rounds of publishing again
    nacked_on: int | None = None  # the publisher channel that nacked this round's outputs
    nacks: tuple[int, int] = (0, 0)  # (publisher channel, rounds in a row it nacked)


def properties_of(message: Outgoing) -> BasicProperties:
    return BasicProperties(
        content_type="application/json",
        delivery_mode=pika.DeliveryMode.Persistent,
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        headers=message.headers or None,
        user_id=message.user_id,
    )


def delivery_of(method: Basic.Deliver, props: BasicProperties, body: bytes) -> Delivery:
    headers = dict(props.headers or {})
    return Delivery(
        body=body,
        routing_key=method.routing_key,
        message_id=props.message_id,
        correlation_id=props.correlation_id or props.message_id,
        headers=headers,
        delivery_count=delivery_count_of(headers),
        user_id=props.user_id,
    )


def delivery_count_of(headers: dict[str, Any]) -> int:
    """Earlier deliveries, from the quorum queue's `x-delivery-count`. A publisher can put any
    header on a message: a value that is not a count reads as 0 (the queue sets the real one
    from the second delivery on, and its delivery limit applies whatever we read)."""
    value = headers.get("x-delivery-count", 0)
    if isinstance(value, bool) or not isinstance(value, int | str | bytes):
        return 0
    try:
        return max(0, int(value))
    except ValueError:
        return 0


class PikaConsumer:
    """Consumes one queue with a Processor until `stop()`; see the module docstring."""

    def __init__(
        self,
        nodes: Sequence[pika.URLParameters],
        queue: str,
        processor: Processor,
        *,
        prefetch: int = 32,
        stop_timeout: float = 30.0,
        declare: Callable[[Any], None] | None = None,
        backoff: Backoff | None = None,
    ):
        self._nodes = list(nodes)
        self._node = 0  # the node in use; the next one at every reconnect
        self._queue = queue
        self._processor = processor
        self._prefetch = prefetch
        self._stop_timeout = stop_timeout
        self._declare = declare
        self._backoff = backoff or Backoff()
        # the topology is declared until that succeeds once, and again when the queue turns
        # out missing; not at every reconnect: on a node whose peer froze, a declaration waits
        # until the cluster declares the peer down, while consuming can resume at once
        self._declared = False
        self._publishers_opened = 0  # numbers publisher channels, for FRESH_CHANNEL_AFTER
        self._handling = False
        self._stop_requested = threading.Event()
        self._reset_connection_state()

    def _reset_connection_state(self) -> None:
        self._connection: SelectConnection | None = None
        self._channel: Channel | None = None  # the consumer channel: consume, ack, nack
        self._publisher: Channel | None = None  # the publisher channel, in confirm mode
        self._waiting: list[tuple[_InFlight, list[Outgoing]]] = []  # for a publisher channel
        self._consumer_tag: str | None = None
        self._next_seq = 1  # of the publisher channel
        self._inflight: dict[int, _InFlight] = {}  # by input delivery tag
        self._owner_of_seq: dict[tuple[int, int], int] = {}  # (channel, seq) -> input tag
        self._retiring: dict[int, Channel] = {}  # replaced publisher channels, by number
        self._owner_of_message: dict[str, int] = {}  # outgoing message id -> input tag
        self._stopping = False
        self._closing_scheduled = False
        self._one_at_a_time = True  # see "Poison containment" above
        self._lost: object = "connection lost"  # why the last connection ended, for the log
        self._heard_at = time.monotonic()  # when the broker was last heard from (any frame)
        self._bytes_heard = 0

    # --- lifecycle ------------------------------------------------------------------------

    def run(self) -> None:
        """Block until stopped, reconnecting whenever the connection is lost."""
        while not self._stop_requested.is_set():
            if self._declare and not self._declared:
                try:
                    self._declare_topology()
                    self._declared = True
                except (pika.exceptions.AMQPError, AMQPConnectorException, OSError) as e:
                    # OSError: e.g. TLS; AMQPConnectorException: a node that never answers
                    self._node += 1
                    self._wait_before_reconnect(e)
                    continue
            self._connection = SelectConnection(
                self._parameters,
                on_open_callback=self._on_connection_open,
                on_open_error_callback=self._on_connection_open_error,
                on_close_callback=self._on_connection_closed,
            )
            self._connection.ioloop.call_later(STOP_POLL_SECONDS, self._watch_stop)
            self._connection.ioloop.start()
            if not self._stop_requested.is_set():
                self._node += 1
                self._wait_before_reconnect(self._lost)
            self._reset_connection_state()
        log.info("consumer stopped", queue=self._queue)

    def stop(self) -> None:
        """Ask for a graceful stop; safe from a signal handler and from any thread."""
        self._stop_requested.set()

    @property
    def consuming(self) -> bool:
        """Connected and consuming (for readiness); read from any thread."""
        channel = self._channel
        return (channel is not None and channel.is_open and self._consumer_tag is not None
                and not self._stopping)

    @property
    def alive(self) -> bool:
        """For readiness: consuming, and the broker heard from (a delivery, a confirm, a
        heartbeat: RabbitMQ sends one every half heartbeat interval) within one heartbeat
        interval, or a message in hand. A node that froze is silent: this turns false about
        one interval after the freeze, before the heartbeat check closes the connection.
        Read from any thread."""
        if not self.consuming:
            return False
        if self._handling:  # the ioloop reads nothing while a handler runs
            return True
        heartbeat = self._parameters.heartbeat
        silence = heartbeat if isinstance(heartbeat, int) and heartbeat > 0 \
            else SILENCE_DEFAULT_SECONDS
        return time.monotonic() - self._heard_at < silence

    @property
    def _parameters(self) -> pika.URLParameters:
        return self._nodes[self._node % len(self._nodes)]

    def _declare_topology(self) -> None:
        assert self._declare is not None
        connection = pika.BlockingConnection(self._parameters)
        try:
            self._declare(connection.channel())
        finally:
            connection.close()

    def _wait_before_reconnect(self, reason: object) -> None:
        delay = self._backoff.next()
        # the broker's reply text (e.g. PRECONDITION_FAILED on a changed queue argument) is what
        # an operator needs; credentials are masked in case a URL appears in it
        log.warning("broker unavailable, reconnecting", queue=self._queue,
                    reason=describe(reason) if isinstance(reason, BaseException)
                    else str(reason) or "connection lost", retry_in_s=delay)
        self._stop_requested.wait(delay)

    def _watch_stop(self) -> None:
        assert self._connection is not None
        heard = self._connection.bytes_received
        if heard != self._bytes_heard:  # any frame: the broker is alive
            self._bytes_heard, self._heard_at = heard, time.monotonic()
        if self._stop_requested.is_set() and not self._stopping:
            self._begin_stop()
        self._connection.ioloop.call_later(STOP_POLL_SECONDS, self._watch_stop)

    def _begin_stop(self) -> None:
        assert self._connection is not None
        self._stopping = True
        log.info("stopping: cancelling consumer", queue=self._queue, in_flight=len(self._inflight))
        if self._channel and self._channel.is_open and self._consumer_tag:
            self._channel.basic_cancel(self._consumer_tag,
                                       callback=lambda _: self._close_if_drained())
        elif not self._inflight:
            self._close()
        # else between two subscriptions (_widen): the last ack closes (_close_if_drained)
        # whatever is still unconfirmed then is redelivered later: at least once, never lost
        self._connection.ioloop.call_later(self._stop_timeout, self._close)

    def _close_if_drained(self) -> None:
        if self._stopping and not self._inflight and not self._closing_scheduled:
            self._closing_scheduled = True
            assert self._connection is not None
            self._connection.ioloop.call_later(SETTLE_LINGER_SECONDS, self._close)

    def _close(self) -> None:
        if self._connection and not (self._connection.is_closing or self._connection.is_closed):
            self._connection.close()

    # --- connection and channel callbacks ---------------------------------------------------

    def _on_connection_open(self, connection: SelectConnection) -> None:
        self._open_publisher()

    def _open_publisher(self) -> None:
        assert self._connection is not None
        self._connection.channel(on_open_callback=self._on_publisher_open)

    def _on_publisher_open(self, channel: Channel) -> None:
        """The publisher channel is ready (at connect, or replacing one that kept nacking);
        at connect the consumer channel opens next."""
        assert self._connection is not None
        first = self._channel is None
        self._publishers_opened += 1
        number = self._publishers_opened
        self._publisher, self._next_seq = channel, 1
        channel.add_on_close_callback(lambda _, reason: self._on_publisher_closed(
            channel, number, reason))
        channel.add_on_return_callback(self._on_return)
        channel.confirm_delivery(lambda frame: self._on_confirm(channel, number, frame))
        waiting, self._waiting = self._waiting, []
        for inflight, messages in waiting:
            self._publish(inflight, messages)
        if first:
            self._connection.channel(on_open_callback=self._on_channel_open)

    def _on_publisher_closed(self, channel: Channel, number: int, reason: Exception) -> None:
        if channel is self._publisher:
            self._on_channel_closed(channel, reason)
        else:  # a replaced one: no confirm can come any more
            self._give_up(number)

    def _replace_publisher(self) -> None:
        """Opens a new publisher channel for what is published from now on; the old one is
        retired: closed once its outstanding confirms have arrived, or after RETIRE_SECONDS
        (what is then unconfirmed counts as nacked and is published again)."""
        assert self._connection is not None
        old, number = self._publisher, self._publishers_opened
        self._publisher = None
        log.warning("publisher channel keeps being nacked, opening a new one",
                    queue=self._queue)
        if old is not None:
            self._retiring[number] = old
            self._connection.ioloop.call_later(RETIRE_SECONDS, lambda: self._give_up(number))
            self._retire_if_settled(number)
        self._open_publisher()

    def _retire_if_settled(self, number: int) -> None:
        if number in self._retiring and not any(k[0] == number for k in self._owner_of_seq):
            channel = self._retiring.pop(number)
            if channel.is_open:
                channel.close()

    def _give_up(self, number: int) -> None:
        """A retired publisher channel's outstanding outputs count as nacked."""
        if number not in self._retiring:
            return
        unsettled: dict[int, _InFlight] = {}
        for key in [k for k in self._owner_of_seq if k[0] == number]:
            tag = self._owner_of_seq.pop(key)
            inflight = self._inflight.get(tag)
            message = inflight.unconfirmed.pop(key, None) if inflight else None
            if inflight and message is not None:
                inflight.nacked.append(message)
                unsettled[tag] = inflight
        self._retire_if_settled(number)
        for inflight in unsettled.values():
            self._settle(inflight)
        self._close_if_drained()

    def _on_connection_open_error(self, connection: SelectConnection, error: Exception) -> None:
        self._lost = error
        connection.ioloop.stop()

    def _on_connection_closed(self, connection: SelectConnection, reason: Exception) -> None:
        self._lost = reason
        connection.ioloop.stop()

    def _on_channel_open(self, channel: Channel) -> None:
        self._channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_cancel_callback(self._on_cancelled)
        channel.basic_qos(prefetch_count=1, callback=self._on_qos)

    def _on_qos(self, _: Any) -> None:
        assert self._channel is not None
        self._consumer_tag = self._channel.basic_consume(self._queue, self._on_message)
        self._backoff.reset()
        log.info("consuming", queue=self._queue, prefetch=1 if self._one_at_a_time else
                 self._prefetch, node=node_of(self._parameters))

    def _widen(self, channel: Channel) -> None:
        """Replaces the prefetch-1 consumer by one with `prefetch` (see Poison containment)."""
        self._one_at_a_time = False
        tag, self._consumer_tag = self._consumer_tag, None

        def subscribe(_: Any) -> None:
            if not self._stopping and channel.is_open:
                channel.basic_qos(prefetch_count=self._prefetch, callback=self._on_qos)

        if tag is not None:
            channel.basic_cancel(tag, callback=subscribe)

    def _on_cancelled(self, _: Any) -> None:
        """The broker cancelled the consumer: its queue was deleted (or lost its members).
        Start over on a new connection; a queue that is gone answers its consume with 404,
        and the topology is declared again (_on_channel_closed)."""
        log.warning("consumer cancelled by the broker", queue=self._queue)
        self._close()

    def _on_channel_closed(self, channel: Channel, reason: Exception) -> None:
        # e.g. the queue was deleted or an argument mismatch: start over on a new connection
        if isinstance(reason, pika.exceptions.ChannelClosedByBroker) and reason.reply_code == 404:
            self._declared = False  # the queue is gone: declare it again on reconnect
        if not self._stopping:
            log.warning("channel closed", queue=self._queue, reason=describe(reason))
        self._close()

    # --- messages -------------------------------------------------------------------------

    def _on_message(self, channel: Channel, method: Basic.Deliver, props: BasicProperties,
                    body: bytes) -> None:
        if self._one_at_a_time and not method.redelivered:
            self._widen(channel)
        delivery = delivery_of(method, props, body)
        self._carry_out(method.delivery_tag, delivery, self._process(delivery))

    def _process(self, delivery: Delivery) -> Disposition:
        """The processor's decision; meanwhile the consumer counts as alive (`alive`)."""
        self._handling = True
        try:
            return self._processor.process(delivery)
        finally:
            self._handling, self._heard_at = False, time.monotonic()

    def _carry_out(self, tag: int, delivery: Delivery, disposition: Disposition,
                   held: int = 0) -> None:
        assert self._channel is not None
        if isinstance(disposition, Hold):
            self._hold(tag, delivery, held)
            return
        if isinstance(disposition, Retry):
            self._requeue_later(tag, delivery.delivery_count)
            return
        inflight = _InFlight(tag, delivery.delivery_count, disposition)
        outgoing = self._processor.outgoing(disposition)
        if not outgoing:
            self._finish(inflight)
            return
        self._inflight[tag] = inflight
        self._publish(inflight, outgoing)

    def _hold(self, tag: int, delivery: Delivery, held: int) -> None:
        """Handles the delivery again after a pause; it stays unacked meanwhile."""

        def again(_: Channel) -> None:
            if not self._stopping:  # else the broker delivers it again after the stop
                self._carry_out(tag, delivery, self._process(delivery), held + 1)

        self._later(held, again)

    def _publish(self, inflight: _InFlight, messages: list[Outgoing]) -> None:
        publisher = self._publisher
        if publisher is None or not publisher.is_open:  # a new one is opening
            self._waiting.append((inflight, messages))
            return
        for message in messages:
            key = (self._publishers_opened, self._next_seq)
            self._next_seq += 1
            inflight.unconfirmed[key] = message
            self._owner_of_seq[key] = inflight.delivery_tag
            self._owner_of_message[message.message_id] = inflight.delivery_tag
            publisher.basic_publish(
                message.exchange, message.routing_key, message.body,
                properties_of(message), mandatory=message.mandatory,
            )

    def _republish_later(self, inflight: _InFlight) -> None:
        """Publishes the nacked outputs again after a pause; the input stays unacked."""
        messages, inflight.nacked = inflight.nacked, []
        delay = self._later(inflight.republished, lambda _: self._republish(inflight, messages))
        inflight.republished += 1
        log.warning("output nacked by the broker, publishing it again",  # pragma: no mutate
                    queue=self._queue, outputs=len(messages),  # pragma: no mutate
                    attempt=inflight.republished, retry_in_s=delay)  # pragma: no mutate

    def _republish(self, inflight: _InFlight, messages: list[Outgoing]) -> None:
        if self._inflight.get(inflight.delivery_tag) is inflight:
            self._processor.metrics.republished.inc(len(messages))
            self._publish(inflight, messages)

    def _on_return(self, channel: Channel, method: Basic.Return, props: BasicProperties,
                   body: bytes) -> None:
        tag = self._owner_of_message.get(props.message_id or "")
        if tag in self._inflight:
            self._inflight[tag].failed = f"unroutable: {method.exchange} {method.routing_key}"

    def _on_confirm(self, channel: Channel, number: int, frame: Any) -> None:
        """A confirm of the publisher channel `number` (the current one or a retiring one)."""
        confirm = frame.method
        acked = isinstance(confirm, Basic.Ack)
        keys = (
            [k for k in self._owner_of_seq if k[0] == number and k[1] <= confirm.delivery_tag]
            if confirm.multiple else [(number, confirm.delivery_tag)]
        )
        stuck = False
        for key in keys:
            tag = self._owner_of_seq.pop(key, None)
            inflight = self._inflight.get(tag) if tag is not None else None
            if inflight is None:
                continue
            message = inflight.unconfirmed.pop(key, None)
            if not acked and message is not None:
                inflight.nacked.append(message)
                inflight.nacked_on = number
            stuck = self._settle(inflight) or stuck
        if stuck and channel is self._publisher:
            self._replace_publisher()
        self._retire_if_settled(number)
        self._close_if_drained()

    def _settle(self, inflight: _InFlight) -> bool:
        """Once every output of an input is confirmed or nacked: publishes the nacked ones
        again later, or finishes the input. True when the publisher channel has nacked this
        input's outputs `FRESH_CHANNEL_AFTER` rounds in a row."""
        if inflight.unconfirmed:
            return False
        if not inflight.nacked or inflight.failed:
            del self._inflight[inflight.delivery_tag]
            self._finish(inflight)
            return False
        self._republish_later(inflight)
        channel, inflight.nacked_on = inflight.nacked_on, None
        if channel is None:  # unconfirmed on a channel given up on
            return False
        before, rounds = inflight.nacks
        inflight.nacks = (channel, rounds + 1 if before == channel else 1)
        return inflight.nacks[1] >= FRESH_CHANNEL_AFTER

    def _finish(self, inflight: _InFlight) -> None:
        assert self._channel is not None
        for message in self._processor.outgoing(inflight.disposition):
            self._owner_of_message.pop(message.message_id, None)
        if inflight.failed:
            log.warning("output not confirmed, requeueing input",  # pragma: no mutate
                        queue=self._queue, reason=inflight.failed)  # pragma: no mutate
            self._requeue_later(inflight.delivery_tag, inflight.delivery_count)
            return
        try:
            self._processor.confirmed(inflight.disposition)
        except Unavailable as e:  # e.g. the ledger's database: finish later, spend nothing
            delay = self._later(inflight.republished, lambda _: self._finish(inflight))
            inflight.republished += 1
            log.warning("post-publish step waits for a dependency",  # pragma: no mutate
                        queue=self._queue, reason=e.reason, retry_in_s=delay)  # pragma: no mutate
            return
        except Exception as e:
            log.warning("post-publish step failed, requeueing input",  # pragma: no mutate
                        queue=self._queue, reason=type(e).__name__)  # pragma: no mutate
            self._requeue_later(inflight.delivery_tag, inflight.delivery_count)
            return
        self._channel.basic_ack(inflight.delivery_tag)

    def _requeue_later(self, tag: int, delivery_count: int) -> None:
        def requeue(channel: Channel) -> None:
            self._processor.metrics.requeued.inc()
            channel.basic_nack(tag, requeue=True)

        self._later(delivery_count, requeue)

    def _later(self, attempt: int, action: Callable[[Channel], None]) -> float:
        """Runs `action` on this channel after a pause that doubles with `attempt` (0.5 s up
        to 30 s); returns the pause. Skipped if the channel is gone by then: after a reconnect
        the broker has returned the input to the queue already, and its state is reset."""
        assert self._connection is not None and self._channel is not None
        channel: Channel = self._channel
        delay = retry_pause(attempt)

        def run() -> None:
            if channel.is_open and channel is self._channel:
                action(channel)

        self._connection.ioloop.call_later(delay, run)
        return delay


def publish_confirmed(parameters: pika.URLParameters | Sequence[pika.URLParameters],
                      messages: list[Outgoing]) -> None:
    """Publish with a synchronous confirm each, as an upstream system or the CLI would; with
    several nodes' parameters, on the first that answers.

    Raises pika's UnroutableError or NackError when the broker did not take a message."""
    connection = pika.BlockingConnection(parameters)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        for message in messages:
            channel.basic_publish(message.exchange, message.routing_key, message.body,
                                  properties_of(message), mandatory=message.mandatory)
    finally:
        connection.close()
