"""A broker node that freezes (SIGSTOP: as a paused VM or blocked disk I/O) accepts TCP
connections and never answers. `covenant submit` must not hang on it: it gives up on that node
within AMQP_CONNECT_TIMEOUT_S and goes on to the next node of AMQP_URL, or says it cannot reach
the broker."""

import os
import signal
import subprocess
import sys
import time

import pika
import pytest

from services.shared.topology import INGEST, Topology
from tests.broker.amqp import ready
from tests.support import EXAMPLES, ROOT, TEXTILE

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
