"""The broker as deploy/compose.yaml starts it, from nothing: a blank RabbitMQ node that loads
the definitions `covenant topology definitions` renders from the users secret (with
deploy/rabbitmq/rabbitmq.conf), seeds no `guest`, and lets each user do what its role allows:
the services run the pipeline, the upstream publisher only publishes plans."""

import json
import os

import pika
import pytest

from services.cli import main
from services.shared.contracts import PLANS_EXCHANGE
from services.shared.messaging.handling import Outgoing
from services.shared.messaging.pika_adapter import publish_confirmed
from services.shared.topology import STAGES
from tests.support import ROOT, TEXTILE, example, start_service, stop_services, wait_for

pytestmark = [pytest.mark.broker, pytest.mark.e2e]
USERS = {"covenant": {"password": "pw-services", "role": "services"},
         "upstream": {"password": "pw-upstream", "role": "publisher"},
         "operator": {"password": "pw-operator", "role": "administrator"}}


def test_a_blank_node_with_the_rendered_definitions_runs_the_pipeline_and_nothing_else(
        rabbit_nodes, tmp_path, capsys):
    users_file = tmp_path / "broker_users.json"
    users_file.write_text(json.dumps(USERS))
    definitions = tmp_path / "definitions.json"
    assert main(["topology", "definitions", "--users", str(users_file), "--out",
                 str(definitions)]) == 0
    assert "pw-" not in definitions.read_text()  # hashed, never the passwords
    conf = (ROOT / "deploy" / "rabbitmq" / "rabbitmq.conf").read_text().replace(
        "/etc/rabbitmq/generated/definitions.json", str(definitions))
    conf = "\n".join(line for line in conf.splitlines()  # no prometheus plugin on test nodes
                     if not line.startswith("prometheus."))
    [node] = rabbit_nodes(1, config=conf + "\n")
    node.start()

    def url(user: str) -> str:
        secret = USERS[user]["password"] if user in USERS else "guest"
        return f"amqp://{user}:{secret}@127.0.0.1:{node.amqp_port}/%2F"

    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        pika.BlockingConnection(pika.URLParameters(url("guest")))

    env = {**os.environ, "AMQP_URL": url("covenant"), "DATABASE_URL":
           f"sqlite:///{tmp_path}/ingest.sqlite3",
           "PUBLISHERS": json.dumps({"textile": ["upstream"], "banking": ["upstream"]})}
    services = {"ingest": start_service("ingest", env, tmp_path / "ingest.log")}
    try:
        body = example(TEXTILE)
        publish_confirmed(pika.URLParameters(url("upstream")), [Outgoing(
            PLANS_EXCHANGE, "plan.textile", body, "m-1", user_id="upstream")])

        def accepted() -> bool:
            connection = pika.BlockingConnection(pika.URLParameters(url("covenant")))
            try:
                return connection.channel().queue_declare(
                    STAGES["rules"].queue, passive=True).method.message_count == 1
            finally:
                connection.close()

        wait_for(accepted, timeout=60, what="the plan accepted by ingest")
        publisher = pika.BlockingConnection(pika.URLParameters(url("upstream")))
        try:
            with pytest.raises(pika.exceptions.ChannelClosedByBroker, match="403"):
                publisher.channel().basic_get(STAGES["rules"].queue)
            with pytest.raises(pika.exceptions.ChannelClosedByBroker, match="403"):
                publisher.channel().queue_declare("somewhere-else")
        finally:
            publisher.close()
        assert "administrator" in node.ctl("list_users")
    finally:
        codes = stop_services(services)
    assert codes == {"ingest": 0}
