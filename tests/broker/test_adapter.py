"""The pika adapter against the real broker: every test has its own vhost."""

import itertools
import subprocess
import threading
import time
from collections import Counter
from urllib.parse import urlsplit, urlunsplit

import pika
import pytest
from prometheus_client import CollectorRegistry

from services.cli import main as cli
from services.shared.contracts.messages import DEAD_LETTER_EXCHANGE, EVENTS_EXCHANGE, PLANS_EXCHANGE
from services.shared.messaging.handling import REASON_HEADER, Outcome, Outgoing, Processor
from services.shared.messaging.pika_adapter import PikaConsumer, publish_confirmed
from services.shared.metrics import ServiceMetrics
from services.shared.topology import INGEST, RULES, Topology
from tests.broker.amqp import (
    close_connections,
    consumers,
    drain,
    prefetch_counts,
    ready,
    unacked,
    vhost_of,
)
from tests.support import free_port, wait_for

pytestmark = pytest.mark.broker
LIMIT = 3
DECLARE = Topology(delivery_limit=LIMIT).declare


@pytest.fixture
def quick_retries(monkeypatch):
    """Pauses before a retry from 50 ms, for tests where their length is not the point (two
    tests measure them as deployed): a mutation run runs this suite for each of the
    transport's mutants."""
    from services.shared.messaging import pika_adapter

    monkeypatch.setattr(pika_adapter, "RETRY_DELAY_SECONDS", 0.05)


def relay(delivery):
    """Passes each plan on as if accepted, under an id derived from the input."""
    return Outcome("accepted", [Outgoing(EVENTS_EXCHANGE, "submission.accepted.textile",
                                         delivery.body, f"out-{delivery.message_id}")])


class Running:
    """A consumer of the ingest queue in a thread, stopped and joined on exit."""

    def __init__(self, url, handler, prefetch=32, nodes=None, declare=DECLARE):
        self.params = pika.URLParameters(url)
        self.metrics = ServiceMetrics.create("ingest", CollectorRegistry())
        processor = Processor("ingest", handler, self.metrics, LIMIT, DEAD_LETTER_EXCHANGE)
        self.consumer = PikaConsumer(nodes or [self.params], INGEST.queue, processor,
                                     prefetch=prefetch, declare=declare)
        self.thread = threading.Thread(target=self.consumer.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.consumer.stop()
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "the consumer did not stop"


def declare(url):
    connection = pika.BlockingConnection(pika.URLParameters(url))
    Topology(delivery_limit=LIMIT).declare(connection.channel())
    connection.close()


def publish(url, bodies):
    publish_confirmed(pika.URLParameters(url), [
        Outgoing(PLANS_EXCHANGE, "plan.textile", body, f"in-{i}") for i, body in enumerate(bodies)
    ])


def test_every_input_is_relayed_once_and_acked_after_its_output_is_confirmed(amqp_url):
    declare(amqp_url)
    publish(amqp_url, [f"plan {i}".encode() for i in range(300)])
    with Running(amqp_url, relay) as running:
        def acked_only_after_relayed() -> bool:
            # an input is acked only once its output is confirmed, so in the rules queue:
            # the acks counted first never exceed the outputs counted after them
            acked = running.metrics.acked._value.get()
            relayed = ready(amqp_url, RULES.queue)
            assert acked <= relayed, (acked, relayed)
            return relayed == 300

        wait_for(acked_only_after_relayed, what="300 relayed")
        wait_for(lambda: running.metrics.acked._value.get() == 300, what="300 acks")
    assert (ready(amqp_url, INGEST.queue), unacked(amqp_url, INGEST.queue)) == (0, 0)
    relayed = drain(amqp_url, RULES.queue)
    ids = Counter(p.message_id for p, _ in relayed)
    assert len(ids) == 300 and set(ids.values()) == {1}
    # kept by the broker as published: persistent, JSON
    assert {(p.content_type, p.delivery_mode) for p, _ in relayed} == {("application/json", 2)}


def test_a_delivery_carries_what_the_publisher_set_and_the_broker_vouched_for(amqp_url):
    """The handler's Delivery is the AMQP message as sent: its routing key, ids, headers and
    the user the broker checked it was published by (`user_id`, which ingest's PUBLISHERS
    reads); without a correlation id, the message id stands in for it."""
    declare(amqp_url)
    user = urlsplit(amqp_url).username
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    channel.confirm_delivery()
    channel.basic_publish(PLANS_EXCHANGE, "plan.textile", b"first", pika.BasicProperties(
        message_id="m-1", correlation_id="c-1", user_id=user, headers={"x-origin": "upstream"},
        delivery_mode=2), mandatory=True)
    channel.basic_publish(PLANS_EXCHANGE, "plan.banking", b"second", pika.BasicProperties(
        message_id="m-2", delivery_mode=2), mandatory=True)
    connection.close()
    seen = []

    def record(delivery):
        seen.append(delivery)
        return Outcome("accepted", [])
    with Running(amqp_url, record) as running:
        wait_for(lambda: running.metrics.acked._value.get() == 2, what="2 acks")
    first, second = sorted(seen, key=lambda d: d.body)
    assert (first.body, first.routing_key, first.message_id, first.correlation_id,
            first.user_id, first.delivery_count) == (
        b"first", "plan.textile", "m-1", "c-1", user, 0)
    assert first.headers["x-origin"] == "upstream"
    assert (second.routing_key, second.message_id, second.correlation_id, second.user_id) == (
        "plan.banking", "m-2", "m-2", None)


def test_a_consumer_starts_at_prefetch_1_and_takes_its_prefetch_at_the_first_fresh_message(
        amqp_url):
    """Poison containment; RabbitMQ applies basic.qos only to consumers created after it, so
    this checks the prefetch the broker actually applies."""
    declare(amqp_url)
    with Running(amqp_url, relay, prefetch=40) as running:
        wait_for(lambda: prefetch_counts(amqp_url, INGEST.queue) == [1], what="a cautious start")
        publish(amqp_url, [f"plan {i}".encode() for i in range(50)])
        wait_for(lambda: running.metrics.acked._value.get() == 50, what="50 acks")
        assert prefetch_counts(amqp_url, INGEST.queue) == [40]
    assert ready(amqp_url, RULES.queue) == 50


def test_a_nacked_output_is_published_again_and_its_input_spends_no_delivery(amqp_url,
                                                                            quick_retries):
    """The broker nacks what a queue cannot take: here the rules queue is a classic queue that
    holds 5 messages and rejects more (x-overflow reject-publish), which stands in for a quorum
    queue without a leader.
    Nacked outputs are published again until taken; none is lost, repeated or dead-lettered."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    for exchange in (PLANS_EXCHANGE, EVENTS_EXCHANGE, DEAD_LETTER_EXCHANGE):
        channel.exchange_declare(exchange, exchange_type="topic", durable=True)
    full = {"x-queue-type": "classic", "x-max-length": 5, "x-overflow": "reject-publish"}
    for stage, arguments in ((INGEST, INGEST.queue_arguments(LIMIT)), (RULES, full)):
        channel.queue_declare(stage.queue, durable=True, arguments=arguments)
        for exchange, key in stage.bindings:
            channel.queue_bind(stage.queue, exchange, routing_key=key)
    channel.queue_declare(INGEST.dead_letter_queue, durable=True,
                          arguments={"x-queue-type": "quorum"})
    channel.queue_bind(INGEST.dead_letter_queue, DEAD_LETTER_EXCHANGE, routing_key="ingest")
    connection.close()
    publish(amqp_url, [f"plan {i}".encode() for i in range(20)])
    taken: Counter = Counter()

    def all_taken() -> bool:
        taken.update(p.message_id for p, _ in drain(amqp_url, RULES.queue))
        return len(taken) == 20

    with Running(amqp_url, relay, declare=None) as running:
        wait_for(lambda: running.metrics.republished._value.get() > 0, timeout=30,
                 what="outputs nacked by the full queue and published again")
        wait_for(all_taken, timeout=120, what="20 outputs through a queue that holds 5")
        wait_for(lambda: running.metrics.acked._value.get() == 20, what="20 acks")
    assert set(taken.values()) == {1}
    assert running.metrics.republished._value.get() > 0
    assert running.metrics.requeued._value.get() == 0
    assert ready(amqp_url, INGEST.dead_letter_queue) == 0


def test_an_input_with_two_outputs_waits_for_both_and_the_nacked_one_arrives_once(amqp_url):
    """Two outputs per input: a `notification.delivered` event no queue takes (published
    without `mandatory`, so the broker confirms it at once, as notify's are) and one to the
    rules queue. While the rules queue takes nothing (a policy: max-length 0,
    reject-publish), that output is nacked and published again: the input stays unacked
    although the other output was confirmed first. Once the queue has room the output arrives
    exactly once, and only then is the input acked."""
    def two(delivery):
        return Outcome("accepted", [
            Outgoing(EVENTS_EXCHANGE, "notification.delivered.textile", delivery.body,
                     f"delivered-{delivery.message_id}", mandatory=False),
            Outgoing(EVENTS_EXCHANGE, "submission.accepted.textile", delivery.body,
                     f"rules-{delivery.message_id}")])

    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    for exchange in (PLANS_EXCHANGE, EVENTS_EXCHANGE, DEAD_LETTER_EXCHANGE):
        channel.exchange_declare(exchange, exchange_type="topic", durable=True)
    for stage, arguments in ((INGEST, INGEST.queue_arguments(LIMIT)),
                             (RULES, {"x-queue-type": "classic"})):
        channel.queue_declare(stage.queue, durable=True, arguments=arguments)
        for exchange, key in stage.bindings:
            channel.queue_bind(stage.queue, exchange, routing_key=key)
    connection.close()
    vhost = vhost_of(amqp_url)
    policy = ["rabbitmqctl", "-q", "set_policy", "-p", vhost, "--apply-to", "queues",
              "full", f"^{RULES.queue}$", '{"max-length": 0, "overflow": "reject-publish"}']
    subprocess.run(policy, check=True, capture_output=True, timeout=60)
    publish(amqp_url, [b"plan 0"])

    running = Running(amqp_url, two, declare=None)
    republished: list[float] = []
    republish = running.consumer._republish

    def timed(inflight, messages):
        republished.append(time.monotonic())
        republish(inflight, messages)
    running.consumer._republish = timed  # type: ignore[method-assign]
    with running:
        wait_for(lambda: running.metrics.republished._value.get() >= 3, timeout=60,
                 what="the rules output nacked and published again, three times")
        # after pauses that double: 0.5 s, 1 s, 2 s (a loaded machine only adds to each)
        gaps = [later - earlier for earlier, later in itertools.pairwise(republished[:3])]
        assert all(pause - 0.05 <= gap <= pause + 0.9 for gap, pause in zip(gaps, [1, 2],
                                                                            strict=True)), gaps
        # the other output's confirm is not enough: the input is neither acked nor given back
        # (the broker's count of unacked messages follows with a lag)
        wait_for(lambda: unacked(amqp_url, INGEST.queue) == 1, timeout=30,
                 what="the input held unacked")
        assert running.metrics.acked._value.get() == 0
        subprocess.run(["rabbitmqctl", "-q", "clear_policy", "-p", vhost, "full"], check=True,
                       capture_output=True, timeout=60)
        wait_for(lambda: running.metrics.acked._value.get() == 1, timeout=60,
                 what="the input acked once both outputs are confirmed")
    assert [p.message_id for p, _ in drain(amqp_url, RULES.queue)] == ["rules-in-0"]
    wait_for(lambda: (ready(amqp_url, INGEST.queue), unacked(amqp_url, INGEST.queue)) == (0, 0),
             timeout=30, what="the input gone from its queue")


def test_a_publisher_channel_that_keeps_nacking_is_replaced_and_no_delivery_is_spent(
        amqp_url, monkeypatch):
    """A channel that published to a quorum queue while it had no leader can go on nacking
    every publish to that queue after the queue has a leader again (rabbitmq-server#15333).
    Here the first publisher channel stands in for such a channel: whatever it publishes goes
    to a queue that takes nothing (max-length 0, reject-publish), so every publish on it is
    nacked, while the rules queue itself is fine. After two rounds of nacks the output goes
    out on a new channel: each output arrives once, and every input is acked at its first
    delivery."""
    opened = []
    on_open = PikaConsumer._on_publisher_open

    def publisher_open(consumer, channel):
        if not opened:  # the first one is stuck
            publish = channel.basic_publish
            channel.basic_publish = lambda _exchange, *args, **kwargs: publish(
                "stuck", *args, **kwargs)
        opened.append(channel)
        on_open(consumer, channel)

    monkeypatch.setattr(PikaConsumer, "_on_publisher_open", publisher_open)
    declare(amqp_url)
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    channel.exchange_declare("stuck", exchange_type="fanout")
    channel.queue_declare("stuck", arguments={"x-max-length": 0,
                                              "x-overflow": "reject-publish"})
    channel.queue_bind("stuck", "stuck")
    connection.close()
    publish(amqp_url, [f"plan {i}".encode() for i in range(3)])

    with Running(amqp_url, relay) as running:
        wait_for(lambda: running.metrics.acked._value.get() == 3, timeout=60,
                 what="3 inputs acked once their outputs went out on a new channel")
    assert len(opened) == 2
    assert Counter(p.message_id for p, _ in drain(amqp_url, RULES.queue)) == {
        f"out-in-{i}": 1 for i in range(3)}
    # outputs nacked on the stuck channel were published again
    assert running.metrics.republished._value.get() >= 2
    assert running.metrics.requeued._value.get() == 0
    assert ready(amqp_url, INGEST.dead_letter_queue) == 0


def test_a_consumer_given_several_nodes_moves_on_from_one_that_is_down(amqp_url):
    declare(amqp_url)
    publish(amqp_url, [f"plan {i}".encode() for i in range(20)])
    down = urlsplit(amqp_url)._replace(netloc=f"guest:guest@127.0.0.1:{free_port()}")
    nodes = [pika.URLParameters(urlunsplit(down)), pika.URLParameters(amqp_url)]
    with Running(amqp_url, relay, nodes=nodes) as running:
        wait_for(lambda: running.metrics.acked._value.get() == 20, what="20 acks")
    assert ready(amqp_url, RULES.queue) == 20


def test_a_failing_message_is_redelivered_then_dead_lettered_with_its_reason(amqp_url,
                                                                           quick_retries):
    attempts = Counter()

    def handler(delivery):
        attempts[delivery.body] += 1
        if delivery.body == b"poison":
            raise RuntimeError("boom")
        return relay(delivery)

    declare(amqp_url)
    with Running(amqp_url, handler) as running:
        channel = wait_for(lambda: running.consumer.consuming and running.consumer._channel,
                           what="consuming")
        publish(amqp_url, [b"a", b"poison", b"b"])
        [(props, body)] = wait_for(lambda: drain(amqp_url, INGEST.dead_letter_queue),
                                   what="the poison message in the dead-letter queue")
        wait_for(lambda: ready(amqp_url, RULES.queue) == 2, what="the other two relayed")
        # each try but the last was handed back with a nack of its own, on the same channel
        assert running.metrics.requeued._value.get() == LIMIT - 1
        assert running.consumer._channel is channel
    assert body == b"poison" and attempts[b"poison"] == LIMIT
    assert props.headers[REASON_HEADER] == "RuntimeError in the ingest handler, on delivery 3 of 3"
    assert props.message_id == "in-1"
    assert (attempts[b"a"], attempts[b"b"]) == (1, 1)


def test_an_output_the_broker_cannot_route_never_acks_its_input(amqp_url, quick_retries):
    def misrouted(delivery):
        return Outcome("accepted", [Outgoing(EVENTS_EXCHANGE, "nowhere.bound", b"x", "o")])

    declare(amqp_url)
    publish(amqp_url, [b"plan"])
    with Running(amqp_url, misrouted) as running:
        [(props, _)] = wait_for(lambda: drain(amqp_url, INGEST.dead_letter_queue), timeout=60,
                                what="the broker to dead-letter past the delivery limit")
    assert props.headers["x-death"][0]["reason"] == "delivery_limit"
    assert running.metrics.acked._value.get() == 0


def test_a_graceful_stop_loses_and_doubles_nothing(amqp_url):
    declare(amqp_url)
    publish(amqp_url, [f"plan {i}".encode() for i in range(2_000)])

    def working(delivery):  # 2 ms of work a message, so the stop surely comes mid-way
        time.sleep(0.002)
        return relay(delivery)

    with Running(amqp_url, working, prefetch=200) as running:
        wait_for(lambda: running.metrics.acked._value.get() > 100, what="work under way")
        running.stop()
    # the broker returns the stopped consumer's prefetched messages to the queue as it sees
    # the channel close, which it reports a moment later under load
    wait_for(lambda: unacked(amqp_url, INGEST.queue) == 0, timeout=30,
             what="the stopped consumer's prefetched messages back in the queue")
    relayed = [p.message_id.removeprefix("out-") for p, _ in drain(amqp_url, RULES.queue)]
    left = [p.message_id for p, _ in drain(amqp_url, INGEST.queue)]
    assert len(relayed) == len(set(relayed)) and 0 < len(left) < 2_000
    assert sorted(relayed + left) == sorted(f"in-{i}" for i in range(2_000))


def test_the_consumer_reconnects_after_the_broker_closes_its_connection(amqp_url):
    declare(amqp_url)
    with Running(amqp_url, relay):
        publish(amqp_url, [b"before"] * 20)
        wait_for(lambda: ready(amqp_url, RULES.queue) == 20, what="the first batch")
        close_connections(amqp_url)
        publish(amqp_url, [b"after"] * 20)
        wait_for(lambda: ready(amqp_url, RULES.queue) == 40, timeout=60,
                 what="the second batch after reconnecting")


def test_topology_declare_is_idempotent(amqp_url, monkeypatch, capsys):
    """Declaring again, as every service does at start, changes nothing: the queues keep
    their arguments and the messages waiting in them."""
    monkeypatch.setenv("AMQP_URL", amqp_url)
    assert cli(["topology", "declare"]) == 0
    publish(amqp_url, [b"plan waiting"])
    wait_for(lambda: ready(amqp_url, INGEST.queue) == 1, what="a plan waiting")
    assert cli(["topology", "declare"]) == 0
    assert ready(amqp_url, INGEST.queue) == 1  # not purged nor re-created
    listed = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", vhost_of(amqp_url),
                             "--no-table-headers", "name", "type", "arguments"],
                            capture_output=True, text=True, check=True, timeout=60).stdout
    rows = {line.split("\t")[0]: line for line in listed.splitlines() if "\t" in line}
    for stage in (INGEST, RULES):
        assert "quorum" in rows[stage.queue] and "x-delivery-limit" in rows[stage.queue]
        assert stage.dead_letter_queue in rows


def test_publishing_to_an_unbound_routing_key_is_refused_not_dropped(amqp_url):
    declare(amqp_url)
    with pytest.raises(pika.exceptions.UnroutableError):
        publish_confirmed(pika.URLParameters(amqp_url),
                          [Outgoing(PLANS_EXCHANGE, "nothing.here", b"x", "m")])


def test_a_dependency_away_holds_messages_without_spending_their_deliveries(amqp_url):
    """The handler's database is away for longer than the delivery limit's retries would
    last: every message is held (unacked, handled again after pauses that double from half a
    second), none is dead-lettered, and each is relayed once when the database is back."""
    from services.shared.errors import Unavailable

    back = threading.Event()
    seen: Counter[int] = Counter()
    tries: dict[bytes, list[float]] = {}

    def needs_database(delivery):
        seen[delivery.delivery_count] += 1
        if not back.is_set():
            tries.setdefault(delivery.body, []).append(time.monotonic())
            raise Unavailable("database unavailable: OperationalError")
        return relay(delivery)

    declare(amqp_url)
    publish(amqp_url, [f"plan {i}".encode() for i in range(5)])
    with Running(amqp_url, needs_database) as running:
        wait_for(lambda: running.metrics.outcomes.labels("held")._value.get() >= 5 * (LIMIT + 1),
                 timeout=60, what="each message held more often than its delivery limit")
        wait_for(lambda: len(tries) == 5 and all(len(t) >= 4 for t in tries.values()),
                 timeout=60, what="each message tried four times")
        assert ready(amqp_url, INGEST.dead_letter_queue) == 0
        back.set()
        wait_for(lambda: ready(amqp_url, RULES.queue) == 5, timeout=60, what="5 relayed")
        wait_for(lambda: running.metrics.acked._value.get() == 5, what="5 acks")
    assert set(seen) == {0}, "a hold spent a delivery"
    for times in tries.values():  # 0.5, 1, 2 s (a loaded machine only adds to each)
        gaps = [later - earlier for earlier, later in itertools.pairwise(times[:4])]
        assert all(pause - 0.05 <= gap <= pause + 0.9 for gap, pause in zip(gaps, [0.5, 1, 2],
                                                                            strict=True)), gaps
    assert ready(amqp_url, INGEST.dead_letter_queue) == 0
    wait_for(lambda: (ready(amqp_url, INGEST.queue), unacked(amqp_url, INGEST.queue)) == (0, 0),
             timeout=30, what="the ingest queue settled")
    assert ready(amqp_url, RULES.queue) == 5


def test_a_deleted_queue_is_declared_again_and_consumed(amqp_url):
    """The topology is declared before the first consume only (a reconnect must not wait on
    declarations), so a queue deleted under a running consumer must bring the declaration
    back: the broker cancels the consumer, which starts over and declares."""
    declare(amqp_url)
    with Running(amqp_url, relay) as running:
        wait_for(lambda: running.consumer.consuming, what="consuming")
        connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        connection.channel().queue_delete(INGEST.queue)
        connection.close()
        wait_for(lambda: consumers(amqp_url, INGEST.queue) == 1, timeout=30,
                 what="the queue declared again and consumed")
        publish(amqp_url, [b"after the deletion"])
        wait_for(lambda: ready(amqp_url, RULES.queue) == 1, timeout=30,
                 what="the plan relayed from the re-declared queue")
