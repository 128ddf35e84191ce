"""The console's outbox against the real broker: a finalised review's feedback event reaches
notify's queue once the relay has published it with a confirm; while the broker cannot be
reached the event waits in the outbox, and is published once it can."""

import time
from functools import partial

import pika
import pytest

from services.console.adapters import SqlReviews
from services.console.review import Review, confirm_rest, confirmed, feedback, finalise
from services.shared.contracts import ReviewFinalised
from services.shared.db import Database
from services.shared.messaging.handling import Outgoing
from services.shared.messaging.pika_adapter import publish_confirmed
from services.shared.outbox import OutboxRelay, SqlOutbox
from services.shared.topology import NOTIFY, Topology
from tests.broker.amqp import drain
from tests.support import example_doc, free_port

pytestmark = pytest.mark.broker


def test_a_finalised_reviews_feedback_waits_for_the_broker_and_reaches_notify_once(
        amqp_url, tmp_path):
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    Topology().declare(connection.channel())
    connection.close()
    db = Database(f"sqlite:///{tmp_path}/console.sqlite3")
    plan = example_doc("textile-voorbeeld-mode-2018.json")
    sid = plan["submission"]["submission_id"]
    findings = [{"finding_id": "F-1", "rule_id": "DD2-X", "rule_version": 1,
                 "severity": "high", "title": {"nl": "t", "en": "t"},
                 "message": {"nl": "m", "en": "m"}, "guidance": {"nl": "g", "en": "g"},
                 "references": [], "pointers": [], "severity_reason": None}]
    draft = confirm_rest(Review(sid), ["F-1"])
    final = finalise(draft, ["F-1"])
    SqlReviews(db).save(draft, 0, "textile", "AGT-0042", "sec", "confirm_rest")
    SqlReviews(db).save(final, draft.revision, "textile", "AGT-0042", "sec", "finalise",
                        confirmed(findings, final),
                        Outgoing.of(feedback(final, plan, findings, None)))
    outbox = SqlOutbox(db)

    away = pika.URLParameters(f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F"
                              "?connection_attempts=1&socket_timeout=2")
    with pytest.raises(pika.exceptions.AMQPConnectionError):
        OutboxRelay(outbox, partial(publish_confirmed, away)).run_once()
    assert [m.message_id for m in outbox.pending()] != []  # still there

    relay = OutboxRelay(outbox, partial(publish_confirmed, pika.URLParameters(amqp_url)),
                        interval_s=0.2)
    relay.start()
    try:
        deadline = time.monotonic() + 30
        while outbox.pending() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        relay.stop()
    assert outbox.pending() == []
    [(props, body)] = drain(amqp_url, NOTIFY.queue)
    event = ReviewFinalised.model_validate_json(body)
    assert event.submission_id == sid and [f.finding_id for f in event.findings] == ["F-1"]
    assert props.message_id == event.message_id
    db.close()
