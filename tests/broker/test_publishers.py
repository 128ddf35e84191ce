"""Upstream publishers are authorised per covenant by the user_id property, which RabbitMQ
checks against the publishing connection's user: a publisher cannot claim to be another."""

import json
import os
import uuid

import pika
import pytest

from services.shared.contracts import PLANS_EXCHANGE, SubmissionAccepted, SubmissionRejected
from services.shared.messaging.handling import Outgoing
from services.shared.messaging.pika_adapter import publish_confirmed
from services.shared.topology import NOTIFY, STAGES
from tests.broker.amqp import drain, wait_consuming
from tests.support import TEXTILE, start_service, stop_services, variant, wait_for

pytestmark = [pytest.mark.broker, pytest.mark.e2e]


@pytest.fixture
def publisher(broker_user):
    """A broker user allowed on the test's vhost: (name, its AMQP URL)."""
    name, _, url = broker_user("upstream-textile")
    return name, url


def _plan(user_id: str) -> tuple[str, Outgoing]:
    sid = str(uuid.uuid4())
    body = variant(TEXTILE, lambda d: d["submission"].update(submission_id=sid))
    return sid, Outgoing(PLANS_EXCHANGE, "plan.textile", body, sid, user_id=user_id)


def test_only_the_covenants_publisher_gets_a_plan_accepted(amqp_url, publisher, tmp_path):
    name, publisher_url = publisher
    env = {**os.environ, "AMQP_URL": amqp_url, "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
           "PUBLISHERS": json.dumps({"textile": [name]})}
    services = {"ingest": start_service("ingest", env, tmp_path / "ingest.log")}
    try:
        wait_consuming(amqp_url, services, tmp_path)
        genuine, message = _plan(name)
        publish_confirmed(pika.URLParameters(publisher_url), [message])
        other, message = _plan("guest")
        publish_confirmed(pika.URLParameters(amqp_url), [message])
        with pytest.raises(pika.exceptions.ChannelClosedByBroker, match="user_id"):  # spoofed
            publish_confirmed(pika.URLParameters(amqp_url), [_plan(name)[1]])

        accepted: list[SubmissionAccepted] = []
        rejected: list[SubmissionRejected] = []

        def settled() -> bool:
            accepted.extend(SubmissionAccepted.model_validate_json(body)
                            for _, body in drain(amqp_url, STAGES["rules"].queue))
            rejected.extend(SubmissionRejected.model_validate_json(body)
                            for _, body in drain(amqp_url, NOTIFY.queue))
            return bool(accepted) and bool(rejected)

        wait_for(settled, timeout=60, what="one plan accepted and one rejected")
    finally:
        codes = stop_services(services)
    assert [a.plan.submission.submission_id for a in accepted] == [genuine]
    # refused before its body is read (no submission id known), for the covenant its routing
    # key names, to the secretariat only; its id is not taken
    assert [(r.submission_id, r.covenant, r.reason.value, r.contacts)
            for r in rejected] == [(None, "textile", "unauthorised", [])]
    assert other not in [a.plan.submission.submission_id for a in accepted]
    assert codes == {"ingest": 0}
