"""`covenant deadletters list|redrive` against the real broker: a handler's dead letter and a
broker's (delivery limit) are listed with their reasons without being removed, a dry run moves
nothing, and a re-drive sends each back the way it came, then removes it."""

import pika
import pytest

from services.cli import main
from services.shared.contracts import EVENTS_EXCHANGE
from services.shared.messaging.handling import REASON_HEADER, Outgoing
from services.shared.messaging.pika_adapter import publish_confirmed
from services.shared.topology import DEAD_LETTER_EXCHANGE, RULES, Topology
from tests.broker.amqp import drain, ready

pytestmark = pytest.mark.broker


def test_dead_letters_are_listed_with_reasons_and_redriven_the_way_they_came(
        amqp_url, monkeypatch, capsys):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    Topology().declare(connection.channel())
    connection.close()
    publish_confirmed(pika.URLParameters(amqp_url), [
        Outgoing(DEAD_LETTER_EXCHANGE, "rules", b'{"secret": "plan text"}', "m-handler",
                 headers={REASON_HEADER: "not a valid submission.accepted event (3 errors)",
                          "x-dead-lettered-by": "rules",
                          "x-original-routing-key": "submission.accepted.textile"}),
        Outgoing(DEAD_LETTER_EXCHANGE, "rules", b"{}", "m-broker", headers={"x-death": [{
            "reason": "delivery_limit", "count": 5, "exchange": EVENTS_EXCHANGE,
            "queue": RULES.queue, "routing-keys": ["submission.accepted.banking"]}]}),
        Outgoing(DEAD_LETTER_EXCHANGE, "rules", b"{}", "m-unknown"),
    ])
    monkeypatch.setenv("AMQP_URL", amqp_url)

    assert main(["deadletters", "list", "--stage", "rules"]) == 0
    out = capsys.readouterr().out
    assert "not a valid submission.accepted event (3 errors)" in out
    assert "the broker: delivery_limit after 5 deliveries" in out
    assert "3 dead letter(s)" in out and "plan text" not in out
    assert ready(amqp_url, RULES.dead_letter_queue) == 3  # listing removes nothing

    assert main(["deadletters", "redrive", "--stage", "rules", "--dry-run"]) == 1
    assert "2 would send back, 1 left" in capsys.readouterr().out
    assert ready(amqp_url, RULES.dead_letter_queue) == 3 and ready(amqp_url, RULES.queue) == 0

    assert main(["deadletters", "redrive", "--stage", "rules"]) == 1  # one cannot go back
    assert "2 sent back, 1 left in irbc.rules.dead" in capsys.readouterr().out
    back = {props.message_id: props for props, _ in drain(amqp_url, RULES.queue)}
    assert set(back) == {"m-handler", "m-broker"}
    assert not (back["m-handler"].headers or {}).keys() & {REASON_HEADER, "x-death"}
    [(left, _)] = drain(amqp_url, RULES.dead_letter_queue)
    assert left.message_id == "m-unknown"
