"""Relay throughput of the pika adapter against two baselines measured in the same run.

One hop, as every service does it: consume from a quorum queue, publish one message to a
quorum queue with publisher confirms, ack the input after the confirm.

- sync: pika BlockingConnection, one synchronous confirm per publish (the slow kind);
- raw: a minimal SelectConnection relay with pipelined confirms (the fast kind);
- adapter: `PikaConsumer` + `Processor` with a pass-through handler, i.e. what the
  services run minus their domain work (metrics and logging included).

Prints messages per second and the adapter's ratio to each baseline. Needs RabbitMQ and
rabbitmqctl; uses a vhost of its own and deletes it afterwards.
"""

import argparse
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pika
import structlog
from pika.adapters.select_connection import SelectConnection
from prometheus_client import CollectorRegistry

from services.shared.contracts.messages import DEAD_LETTER_EXCHANGE, EVENTS_EXCHANGE, PLANS_EXCHANGE
from services.shared.logging import configure_logging
from services.shared.messaging.handling import Outcome, Outgoing, Processor
from services.shared.messaging.pika_adapter import PikaConsumer
from services.shared.metrics import ServiceMetrics
from services.shared.topology import INGEST, RULES, Topology

BODY = b"x" * 1024
PREFETCH = 256


def ctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True)


def connect(url: str) -> pika.BlockingConnection:
    return pika.BlockingConnection(pika.URLParameters(url))


def reset(url: str) -> None:
    connection = connect(url)
    channel = connection.channel()
    for queue in (INGEST.queue, RULES.queue):
        channel.queue_purge(queue)
    connection.close()


def wait_on(connection: pika.BlockingConnection, check: Callable[[], bool], what: str,
            timeout: float = 120.0) -> None:
    """Polls `check` (serving the connection meanwhile) until true; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        connection.sleep(0.05)


def preload(url: str, n: int) -> None:
    connection = connect(url)
    channel = connection.channel()
    for i in range(n):
        channel.basic_publish(PLANS_EXCHANGE, "plan.textile", BODY,
                              pika.BasicProperties(message_id=f"m-{i}", delivery_mode=2))
    wait_on(connection, lambda: channel.queue_declare(
        INGEST.queue, passive=True).method.message_count >= n, f"{n} messages queued")
    connection.close()


def relayed(url: str) -> int:
    connection = connect(url)
    count = connection.channel().queue_declare(RULES.queue, passive=True).method.message_count
    connection.close()
    return count


def timed(url: str, n: int, relay: Callable[[str, int], float]) -> float:
    """Messages per second from the start of the relay to its last ack (shutdown excluded)."""
    reset(url)
    preload(url, n)
    started = time.perf_counter()
    finished = relay(url, n)
    elapsed = finished - started
    assert relayed(url) == n, f"relayed {relayed(url)} of {n}"
    return n / elapsed


def sync_relay(url: str, n: int) -> float:
    connection = connect(url)
    channel = connection.channel()
    channel.confirm_delivery()
    channel.basic_qos(prefetch_count=PREFETCH)
    for done, (method, props, body) in enumerate(channel.consume(INGEST.queue), start=1):
        channel.basic_publish(EVENTS_EXCHANGE, "submission.accepted.textile", body, props,
                              mandatory=True)
        channel.basic_ack(method.delivery_tag)
        if done == n:
            break
    finished = time.perf_counter()
    channel.cancel()
    connection.close()
    return finished


def raw_relay(url: str, n: int) -> float:
    state: dict = {"seq": 0, "acked": 0, "owner": {}, "finished": 0.0}

    def on_message(ch, method, props, body):
        ch.basic_publish(EVENTS_EXCHANGE, "submission.accepted.textile", body, props,
                         mandatory=True)
        state["seq"] += 1
        state["owner"][state["seq"]] = method.delivery_tag

    def on_confirm(frame):
        m = frame.method
        seqs = [s for s in state["owner"] if s <= m.delivery_tag] if m.multiple \
            else [m.delivery_tag]
        for s in seqs:
            channel.basic_ack(state["owner"].pop(s))
            state["acked"] += 1
        if state["acked"] == n:
            state["finished"] = time.perf_counter()
            connection.close()

    def on_channel(ch):
        nonlocal channel
        channel = ch
        ch.confirm_delivery(on_confirm)
        ch.basic_qos(prefetch_count=PREFETCH,
                     callback=lambda _: ch.basic_consume(INGEST.queue, on_message))

    channel = None
    connection = SelectConnection(
        pika.URLParameters(url),
        on_open_callback=lambda c: c.channel(on_open_callback=on_channel),
        on_close_callback=lambda c, r: c.ioloop.stop())
    connection.ioloop.start()
    return state["finished"]


def adapter_relay(url: str, n: int) -> float:
    metrics = ServiceMetrics.create("ingest", CollectorRegistry())

    def handler(delivery):
        return Outcome("accepted", [Outgoing(EVENTS_EXCHANGE, "submission.accepted.textile",
                                             delivery.body, str(uuid.uuid4()))])

    processor = _Counting(n, "ingest", handler, metrics, 5, DEAD_LETTER_EXCHANGE)
    consumer = PikaConsumer([pika.URLParameters(url)], INGEST.queue, processor,
                            prefetch=PREFETCH)
    thread = threading.Thread(target=consumer.run)
    thread.start()
    processor.done.wait()
    consumer.stop()
    thread.join()
    return processor.finished


class _Counting(Processor):
    """Notes when the n-th input is confirmed, without a poller competing for the GIL."""

    def __init__(self, n: int, *args: Any):
        super().__init__(*args)
        self.n, self.count, self.finished, self.done = n, 0, 0.0, threading.Event()

    def confirmed(self, disposition: Any) -> None:
        super().confirmed(disposition)
        self.count += 1
        if self.count == self.n:
            self.finished = time.perf_counter()
            self.done.set()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1:5672")
    parser.add_argument("-n", type=int, default=20_000, help="messages per pipelined run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per variant (best is kept)")
    args = parser.parse_args()
    configure_logging("WARNING")
    vhost = f"bench-{uuid.uuid4().hex[:8]}"
    ctl("add_vhost", vhost)
    ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    url = f"amqp://guest:guest@{args.host}/{vhost}"
    try:
        connection = connect(url)
        Topology().declare(connection.channel())
        connection.close()
        n_sync = max(1, args.n // 10)
        results = {
            "sync confirm (baseline)": max(timed(url, n_sync, sync_relay)
                                           for _ in range(args.rounds)),
            "raw pipelined (baseline)": max(timed(url, args.n, raw_relay)
                                            for _ in range(args.rounds)),
            "adapter": max(timed(url, args.n, adapter_relay) for _ in range(args.rounds)),
        }
    finally:
        structlog.reset_defaults()
        ctl("delete_vhost", vhost)
    adapter = results["adapter"]
    print(f"\nrelay, one hop, quorum queues, {len(BODY)} B bodies, prefetch {PREFETCH}, "
          f"best of {args.rounds}")
    print(f"{'variant':<28}{'msg/s':>10}{'adapter / variant':>20}")
    for name, rate in results.items():
        print(f"{name:<28}{rate:>10,.0f}{adapter / rate:>20.2f}")


if __name__ == "__main__":
    main()
