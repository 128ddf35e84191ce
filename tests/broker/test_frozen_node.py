"""A broker node that freezes (SIGSTOP: as a paused VM or blocked disk I/O) accepts TCP
connections and never answers. `covenant submit` must not hang on it: it gives up on that node
within AMQP_CONNECT_TIMEOUT_S and goes on to the next node of AMQP_URL, or says it cannot reach
the broker. A consumer on it stops counting as alive (readiness) after one silent heartbeat
interval, before pika's heartbeat check closes the connection."""

import os
import signal
import subprocess
import sys
import threading
import time

import pika
import pytest
from prometheus_client import CollectorRegistry

from services.shared.contracts.messages import DEAD_LETTER_EXCHANGE
from services.shared.messaging.handling import Outcome, Processor
from services.shared.messaging.pika_adapter import PikaConsumer
from services.shared.metrics import ServiceMetrics
from services.shared.topology import INGEST, Topology
from tests.broker.amqp import ready
from tests.support import EXAMPLES, ROOT, TEXTILE, wait_for

pytestmark = pytest.mark.broker
BOUND_S = 3


def submit(url: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "services.cli", "submit",
                          str(EXAMPLES / TEXTILE)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, env={**os.environ, "AMQP_URL": url,
                                           "AMQP_CONNECT_TIMEOUT_S": str(BOUND_S)})
    return run, time.monotonic() - started


def test_submit_passes_over_a_frozen_node_to_the_next_or_gives_up_in_bounded_time(
        rabbit_nodes, amqp_url):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    Topology().declare(connection.channel())
    connection.close()
    [node] = rabbit_nodes(1)
    node.start()
    pid = int((node.folder / "node.pid").read_text())
    os.kill(pid, signal.SIGSTOP)
    try:
        frozen = node.url().split("?")[0]
        alone, took = submit(frozen)
        assert alone.returncode == 1 and took < 30, (took, alone.stderr)
        assert "cannot reach the broker at AMQP_URL" in alone.stderr
        passed, took = submit(f"{frozen},{amqp_url}")
        assert passed.returncode == 0 and "confirmed by the broker" in passed.stdout, \
            passed.stderr
        assert took < 30
        assert ready(amqp_url, INGEST.queue) == 1
    finally:
        os.kill(pid, signal.SIGCONT)


def test_a_consumer_on_a_frozen_node_stops_counting_as_alive_within_a_heartbeat(rabbit_nodes):
    [node] = rabbit_nodes(1)
    node.start()
    processor = Processor("ingest", lambda d: Outcome("accepted"),
                          ServiceMetrics.create("ingest", CollectorRegistry()), 5,
                          DEAD_LETTER_EXCHANGE)
    heartbeat = 5
    consumer = PikaConsumer([pika.URLParameters(f"{node.url().split('?')[0]}?heartbeat="
                                                f"{heartbeat}")], INGEST.queue, processor,
                            declare=Topology().declare)
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    pid = int((node.folder / "node.pid").read_text())
    try:
        wait_for(lambda: consumer.alive, timeout=60, what="the consumer alive")
        time.sleep(heartbeat)  # a quiet, healthy interval: the broker's heartbeats keep it alive
        assert consumer.alive
        os.kill(pid, signal.SIGSTOP)
        frozen = time.monotonic()
        wait_for(lambda: not consumer.alive, timeout=heartbeat * 3, interval=0.05,
                 what="the consumer no longer alive")
        # readiness turned before pika's own heartbeat check (every interval + 5 s) noticed
        assert consumer.consuming, "only the connection's loss was noticed"
        assert time.monotonic() - frozen < heartbeat + 2
    finally:
        os.kill(pid, signal.SIGCONT)
        consumer.stop()
        thread.join(timeout=60)
