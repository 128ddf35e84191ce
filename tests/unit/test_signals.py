"""The secretariat's register of forwarded signals: the CSV adapter and the rules handler that
hands the company's signals to DD6-COVENANT-SIGNALS-FOLLOWED-UP."""

import json
import os
import re

import pytest
from prometheus_client import CollectorRegistry

from services.rules.adapters.history import NoHistory
from services.rules.adapters.signals import CsvSignalRegister, NoSignalRegister
from services.rules.core.prior import Signal
from services.rules.factory import engine_from_folder
from services.rules.handlers import RulesHandler
from services.shared.contracts import SubmissionAccepted, validate_plan
from services.shared.messaging.handling import Delivery
from services.shared.metrics import ServiceMetrics
from tests.support import ROOT

HEADER = "company_id,covenant,signal_ref,forwarded_on\n"


def test_the_register_gives_each_company_its_own_signals_under_the_covenant(tmp_path):
    path = tmp_path / "signals.csv"
    path.write_text(HEADER + "AGT-0042,textile,SIG-1,2019-01-05\n"
                    "AGT-0042,banking,SIG-2,2019-01-06\nAGT-0099,textile,SIG-3,2019-01-07\n")
    register = CsvSignalRegister(path)
    assert register.forwarded("AGT-0042", "textile") == (Signal("SIG-1", "2019-01-05"),)
    assert register.forwarded("AGT-0001", "textile") == ()


def test_the_register_is_read_again_when_the_file_changes(tmp_path):
    path = tmp_path / "signals.csv"
    path.write_text(HEADER)
    register = CsvSignalRegister(path)
    assert register.forwarded("AGT-0042", "textile") == ()
    path.write_text(HEADER + "AGT-0042,textile,SIG-1,2019-01-05\n")
    os.utime(path, (1, 1))  # a different modification time, however fast the test runs
    assert register.forwarded("AGT-0042", "textile") == (Signal("SIG-1", "2019-01-05"),)


@pytest.mark.parametrize("content, complaint", [
    ("company_id,covenant,signal_ref\nA,textile,S\n", "signals.csv: no column(s) forwarded_on"),
    (HEADER + "A,textile,S,5 January\n", "signals.csv:2: forwarded_on is not a date"),
])
def test_an_unusable_register_is_refused_with_file_and_line(tmp_path, content, complaint):
    path = tmp_path / "signals.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=re.escape(complaint)):
        CsvSignalRegister(path).forwarded("A", "textile")


def assess(register) -> list[str]:
    plan = validate_plan(json.loads(
        (ROOT / "rules" / "fixtures" / "compliant-textile.json").read_text()))
    handler = RulesHandler(engine_from_folder(ROOT / "rules"), NoHistory(),
                           ServiceMetrics.create("rules", CollectorRegistry()), register)
    event = SubmissionAccepted(correlation_id="c", content_sha256="0" * 64, plan=plan)
    outcome = handler(Delivery(event.model_dump_json(by_alias=True).encode(),
                               event.routing_key()))
    [assessment] = outcome.messages
    return [f["rule_id"] for f in json.loads(assessment.body)["findings"]]


def test_the_rules_handler_asks_the_register_for_the_companys_signals(tmp_path):
    path = tmp_path / "signals.csv"
    path.write_text(HEADER + "AGT-0042,textile,SIG-2019-099,2019-01-05\n")
    assert assess(NoSignalRegister()) == []
    assert assess(CsvSignalRegister(path)) == ["DD6-COVENANT-SIGNALS-FOLLOWED-UP"]
