"""The rules service picks up edited rule files while it runs against RabbitMQ."""

import json
import os
import shutil
import urllib.request
import uuid

import pytest

from tests.broker.amqp import assessment_of, submit, wait_consuming
from tests.support import (
    ROOT,
    TEXTILE,
    free_port,
    scrape,
    start_service,
    stop_services,
    variant,
)

pytestmark = [pytest.mark.broker, pytest.mark.e2e]


def fresh_textile() -> bytes:
    submission_id = str(uuid.uuid4())
    return variant(TEXTILE, lambda d: d["submission"].update(submission_id=submission_id))


def test_an_edit_changes_the_next_assessment_and_a_broken_edit_does_not_stop_the_service(
        amqp_url, tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    metrics_port = free_port()
    env = {**os.environ, "AMQP_URL": amqp_url, "RULES_DIR": str(rules),
           "RULES_RELOAD_INTERVAL_S": "0", "DATABASE_URL": f"sqlite:///{tmp_path}/l.sqlite3"}
    services = {
        "ingest": start_service("ingest", env, tmp_path / "ingest.log"),
        "rules": start_service("rules", env, tmp_path / "rules.log", "--metrics-port",
                               str(metrics_port)),
    }
    try:
        wait_consuming(amqp_url, services, tmp_path)
        first = assessment_of(amqp_url, submit(amqp_url, fresh_textile()))
        rule = "DD6-GM-REACHES-SUPPLY-CHAIN-WORKERS"
        assert rule not in {f.rule_id for f in first.findings}

        path = rules / "dd6-remedy.yaml"
        path.write_text(path.read_text().replace("min_coverage_pct: 80", "min_coverage_pct: 86"))
        second = assessment_of(amqp_url, submit(amqp_url, fresh_textile()))
        assert rule in {f.rule_id for f in second.findings}
        assert second.ruleset_version != first.ruleset_version

        good = path.read_text()
        path.write_text("rules: [\n")  # a broken edit
        third = assessment_of(amqp_url, submit(amqp_url, fresh_textile()))
        assert third.ruleset_version == second.ruleset_version
        assert services["rules"].poll() is None, "the rules service stopped"

        # a pattern whose compilation never ends in the engine (it once froze the service:
        # 100% CPU, no health endpoint, SIGTERM ignored)
        path.write_text(good)
        policy = rules / "dd1-policy.yaml"
        policy.write_text(policy.read_text().replace('value: "http://.*"',
                                                     'value: "((a*)*)*b"'))
        fourth = assessment_of(amqp_url, submit(amqp_url, fresh_textile()))
        assert fourth.ruleset_version == second.ruleset_version
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/healthz", timeout=5) as r:
            assert r.status == 200
        assert 'covenant_ruleset_loaded{service="rules"} 0.0' in scrape(metrics_port)
    finally:
        codes = stop_services(services)
    assert codes == {"ingest": 0, "rules": 0}
    log = [json.loads(line) for line in (tmp_path / "rules.log").read_text().splitlines()
           if line.startswith("{")]
    events = [line["event"] for line in log if "reload" in line["event"]]
    assert events == ["rules reloaded"] + [
        "rule reload failed; the previous rule set stays active"] * 2
    assert "itself repeats" in [line for line in log if "reload failed" in line["event"]][-1][
        "error"]
