"""A three-node RabbitMQ cluster on this machine (deploy/rabbitmq/cluster.md): the quorum queues
are replicated on all three nodes, the services are given every node in AMQP_URL, and the node
they are connected to is killed mid-run. Every submission is still accounted for."""

import json
import os
import signal

import pika
import pytest

from services.shared.topology import STAGES
from tests.broker.nodes import Node, cluster
from tests.broker.traffic import (
    SECRETARIAT,
    Mailbag,
    Publisher,
    accounting,
    dead_letters,
    figures,
    submissions,
)
from tests.support import start_service, stop_services, wait_for

pytestmark = [pytest.mark.broker, pytest.mark.e2e]
PLANS = 300


def queues(node: Node) -> dict[str, tuple[int, int, int, int]]:
    """queue -> (ready, unacked, members, online members), as the node sees them."""
    out = node.ctl("list_queues", "--no-table-headers", "name", "messages_ready",
                   "messages_unacknowledged", "members", "online")
    found = {}
    for line in out.splitlines():
        name, ready, unacked, members, online = line.split("\t")
        found[name] = (int(ready), int(unacked), members.count("@"), online.count("@"))
    return found


@pytest.mark.timeout(600)
def test_nothing_is_lost_when_the_node_the_services_use_is_killed(rabbit_nodes, smtp_server,
                                                                   tmp_path, report_figures):
    nodes = rabbit_nodes(3)
    cluster(nodes)
    first, survivor = nodes[0], nodes[2]
    inbox, smtp_port = smtp_server
    url = ",".join(node.url() for node in nodes)
    env = {**os.environ, "AMQP_URL": url, "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
           "SECRETARIAT_ADDRESSES": json.dumps({"*": SECRETARIAT})}
    services = {s: start_service(s, {**env, "DATABASE_URL": f"sqlite:///{tmp_path}/{s}.db"},
                                 tmp_path / f"{s}.log") for s in STAGES}
    plans = submissions(PLANS, "guest")
    publisher = Publisher([pika.URLParameters(u) for u in url.split(",")], plans)
    mailbag, killed = Mailbag(inbox), False
    try:
        wait_for(lambda: all(queues(first).get(s.queue, (0, 0, 0, 0))[2:] == (3, 3)
                             for s in STAGES.values()), timeout=60,
                 what="each stage's quorum queue on all three nodes")

        def settled() -> bool:
            nonlocal killed
            mailbag.update()
            notified = mailbag.letters(SECRETARIAT)
            publisher.feed(notified)
            if not killed and notified >= PLANS // 3:
                os.kill(int((first.folder / "node.pid").read_text()), signal.SIGKILL)
                killed = True
            return publisher.done and notified >= PLANS and all(
                p.notified(mailbag) for p in plans)

        wait_for(settled, timeout=300, interval=0.05, what="every submission's letters")
        wait_for(lambda: all(queues(survivor)[s.queue][:2] == (0, 0) for s in STAGES.values()),
                 timeout=60, what="the queues drained")
        state = queues(survivor)
    finally:
        codes = stop_services(services)
    mailbag.update()
    dead = dead_letters(survivor.url())
    outcomes = accounting(plans, mailbag, dead, f"sqlite:///{tmp_path}/notify.db")
    summary = figures("three-node cluster, the services' node killed after a third",
                      plans, outcomes, mailbag, dead, publisher)
    report_figures(summary)
    assert killed and codes == {s: 0 for s in STAGES}
    assert outcomes.lost == [] and outcomes.duplicated == [] and dead == [], summary
    assert outcomes.processed == {p.submission_id for p in plans}, summary
    assert all(state[s.queue][3] == 2 for s in STAGES.values()), state  # two of three online
    logs = "".join((tmp_path / f"{s}.log").read_text() for s in STAGES)
    assert any(f'"node": "127.0.0.1:{n.amqp_port}"' in logs for n in nodes[1:])  # moved on

