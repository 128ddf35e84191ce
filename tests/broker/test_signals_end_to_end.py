"""A signal end to end over RabbitMQ: two companies list the same factory, spelled differently,
a third another one; the secretariat records a signal on the factory with `covenant signals
add`; each of the two companies gets one letter (the third and the secretariat none, and no
letter names the reporter); next year the company that did not record the signal as a case gets
DD6-COVENANT-SIGNALS-FOLLOWED-UP, the one that did does not. Three services as OS processes."""

import json
import os
import sqlite3
import subprocess
import sys
from datetime import date

import pytest

from services.shared.topology import STAGES
from tests.broker.amqp import unacked, wait_consuming
from tests.broker.test_end_to_end import by_recipient
from tests.register import plan_doc, site
from tests.support import ROOT, free_port, start_service, stop_services, wait_for

pytestmark = [pytest.mark.broker, pytest.mark.e2e]
SECRETARIAT = "secretariaat@ser.example"
SOURCE = "Reporter Name, +31 6 98765432"
YEAR = date.today().year  # the forward is dated today; next year's plan comes months later
RULE = "DD6-COVENANT-SIGNALS-FOLLOWED-UP"


def test_a_signal_reaches_the_companies_that_use_the_place_and_dd6_follows_it(
        amqp_url, smtp_server, tmp_path):
    inbox, smtp_port = smtp_server
    database = tmp_path / "covenant.sqlite3"
    env = {**os.environ, "AMQP_URL": amqp_url, "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
           "DATABASE_URL": f"sqlite:///{database}", "LOG_LEVEL": "INFO",
           "SECRETARIAT_ADDRESSES": json.dumps({"*": SECRETARIAT})}
    factory_a = site("L-1", "Example Garments Ltd.", "Plot 12, Example Road")
    factory_b = site("F-7", "Exmple Garments Limited", "Plot 12, Example Rd.")
    elsewhere = site("K-3", "Lotus Knits", "Avinashi Road 99")

    def submit(*docs: dict) -> None:
        files = []
        for n, doc in enumerate(docs):
            path = tmp_path / f"plan-{doc['company']['company_id']}-{n}.json"
            path.write_text(json.dumps(doc), encoding="utf-8")
            files.append(str(path))
        done = subprocess.run([sys.executable, "-m", "services.cli", "submit", *files],
                              env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr

    def findings_of(company: str, year: int) -> list[str] | None:
        with sqlite3.connect(database) as db:
            row = db.execute("SELECT findings_json FROM rules_assessments WHERE company_id = ? "
                             "AND reporting_year = ?", (company, year)).fetchone()
        return [f["rule_id"] for f in json.loads(row[0])] if row else None

    services = {s: start_service(s, env, tmp_path / f"{s}.log", "--metrics-port",
                                 str(free_port())) for s in STAGES}
    try:
        wait_consuming(amqp_url, services, tmp_path)
        submit(plan_doc("AGT-1", YEAR, [factory_a]),
               plan_doc("AGT-2", YEAR, [factory_b], language="en"),
               plan_doc("AGT-3", YEAR, [elsewhere]))
        wait_for(lambda: all(findings_of(c, YEAR) is not None for c in
                             ("AGT-1", "AGT-2", "AGT-3")), timeout=90, what="three assessments")
        wait_for(lambda: len(inbox.messages) == 6, timeout=60, what="the assessment letters")

        cli = [sys.executable, "-m", "services.cli"]
        refreshed = subprocess.run([*cli, "locations", "show", "IN-00001", "--lang", "en"],
                                   env=env, cwd=ROOT, capture_output=True, text=True,
                                   timeout=60)
        assert "2 companies use this location" in refreshed.stdout, refreshed.stdout
        added = subprocess.run(
            [*cli, "signals", "add", "--location", "IN-00001", "--received-on",
             f"{YEAR}-01-15", "--theme", "forced_labour", "--source", SOURCE, "--summary",
             "Overtime is forced before shipments.", "--user", "anna", "--lang", "en"],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert added.returncode == 0, added.stderr
        assert "Passed to 2 companies: AGT-1, AGT-2" in added.stdout
        assert "outbox" not in added.stdout  # published at once, with confirms
        signal_id = f"SIG-{YEAR}-0001"

        def signal_letters() -> dict[str, list]:
            return {r: [m for m in ms if signal_id in m.get_body(("plain",)).get_content()]
                    for r, ms in by_recipient(inbox).items()}

        letters = wait_for(lambda: (s := signal_letters()) and sum(map(len, s.values())) == 2
                           and s, timeout=60, what="the two signal letters")
        assert {r: len(ms) for r, ms in letters.items() if ms} == {
            "mvo@agt-1.example": 1, "mvo@agt-2.example": 1}
        dutch, english = letters["mvo@agt-1.example"][0], letters["mvo@agt-2.example"][0]
        assert dutch["Subject"].startswith("Signaal over een productielocatie van u")
        assert english["Subject"].startswith("A signal about one of your production locations")
        for message in (dutch, english):
            text = message.get_body(("plain",)).get_content()
            assert signal_id in text and "Reporter" not in text and "98765432" not in text

        # next year: AGT-1 does not record the signal, AGT-2 does
        case = {"case_id": "G-9", "received_on": f"{YEAR}-12-20",
                "channel": "covenant_secretariat", "signal_ref": signal_id,
                "theme": "forced_labour", "location_ids": ["F-7"], "status": "open"}
        submit(plan_doc("AGT-1", YEAR + 1, [factory_a]),
               plan_doc("AGT-2", YEAR + 1, [factory_b], cases=[case], language="en"))
        wait_for(lambda: findings_of("AGT-1", YEAR + 1) is not None
                 and findings_of("AGT-2", YEAR + 1) is not None, timeout=90,
                 what="next year's assessments")
        assert RULE in (findings_of("AGT-1", YEAR + 1) or [])
        assert RULE not in (findings_of("AGT-2", YEAR + 1) or [])
        assert RULE not in (findings_of("AGT-1", YEAR) or [])
        for stage in STAGES.values():
            wait_for(lambda q=stage.queue: unacked(amqp_url, q) == 0, what=f"{stage.queue} acked")
    finally:
        codes = stop_services(services)
    assert codes == {s: 0 for s in STAGES}
    log_text = "".join((tmp_path / f"{s}.log").read_text() for s in STAGES)
    for secret in ("Reporter", "98765432", "Overtime", "@agt-1.example", "Example Garments"):
        assert secret not in log_text, f"{secret!r} leaked into the logs"
