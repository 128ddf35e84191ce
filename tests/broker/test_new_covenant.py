"""A sixth covenant made of files only, through the three services as OS processes over
RabbitMQ (its one-process twin is in tests/unit/test_covenants.py)."""

import email
import json
import os
import subprocess
import sys
from email import policy

import pytest

from services.shared.topology import STAGES
from tests import new_covenant
from tests.broker.amqp import wait_consuming
from tests.support import ROOT, start_service, stop_services, wait_for

pytestmark = [pytest.mark.broker, pytest.mark.e2e]


def test_a_covenant_added_as_files_is_routed_assessed_and_notified(amqp_url, smtp_server,
                                                                    tmp_path):
    inbox, smtp_port = smtp_server
    rules, plan_file = new_covenant.make(tmp_path)
    env = {**os.environ, "AMQP_URL": amqp_url, "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
           "DATABASE_URL": f"sqlite:///{tmp_path}/ledger.sqlite3", "RULES_DIR": str(rules),
           "SECRETARIAT_ADDRESSES": json.dumps({"*": "secretariaat@ser.example"})}
    services = {s: start_service(s, env, tmp_path / f"{s}.log") for s in STAGES}
    try:
        wait_consuming(amqp_url, services, tmp_path)
        submit = subprocess.run([sys.executable, "-m", "services.cli", "submit", str(plan_file)],
                                env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert submit.returncode == 0, submit.stderr
        assert "plan.pensions" in submit.stdout  # routed by the covenant's own key

        def company_letter():
            for rcpts, raw in inbox.messages:
                if new_covenant.CONTACT in rcpts:
                    return email.message_from_bytes(raw, policy=policy.default)
            return None

        letter = wait_for(company_letter, timeout=90, what="the pension fund's letter")
        text = letter.get_body(("plain",)).get_content()
        assert "Covenant: pension funds" in text
        assert "PF-ASSET-CLASSES-SCREENED" in text and "PF-PLAN-ON-TIME" in text
        assert "Pension Funds Agreement 4" in text
        assert "Garments" not in text and "Banking Sector Agreement" not in text
    finally:
        codes = stop_services(services)
    assert codes == {s: 0 for s in STAGES}
