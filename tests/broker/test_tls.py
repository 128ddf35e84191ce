"""AMQP over TLS: a private RabbitMQ node that listens on TLS only and requires a client
certificate; the three services and `covenant submit` reach it through amqps://."""

import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import pika
import pytest

from services.shared.messaging.broker import broker_parameters
from services.shared.topology import STAGES
from tests.broker.nodes import Node
from tests.support import (
    EXAMPLES,
    ROOT,
    TEXTILE,
    Issued,
    issued,
    start_service,
    stop_services,
    wait_for,
)

pytestmark = [pytest.mark.broker, pytest.mark.e2e]
SECRETARIAT = "secretariaat@ser.example"


@pytest.fixture
def tls_node(rabbit_nodes, tmp_path: Path) -> tuple[Node, Issued]:
    """A started node listening on TLS only and requiring a client certificate from the same
    private CA: (node, the client's certificate)."""
    server, client = issued(tmp_path, "broker"), issued(tmp_path, "client")
    [node] = rabbit_nodes(1, tls=True, config=f"ssl_options.cacertfile = {server.ca}\n"
                                              f"ssl_options.certfile = {server.cert}\n"
                                              f"ssl_options.keyfile = {server.key}\n"
                                              "ssl_options.verify = verify_peer\n"
                                              "ssl_options.fail_if_no_peer_cert = true\n")
    node.start()
    return node, client


def _can_connect(node: Node, **files: Path) -> bool:
    try:
        pika.BlockingConnection(broker_parameters(node.url(tls=True), **files)).close()
        return True
    except (pika.exceptions.AMQPConnectionError, ssl.SSLError):
        return False


def test_services_and_submit_reach_a_tls_only_broker_with_a_client_certificate(
        tls_node, smtp_server, tmp_path):
    node, client = tls_node
    inbox, smtp_port = smtp_server
    tls = {"AMQP_CA_FILE": str(client.ca), "AMQP_CERT_FILE": str(client.cert),
           "AMQP_KEY_FILE": str(client.key)}
    env = {**os.environ, **tls, "AMQP_URL": node.url(tls=True),
           "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
           "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
           "SECRETARIAT_ADDRESSES": json.dumps({"*": SECRETARIAT})}
    # the broker refuses a client without a certificate; the client refuses an unknown server
    stranger = issued(tmp_path / "elsewhere", "stranger")
    assert not _can_connect(node, ca_file=client.ca)
    assert not _can_connect(node, cert_file=client.cert, key_file=client.key)
    assert not _can_connect(node, ca_file=client.ca, cert_file=stranger.cert,
                            key_file=stranger.key)
    assert _can_connect(node, ca_file=client.ca, cert_file=client.cert, key_file=client.key)

    services = {s: start_service(s, env, tmp_path / f"{s}.log") for s in STAGES}
    # a service that does not trust the broker keeps trying, and says why
    services["untrusting"] = start_service("ingest", {**env, "AMQP_CA_FILE": str(stranger.ca)},
                                           tmp_path / "untrusting.log")
    try:
        wait_for(lambda: all('"consuming"' in (tmp_path / f"{s}.log").read_text()
                             for s in STAGES), timeout=60, what="three consumers over TLS")
        # the broker's connection list is updated asynchronously: the probe connections
        # closed above can still be listed for a moment
        wait_for(lambda: len(node.ctl("list_connections", "--no-table-headers", "ssl").split())
                 == 3, timeout=30, what="the three services' connections alone listed")
        connections = node.ctl("list_connections", "--no-table-headers", "ssl").split()
        assert connections == ["true"] * 3, connections
        submit = subprocess.run([sys.executable, "-m", "services.cli", "submit",
                                 str(EXAMPLES / TEXTILE)], env=env, cwd=ROOT,
                                capture_output=True, text=True, timeout=60)
        assert submit.returncode == 0, submit.stderr
        wait_for(lambda: len(inbox.messages) == 2, timeout=60, what="the company's and the "
                 "secretariat's letters")
    finally:
        codes = stop_services(services)
    assert codes == {**{s: 0 for s in STAGES}, "untrusting": 0}
    untrusting = (tmp_path / "untrusting.log").read_text()
    assert "CERTIFICATE_VERIFY_FAILED" in untrusting and '"consuming"' not in untrusting
    assert sorted(r for rcpts, _ in inbox.messages for r in rcpts) == [
        "mvo@voorbeeldmode.example", SECRETARIAT]
    log = (tmp_path / "rules.log").read_text()
    assert f'"node": "127.0.0.1:{node.tls_port}"' in log
