"""A plan that crashes the rules worker process (SIGABRT inside the evaluation) is dead-lettered
after the delivery limit, while the other plans are assessed."""

import os
import signal
import subprocess
import sys
import uuid

import pika
import pytest

from services.shared.contracts import PLANS_EXCHANGE, AssessmentCompleted, SubmissionAccepted
from services.shared.messaging.handling import Outgoing
from services.shared.messaging.pika_adapter import publish_confirmed
from services.shared.topology import DEFAULT_DELIVERY_LIMIT, NOTIFY, STAGES
from tests.broker.amqp import drain, wait_consuming
from tests.support import ROOT, TEXTILE, start_service, stop_services, variant, wait_for

pytestmark = [pytest.mark.broker, pytest.mark.e2e]
GOOD = 30
POISON = "POISON"

# The rules service with a test-only fault: evaluating a plan of a company whose legal name
# starts with POISON aborts the process, as a crash inside durable-rules would.
CRASHING_RULES = f"""
import os, sys
from services.rules.adapters import durable_engine
real = durable_engine.DurableRulesEngine.evaluate
def evaluate(self, plan, prior=None):
    if plan.company.legal_name.startswith({POISON!r}):
        os.abort()
    return real(self, plan, prior)
durable_engine.DurableRulesEngine.evaluate = evaluate
from services.cli import main
sys.exit(main(["rules"]))
"""


def _crashing_rules(env, log):
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-c", CRASHING_RULES], env=env, cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT)


def _plan(submission_id: str, name: str) -> Outgoing:
    def change(d):
        d["submission"]["submission_id"] = submission_id
        d["company"]["legal_name"] = name

    return Outgoing(PLANS_EXCHANGE, "plan.textile", variant(TEXTILE, change), submission_id)


def test_a_plan_that_kills_the_rules_worker_is_dead_lettered_and_the_rest_flow(
        amqp_url, tmp_path, report_figures):
    env = {**os.environ, "AMQP_URL": amqp_url, "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}
    services = {"ingest": start_service("ingest", env, tmp_path / "ingest.log")}
    rules = _crashing_rules(env, tmp_path / "rules.log")
    crashes: list[int] = []
    assessments: list[AssessmentCompleted] = []
    dead: list[tuple[pika.BasicProperties, bytes]] = []
    try:
        wait_consuming(amqp_url, {**services, "rules": rules}, tmp_path)
        poison = str(uuid.uuid4())
        good = [str(uuid.uuid4()) for _ in range(GOOD)]
        plans = [_plan(s, f"Bedrijf {i} B.V.") for i, s in enumerate(good)]
        plans.insert(GOOD // 2, _plan(poison, f"{POISON} B.V."))
        publish_confirmed(pika.URLParameters(amqp_url), plans)

        def settled() -> bool:
            nonlocal rules
            if rules.poll() is not None:  # a supervisor's restart
                crashes.append(rules.returncode)
                rules = _crashing_rules(env, tmp_path / "rules.log")
            assessments.extend(AssessmentCompleted.model_validate_json(body)
                               for _, body in drain(amqp_url, NOTIFY.queue))
            dead.extend(drain(amqp_url, STAGES["rules"].dead_letter_queue))
            return len(assessments) >= GOOD and len(dead) >= 1

        wait_for(settled, timeout=240, what="the good plans assessed, the poison dead-lettered")
    finally:
        services["rules"] = rules
        stop_services(services)
    assessed = {a.submission_id for a in assessments}
    report_figures(f"poison: {len(crashes)} crashes, {len(assessed)} plans assessed, "
                   f"{len(assessments) - len(assessed)} assessments repeated, {len(dead)} "
                   "dead-lettered")
    # a crash after an assessment was confirmed but before its input was acked repeats it
    # (at least once); notify delivers each recipient's message once (test_notify_delivery.py)
    assert assessed == set(good)
    [(props, body)] = dead
    assert SubmissionAccepted.model_validate_json(body).plan.submission.submission_id == poison
    assert (props.headers or {}).get("x-first-death-reason") == "delivery_limit"
    assert crashes and set(crashes) == {-signal.SIGABRT}
    assert len(crashes) <= STAGES["rules"].delivery_limit(DEFAULT_DELIVERY_LIMIT) + 1
