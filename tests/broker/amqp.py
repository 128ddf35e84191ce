"""Looking into the broker from tests: queue depths, unacked counts, forced disconnects."""

import json
import subprocess
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import pika

from services.shared.contracts import PLANS_EXCHANGE, AssessmentCompleted
from services.shared.messaging.handling import Outgoing
from services.shared.messaging.pika_adapter import publish_confirmed
from services.shared.topology import NOTIFY, STAGES
from tests.support import log_tail, wait_for


def vhost_of(url: str) -> str:
    return url.rsplit("/", 1)[-1].split("?")[0]


def ready(url, queue) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return connection.channel().queue_declare(queue, passive=True).method.message_count
    finally:
        connection.close()


def drain(url, queue) -> list[tuple[pika.BasicProperties, bytes]]:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel, taken = connection.channel(), []
    while True:
        method, props, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            break
        taken.append((props, body))
    connection.close()
    return taken


def unacked(url, queue) -> int:
    vhost = vhost_of(url)
    out = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name",
                          "messages_unacknowledged"], capture_output=True, text=True, check=True)
    rows = dict(line.split("\t") for line in out.stdout.splitlines() if "\t" in line)
    return int(rows[queue])


def prefetch_counts(url, queue) -> list[int]:
    """The prefetch of each consumer on the queue, as the broker applies it."""
    out = subprocess.run(["rabbitmqctl", "-q", "list_consumers", "-p", vhost_of(url),
                          "--no-table-headers", "queue_name", "prefetch_count"],
                         capture_output=True, text=True, check=True)
    return [int(count) for name, count in (line.split("\t") for line in out.stdout.splitlines()
                                           if "\t" in line) if name == queue]


def close_connections(url):
    vhost = vhost_of(url)
    out = subprocess.run(["rabbitmqctl", "-q", "list_connections", "pid", "vhost"],
                         capture_output=True, text=True, check=True)
    for line in out.stdout.splitlines():
        pid, _, conn_vhost = line.partition("\t")
        if conn_vhost == vhost:
            subprocess.run(["rabbitmqctl", "-q", "close_connection", pid, "test"], check=True,
                           capture_output=True)




def consumers(url: str, queue: str) -> int:
    """Consumers on the queue; 0 while it does not exist yet."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return connection.channel().queue_declare(queue, passive=True).method.consumer_count
    except pika.exceptions.ChannelClosedByBroker:
        return 0
    finally:
        if connection.is_open:
            connection.close()


def wait_consuming(url: str, services: Mapping[str, subprocess.Popen], logs: Path,
                   timeout: float = 60.0) -> None:
    """Until each service (`covenant <stage>` processes, named "<stage>" or "<stage>-<n>")
    consumes its stage's queue, as many consumers as there are processes of that stage. A
    service that exits first, or one that is not consuming at the deadline, fails the wait in
    its own words, the end of its log (`logs`/<name>.log): a CI run that times out here says
    why."""
    wanted = Counter(name.split("-")[0] for name in services)
    late: list[str] = []

    def state() -> str:
        return "\n".join(f"{name}: {_state(services[name])}; its log ends:\n"
                         f"{log_tail(logs / f'{name}.log')}" for name in late)

    def consuming() -> bool:
        short = {stage for stage, count in wanted.items()
                 if consumers(url, STAGES[stage].queue) < count}
        late[:] = [name for name in services if name.split("-")[0] in short]
        if any(services[name].poll() is not None for name in late):
            raise AssertionError(f"a service exited while starting\n{state()}")
        return not late

    wait_for(consuming, timeout=timeout, what=f"consumers of {sorted(wanted)}", why=state)


def _state(process: subprocess.Popen) -> str:
    code = process.poll()
    return "still running" if code is None else f"exited with code {code}"


def submit(url: str, body: bytes) -> str:
    """Publish a plan as an upstream system would; returns its submission id."""
    submission_id = json.loads(body)["submission"]["submission_id"]
    publish_confirmed(pika.URLParameters(url), [
        Outgoing(PLANS_EXCHANGE, "plan.textile", body, submission_id)])
    return submission_id


def assessment_of(url: str, submission_id: str) -> AssessmentCompleted:
    """Waits for the plan's assessment in the notify queue (run without a notify service);
    takes every assessment there, so submit and await one plan at a time."""

    def arrived() -> AssessmentCompleted | None:
        found = [AssessmentCompleted.model_validate_json(body)
                 for _, body in drain(url, NOTIFY.queue)]
        return next((a for a in found if a.submission_id == submission_id), None)

    return wait_for(arrived, timeout=60, what=f"the assessment of {submission_id}")
