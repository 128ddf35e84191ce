"""End to end: plans through ingest, rules and notify as three processes over RabbitMQ, next to
a raw pika relay with pipelined confirms through the same three hops, in the same run.

The plans are published as an upstream system does, each with a publisher confirm (a plan the
broker did not take fails the run at once); the relay's messages without, to keep that side
bare. A plan is done when the last of its `notification.delivered` events (company and
secretariat) reaches a queue of the benchmark's own; the relay's message is done when it leaves
the third hop. When nothing arrives for `STALL_S` seconds while plans are still missing, the run
fails at once, saying how many are missing and what the dead-letter queues hold, instead of
waiting out its timeout. Prints sustained throughput (plans or messages per second from the
first publish to the last arrival) and p50/p99 latency, and our throughput as a ratio of the
relay's.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pika

from bench.plans import textile_plan
from bench.relay import wait_on
from services.shared.contracts import EVENTS_EXCHANGE, PLANS_EXCHANGE
from services.shared.topology import STAGES, Topology

ROOT = Path(__file__).resolve().parents[1]
HOPS = 3
RULES_CONSUMERS = 2  # as deployed (deploy/compose.yaml, deploy/k8s): the rules are the costliest
CPU: dict[str, tuple[dict[str, float], float, float]] = {}  # label -> per plan, ceiling, rate
STALL_S = 60.0  # no arrival for this long with plans missing: they are lost, not slow
RELAY = """
import sys, pika
from pika.adapters.select_connection import SelectConnection
url, source, target = sys.argv[1:4]
pending, seq = {}, [0]
def on_message(ch, method, props, body):
    ch.basic_publish("", target, body, props)
    seq[0] += 1
    pending[seq[0]] = method.delivery_tag
def on_confirm(frame):
    m = frame.method
    for s in ([s for s in pending if s <= m.delivery_tag] if m.multiple else [m.delivery_tag]):
        channel.basic_ack(pending.pop(s))
def on_channel(ch):
    global channel
    channel = ch
    ch.confirm_delivery(on_confirm)
    ch.basic_qos(prefetch_count=32, callback=lambda _: ch.basic_consume(source, on_message))
SelectConnection(pika.URLParameters(url), on_open_callback=lambda c: c.channel(
    on_open_callback=on_channel)).ioloop.start()
"""


def ctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True)


def connect(url: str) -> pika.BlockingConnection:
    return pika.BlockingConnection(pika.URLParameters(url))


def collect(url: str, queue: str, expected: int, key: str, timeout: float) -> dict[str, float]:
    """Arrival time per key (header or correlation id) until `expected` keys are complete."""
    connection = connect(url)
    channel = connection.channel()
    channel.basic_qos(prefetch_count=500)
    arrivals: dict[str, list[float]] = {}
    deadline = time.monotonic() + timeout
    need = 2 if key == "correlation" else 1  # company and secretariat
    complete = 0
    last = time.monotonic()
    for method, props, _ in channel.consume(queue, auto_ack=True, inactivity_timeout=1):
        if method is not None:
            ident = props.correlation_id if key == "correlation" else props.message_id
            arrivals.setdefault(ident, []).append(time.time())
            complete += len(arrivals[ident]) == need
            last = time.monotonic()
        if complete >= expected:
            break
        if time.monotonic() - last > STALL_S:
            channel.cancel()
            raise SystemExit(f"LOST: {expected - complete} of {expected} did not arrive and "
                             f"nothing came for {STALL_S:.0f} s; dead letters: "
                             f"{dead_letters(channel)}")
        if time.monotonic() > deadline:
            raise SystemExit(f"TIMED OUT: only {complete} of {expected} arrived")
    connection.close()
    return {k: max(v) for k, v in arrivals.items()}


def dead_letters(channel: Any) -> dict[str, int]:
    """How many messages each stage's dead-letter queue holds (where a lost plan would be)."""
    found = {}
    for stage in STAGES.values():
        try:
            found[stage.name] = channel.queue_declare(stage.dead_letter_queue,
                                                      passive=True).method.message_count
        except pika.exceptions.ChannelClosedByBroker:  # not declared (the relay's run)
            return found
    return found


def summary(name: str, sent: dict[str, float], done: dict[str, float]) -> tuple[float, list[str]]:
    latencies = sorted(done[k] - sent[k] for k in sent)
    span = max(done.values()) - min(sent.values())
    rate = len(sent) / span
    p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))]
    return rate, [name, f"{len(sent)}", f"{rate:,.0f}/s",
                  f"{statistics.median(latencies) * 1e3:,.1f} ms", f"{p99 * 1e3:,.1f} ms"]


def relay(url: str, n: int) -> tuple[float, list[str]]:
    connection = connect(url)
    channel = connection.channel()
    queues = [f"bench.hop{i}" for i in range(HOPS + 1)]
    for q in queues:
        channel.queue_declare(q, durable=True, arguments={"x-queue-type": "quorum"})
    relays = [subprocess.Popen([sys.executable, "-c", RELAY, url, queues[i], queues[i + 1]])
              for i in range(HOPS)]
    try:
        wait_on(connection, lambda: all(
            channel.queue_declare(q, passive=True).method.consumer_count for q in queues[:-1]),
            "the relays consuming")
        body, sent = b"x" * 1024, {}
        for i in range(n):
            ident = f"m-{i}"
            sent[ident] = time.time()
            channel.basic_publish("", queues[0], body, pika.BasicProperties(
                message_id=ident, delivery_mode=2))
        connection.close()
        done = collect(url, queues[-1], n, "message", timeout=300)
    finally:
        for p in relays:
            p.terminate()
    return summary(f"raw relay, {HOPS} hops, 1 KiB", sent, done)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pipeline(url: str, plans: list[bytes], label: str, workdir: Path,
             rules_consumers: int = RULES_CONSUMERS) -> tuple[float, list[str]]:
    env = {**os.environ, "AMQP_URL": url, "DATABASE_URL": f"sqlite:///{workdir}/{label}.db",
           "OUTBOX_DIR": str(workdir / f"outbox-{label}"), "LOG_LEVEL": "WARNING",
           "PREFETCH": "32"}
    connection = connect(url)
    channel = connection.channel()
    Topology().declare(channel)
    channel.queue_declare("bench.delivered", durable=True,
                          arguments={"x-queue-type": "quorum"})
    channel.queue_bind("bench.delivered", EVENTS_EXCHANGE, "notification.delivered.*")
    names = [s for s in STAGES for _ in range(rules_consumers if s == "rules" else 1)]
    services = [subprocess.Popen([sys.executable, "-m", "services.cli", s], env=env, cwd=ROOT,
                                 stdout=subprocess.DEVNULL) for s in names]
    try:
        wait_on(connection, lambda: all(
            channel.queue_declare(STAGES[s].queue, passive=True).method.consumer_count
            >= names.count(s) for s in STAGES), "the services consuming")
        started = [cpu_seconds(p.pid) for p in services]  # start-up is not the plans' cost
        sent = {}
        channel.confirm_delivery()  # each plan confirmed, as an upstream system publishes
        for body in plans:
            ident = str(uuid.uuid4())
            sent[ident] = time.time()
            # raises (ending the run) when the broker refuses or cannot route the plan
            channel.basic_publish(PLANS_EXCHANGE, "plan.textile", body, pika.BasicProperties(
                message_id=ident, correlation_id=ident, delivery_mode=2), mandatory=True)
        connection.close()
        done = collect(url, "bench.delivered", len(plans), "correlation", timeout=600)
        spent: dict[str, float] = {}
        for name, p, before in zip(names, services, started, strict=True):
            spent[name] = spent.get(name, 0.0) + cpu_seconds(p.pid) - before
    finally:
        for p in services:
            p.terminate()
            p.wait(timeout=60)
    rate, row = summary(f"covenant, {label}", sent, done)
    per_plan = {name: cpu / len(plans) for name, cpu in spent.items()}
    ceiling = (os.cpu_count() or 1) / sum(per_plan.values())  # plans/s all cores allow
    CPU[label] = (per_plan, ceiling, rate)
    return rate, row


def plans_of(locations: int, n: int) -> list[bytes]:
    """n plans of n different companies (one company's plans for one year would rightly
    trigger PROC-ONE-PLAN-PER-YEAR against each other and grow with every plan)."""
    template = textile_plan(locations).to_json_dict()
    bodies = []
    for i in range(n):
        company = f"BENCH-{uuid.uuid4().hex[:8]}-{i}"
        template["submission"]["submission_id"] = str(uuid.uuid4())
        template["company"]["company_id"] = company
        template["company"]["contacts"] = [{"email": f"csr@{company.lower()}.example"}]
        bodies.append(json.dumps(template).encode())
    return bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1:5672")
    parser.add_argument("-n", type=int, default=300, help="small plans (and relay messages x10)")
    args = parser.parse_args()
    rows, rates = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, run in (
            ("relay", lambda url: relay(url, args.n * 10)),
            ("small", lambda url: pipeline(url, plans_of(5, args.n), "small plans (5 locations)",
                                           Path(tmp))),
            ("realistic", lambda url: pipeline(url, plans_of(200, max(20, args.n // 10)),
                                               "realistic plans (200 locations)", Path(tmp))),
        ):
            vhost = f"bench-{uuid.uuid4().hex[:8]}"
            ctl("add_vhost", vhost)
            ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
            try:
                rates[name], row = run(f"amqp://guest:guest@{args.host}/{vhost}")
                rows.append(row)
            finally:
                ctl("delete_vhost", vhost)
    print(f"\nend to end over RabbitMQ ({HOPS} hops, quorum queues, three processes)")
    print(f"{'variant':<42}{'n':>6}{'throughput':>14}{'p50':>12}{'p99':>12}")
    for name, n, rate, p50, p99 in rows:
        print(f"{name:<42}{n:>6}{rate:>14}{p50:>12}{p99:>12}")
    for name in ("small", "realistic"):
        print(f"{name} plans / raw relay throughput: {rates[name] / rates['relay']:.3f}")
    print(f"\nCPU per plan ({RULES_CONSUMERS} rules consumers) and throughput against what "
          f"{os.cpu_count()} cores allow at that cost")
    for label, (per_plan, ceiling, rate) in CPU.items():
        costs = ", ".join(f"{name} {cpu * 1e3:,.1f} ms" for name, cpu in per_plan.items())
        print(f"{label}: {costs}; ceiling {ceiling:,.1f} plans/s; reached {rate:,.1f} "
              f"plans/s = {rate / ceiling:.2f} of it")


if __name__ == "__main__":
    main()
