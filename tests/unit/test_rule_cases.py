"""The rule test cases under rules/ pass and cover every rule; the runner can fail."""

import shutil

import pytest

from services.rules.rulefiles import RuleFileError
from services.rules.testing import run_cases
from tests.support import ROOT

RULES = ROOT / "rules"


def test_every_rule_case_passes_and_every_rule_is_covered():
    report = run_cases(RULES)
    assert [(o.file.name, o.case.note, o.problem) for o in report.failed] == []
    assert report.uncovered() == []
    assert len(report.rules) >= 25


@pytest.fixture
def rules_copy(tmp_path):
    copy = tmp_path / "rules"
    shutil.copytree(RULES, copy)
    return copy


def test_a_wrong_expectation_fails_with_what_was_missing_and_unexpected(rules_copy):
    path = rules_copy / "dd3-act.tests.yaml"
    path.write_text(path.read_text().replace(
        "pointer: /risk_assessment/risks/2}]", "pointer: /risk_assessment/risks/3}]", 1))
    [failure] = run_cases(rules_copy).failed
    assert failure.problem == (
        "missing: DD3-PRIORITY-RISK-HAS-ACTION at /risk_assessment/risks/3; "
        "unexpected: DD3-PRIORITY-RISK-HAS-ACTION at /risk_assessment/risks/2")


def test_a_rule_without_a_non_firing_case_is_uncovered(rules_copy):
    path = rules_copy / "dd4-track.tests.yaml"
    kept = path.read_text().split("  - note: a finished action is not overdue")[0] + \
        "  - note: placeholder\n    rule: DD4-EFFECTIVENESS-REVIEW-WITH-FEEDBACK\n" \
        "    base: compliant-textile\n    expect: []\n"
    path.write_text(kept)
    assert "DD4-OVERDUE-ACTIONS" in run_cases(rules_copy).uncovered()


def test_a_case_file_that_does_not_parse_is_an_error(rules_copy):
    (rules_copy / "dd4-track.tests.yaml").write_text("cases: [{note: x}]\n")
    with pytest.raises(RuleFileError, match=r"dd4-track\.tests\.yaml"):
        run_cases(rules_copy)
