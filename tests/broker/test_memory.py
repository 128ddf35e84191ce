"""Memory across years in the services over RabbitMQ, with the history on PostgreSQL."""

import json
import os
import uuid

import pytest

from tests.broker.amqp import assessment_of, submit, wait_consuming
from tests.support import EXAMPLES, TEXTILE, TEXTILE_2018, start_service, stop_services

pytestmark = [pytest.mark.broker, pytest.mark.postgres, pytest.mark.e2e]


def same_company(name: str, company: str) -> bytes:
    """The example under fresh ids (the PostgreSQL database outlives test runs)."""
    plan = json.loads((EXAMPLES / name).read_text())
    plan["company"]["company_id"] = company
    plan["submission"]["submission_id"] = f"{company}-{plan['submission']['reporting_year']}"
    return json.dumps(plan).encode()


def test_the_rules_service_remembers_last_years_plan(amqp_url, postgres_url, tmp_path):
    env = {**os.environ, "AMQP_URL": amqp_url, "DATABASE_URL": postgres_url}
    services = {s: start_service(s, env, tmp_path / f"{s}.log") for s in ("ingest", "rules")}
    company = f"AGT-{uuid.uuid4().hex[:10]}"
    try:
        wait_consuming(amqp_url, services, tmp_path)
        first = assessment_of(amqp_url, submit(amqp_url, same_company(TEXTILE_2018, company)))
        second = assessment_of(amqp_url, submit(amqp_url, same_company(TEXTILE, company)))
    finally:
        codes = stop_services(services)
    assert codes == {"ingest": 0, "rules": 0}
    assert not any(f.rule_id.startswith("XY-") for f in first.findings)
    assert ("XY-PRIORITY-RISKS-CARRIED-OR-CLOSED", "/previous/risk_assessment/risks/4") in [
        (f.rule_id, f.pointers[0]) for f in second.findings]
