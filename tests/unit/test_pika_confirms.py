"""The RabbitMQ consumer driven step by step through its callbacks, with stand-in channels:
its bookkeeping of publisher confirms in the orders of events the broker suites cannot bring
about on purpose (a confirm that comes after its channel was given up on; a replaced
channel's last confirm), what it publishes, and its readiness while a handler runs.
tests/broker/test_adapter.py runs the same consumer against the real broker."""

from types import SimpleNamespace

import pika
from pika.spec import Basic
from prometheus_client import CollectorRegistry

from services.shared.contracts.messages import DEAD_LETTER_EXCHANGE, EVENTS_EXCHANGE
from services.shared.errors import Unavailable
from services.shared.messaging.handling import Delivery, Outcome, Outgoing, Processor
from services.shared.messaging.pika_adapter import RETIRE_SECONDS, PikaConsumer, retry_pause
from services.shared.metrics import ServiceMetrics


class Channel:
    """A channel as the consumer uses it: what it publishes and acks, and its confirms."""

    def __init__(self) -> None:
        self.is_open = True
        self.published: list[tuple[str, pika.BasicProperties]] = []
        self.acked: list[int] = []
        self.requeued: list[int] = []
        self._on_confirm = None

    def add_on_close_callback(self, callback) -> None:
        pass

    def add_on_return_callback(self, callback) -> None:
        pass

    def confirm_delivery(self, callback) -> None:
        self._on_confirm = callback

    def basic_publish(self, exchange, routing_key, body, properties, mandatory=False) -> None:
        self.published.append((properties.message_id, properties))

    def basic_ack(self, delivery_tag) -> None:
        self.acked.append(delivery_tag)

    def basic_nack(self, delivery_tag, requeue) -> None:
        assert requeue
        self.requeued.append(delivery_tag)

    def close(self) -> None:
        self.is_open = False

    def confirm(self, seq: int, *, multiple: bool = False) -> None:
        """The broker's basic.ack of publish `seq` on this channel."""
        self._on_confirm(SimpleNamespace(method=Basic.Ack(delivery_tag=seq, multiple=multiple)))


class Connection:
    """Channels asked for and timers set, run when the test says."""

    def __init__(self) -> None:
        self.opening: list = []  # on_open callbacks of channels asked for
        self.timers: list[tuple[float, object]] = []
        self.ioloop = SimpleNamespace(call_later=lambda delay, f: self.timers.append((delay, f)))

    def channel(self, on_open_callback) -> None:
        self.opening.append(on_open_callback)


def relay(delivery: Delivery) -> Outcome:
    return Outcome("accepted", [Outgoing(
        EVENTS_EXCHANGE, "submission.accepted.textile", delivery.body,
        f"out-{delivery.message_id}", correlation_id=f"c-{delivery.message_id}",
        headers={"x-stage": "ingest"}, user_id="ingest")])


def connected(handler=relay) -> tuple[PikaConsumer, Connection, Channel, Channel]:
    """A consumer as after connecting: publisher channel 1 and the consumer channel open."""
    processor = Processor("ingest", handler, ServiceMetrics.create("ingest", CollectorRegistry()),
                          3, DEAD_LETTER_EXCHANGE)
    consumer = PikaConsumer([pika.URLParameters("amqp://guest:guest@127.0.0.1/")], "q",
                            processor)
    connection, publisher, channel = Connection(), Channel(), Channel()
    consumer._connection = connection
    consumer._on_publisher_open(publisher)
    consumer._channel = channel
    consumer._consumer_tag = "consuming"
    return consumer, connection, publisher, channel


def deliver(consumer: PikaConsumer, tag: int, delivery_count: int = 0) -> None:
    delivery = Delivery(b"{}", "plan.textile", message_id=f"in-{tag}",
                        delivery_count=delivery_count)
    consumer._carry_out(tag, delivery, consumer._process(delivery))


def left_behind(consumer: PikaConsumer) -> list:
    """What the consumer still keeps of inputs and outputs."""
    return [*consumer._inflight, *consumer._owner_of_seq, *consumer._owner_of_message,
            *consumer._retiring, *consumer._waiting]


def relay_then(step):
    """`relay` with `step` as the post-publish step (a ledger's record)."""
    def handler(delivery: Delivery) -> Outcome:
        return Outcome("accepted", relay(delivery).messages, after_publish=step)
    return handler


def assert_given_back(consumer: PikaConsumer, connection: Connection, channel: Channel,
                      delivery_count: int) -> None:
    """Input 7 goes back to its queue, unacked, after the pause for its delivery count; the
    consumer keeps nothing of it."""
    [(delay, requeue)] = connection.timers
    assert delay == retry_pause(delivery_count)
    requeue()
    assert (channel.requeued, channel.acked) == ([7], [])
    assert left_behind(consumer) == []


def replace_publisher(consumer: PikaConsumer, connection: Connection) -> Channel:
    consumer._replace_publisher()
    fresh = Channel()
    connection.opening.pop()(fresh)
    return fresh


def test_an_output_is_published_as_persistent_json_with_its_ids_and_publisher():
    consumer, _, publisher, _ = connected()
    deliver(consumer, 7)
    [(message_id, properties)] = publisher.published
    assert (message_id, properties.correlation_id, properties.headers, properties.user_id) == (
        "out-in-7", "c-in-7", {"x-stage": "ingest"}, "ingest")
    assert (properties.content_type, properties.delivery_mode) == ("application/json", 2)


def test_a_replaced_publisher_channel_closes_at_its_last_confirm():
    """A channel replaced while an output on it is unconfirmed stays open for that confirm
    and is closed when it comes, not only when RETIRE_SECONDS run out."""
    consumer, connection, old, channel = connected()
    deliver(consumer, 7)
    replace_publisher(consumer, connection)
    assert old.is_open and [delay for delay, _ in connection.timers] == [RETIRE_SECONDS]
    old.confirm(1)
    assert channel.acked == [7]
    assert not old.is_open
    assert left_behind(consumer) == []


def test_a_confirm_after_its_channel_was_given_up_on_is_passed_by():
    """Once RETIRE_SECONDS have run out, what a replaced channel left unconfirmed counts as
    nacked and goes out again on the new channel. A confirm the old channel sends after that
    (it was on its way) changes nothing: the input is acked once, after the new channel
    confirms its output."""
    consumer, connection, old, channel = connected()
    deliver(consumer, 7)
    fresh = replace_publisher(consumer, connection)
    [(_, give_up)] = connection.timers
    give_up()
    assert not old.is_open
    old.confirm(1)  # too late
    assert channel.acked == []
    [_, (_, republish)] = connection.timers
    republish()
    assert [message_id for message_id, _ in fresh.published] == ["out-in-7"]
    fresh.confirm(1)
    assert channel.acked == [7]
    assert left_behind(consumer) == []


def test_a_consumer_counts_as_alive_while_its_handler_runs_and_only_then():
    """Readiness (`alive`) asks that the broker was heard from lately; the connection reads
    nothing while a handler runs, so meanwhile the consumer counts as alive however long it
    takes, and the handler's end counts as hearing from the broker."""
    seen = []

    def slow(delivery: Delivery) -> Outcome:
        seen.append(consumer.alive)
        return relay(delivery)

    consumer, _, _, _ = connected(slow)
    consumer._heard_at -= 3_600  # last heard from an hour ago
    assert not consumer.alive
    deliver(consumer, 7)
    assert seen == [True]
    assert consumer.alive
    consumer._heard_at -= 3_600
    assert not consumer.alive


def test_an_unroutable_output_gives_its_input_back_after_the_pause_its_deliveries_call_for():
    """An output the broker returns (no queue bound) fails its input: once the output's
    confirm is in, the input goes back to its queue after the pause for its third delivery,
    unacked, and the consumer keeps nothing of it."""
    consumer, connection, publisher, channel = connected()
    deliver(consumer, 7, delivery_count=2)
    [(_, properties)] = publisher.published
    consumer._on_return(publisher, Basic.Return(exchange=EVENTS_EXCHANGE,
                                                routing_key="submission.accepted.textile"),
                        properties, b"{}")
    publisher.confirm(1)
    assert_given_back(consumer, connection, channel, 2)


def test_a_post_publish_step_whose_dependency_is_away_is_done_again_before_the_ack():
    """The step after publishing (a ledger's record) waits for its database, away three times:
    the input stays unacked, spending no delivery, the step is done again after pauses that
    double, and the input is acked once, when the step is done."""
    attempts = []

    def record() -> None:
        attempts.append(1)
        if len(attempts) <= 3:
            raise Unavailable("database")

    consumer, connection, publisher, channel = connected(relay_then(record))
    deliver(consumer, 7)
    publisher.confirm(1)
    pauses = []
    while connection.timers:
        delay, again = connection.timers.pop()
        assert (channel.acked, channel.requeued) == ([], [])
        pauses.append(delay)
        again()
    assert pauses == [retry_pause(0), retry_pause(1), retry_pause(2)]
    assert (len(attempts), channel.acked, channel.requeued) == (4, [7], [])
    assert left_behind(consumer) == []


def test_a_post_publish_step_that_fails_gives_its_input_back_after_its_pause():
    """A post-publish step that fails for a reason of its own (not a dependency away) gives
    the input back to its queue, after the pause for its next delivery, unacked."""
    def record() -> None:
        raise RuntimeError("a bug")

    consumer, connection, publisher, channel = connected(relay_then(record))
    deliver(consumer, 7, delivery_count=1)
    publisher.confirm(1)
    assert_given_back(consumer, connection, channel, 1)
