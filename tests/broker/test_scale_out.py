"""Two rules workers on one queue share the work; nothing is assessed twice."""

import os
import re
import uuid
from collections import Counter

import pika
import pytest

from services.shared.contracts import PLANS_EXCHANGE, AssessmentCompleted
from services.shared.messaging.handling import Outgoing
from services.shared.messaging.pika_adapter import publish_confirmed
from services.shared.topology import NOTIFY, STAGES
from tests.broker.amqp import drain, unacked, wait_consuming
from tests.support import (
    TEXTILE,
    free_port,
    scrape,
    start_service,
    stop_services,
    variant,
    wait_for,
)

pytestmark = [pytest.mark.broker, pytest.mark.e2e]
PLANS = 60


def test_two_rules_workers_share_the_queue_and_assess_each_plan_once(amqp_url, tmp_path):
    ports = [free_port(), free_port()]
    env = {**os.environ, "AMQP_URL": amqp_url, "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
           "PREFETCH": "4"}
    services = {"ingest": start_service("ingest", env, tmp_path / "ingest.log")}
    for i, port in enumerate(ports):
        services[f"rules-{i}"] = start_service("rules", env, tmp_path / f"rules-{i}.log",
                                               "--metrics-port", str(port))
    assessments: list[AssessmentCompleted] = []
    try:
        wait_consuming(amqp_url, services, tmp_path)
        ids = [str(uuid.uuid4()) for _ in range(PLANS)]
        publish_confirmed(pika.URLParameters(amqp_url), [
            Outgoing(PLANS_EXCHANGE, "plan.textile",
                     variant(TEXTILE, lambda d, s=s: d["submission"].update(submission_id=s)), s)
            for s in ids])

        def collected() -> bool:
            assessments.extend(AssessmentCompleted.model_validate_json(body)
                               for _, body in drain(amqp_url, NOTIFY.queue))
            return len(assessments) >= PLANS

        wait_for(collected, timeout=120, what=f"{PLANS} assessments")
        wait_for(lambda: unacked(amqp_url, STAGES["rules"].queue) == 0, what="all acked")
        handled = [_assessed(scrape(port)) for port in ports]
    finally:
        codes = stop_services(services)
    assert Counter(a.submission_id for a in assessments) == Counter(ids)  # each exactly once
    assert sum(handled) == PLANS and all(n > 0 for n in handled), handled
    assert set(codes.values()) == {0}


def _assessed(metrics: str) -> int:
    match = re.search(r'covenant_messages_handled_total\{outcome="assessed",service="rules"\} '
                      r"(\d+)", metrics)
    return int(match.group(1)) if match else 0
