"""The assessment frameworks (`rules/covenants/<name>/framework.yaml`): every worked example
scores as computed by hand, a wrong one fails saying what differs, and lint refuses a framework
that leaves a rule out, names what does not exist or cannot place every plan, with file and
line."""

import shutil
from pathlib import Path

import pytest
import yaml

from services.rules.adapters.rulefiles import load_rulebook
from services.rules.core.framework import Framework, Standing, membership_year, score
from services.rules.tooling.frameworks import (
    criteria_of,
    lint_frameworks,
    load_frameworks,
    run_examples,
)
from services.shared.contracts import Severity
from tests.support import ROOT

RULES = ROOT / "rules"
RULEBOOK = load_rulebook(RULES)
EXAMPLES = run_examples(RULES, RULEBOOK)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.note for e in EXAMPLES])
def test_every_worked_example_scores_as_computed_by_hand(example):
    assert example.passed, example.problem


def test_the_textile_framework_scores_every_rule_in_scope_but_the_submission_checks():
    framework = load_frameworks(RULES)["textile"]
    criteria = criteria_of(RULEBOOK, "textile")
    unscored = sorted(r for r in criteria if framework.topic_of(r) is None)
    assert unscored and all(r.startswith("PROC-") for r in unscored)
    assert framework.topic_of("DD3-PRIORITY-RISK-HAS-ACTION") == "goals_actions"
    assert framework.topic_of("DD2-STAKEHOLDERS-CONSULTED") == "stakeholders"  # first match
    goals = next(t for t in framework.topics if t.id == "goals_actions")
    assert goals.weight / sum(t.weight for t in framework.topics) == 0.4  # reference.md 3.1.4


def copy_with(tmp_path: Path, change) -> tuple[Path, str]:
    """A rules folder whose textile framework is changed by `change(document)`."""
    folder = tmp_path / "rules"
    (folder / "covenants" / "textile").mkdir(parents=True)
    document = yaml.safe_load((RULES / "covenants" / "textile" / "framework.yaml").read_text())
    change(document)
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    (folder / "covenants" / "textile" / "framework.yaml").write_text(text)
    return folder, text


@pytest.mark.parametrize(("change", "message", "where"), [
    (lambda d: d["topics"][1].update(rules=["DD1-POLICY-EXISTS"]),
     "DD1-BOARD-OVERSIGHT: in no topic and not listed as unscored", "- id: stakeholders"),
    (lambda d: d["topics"][0]["rules"].append("DD9-*"),
     "'DD9-*' matches no rule in scope of textile", "DD9-*"),
    (lambda d: d["categories"][-1].update(min_score={1: 5}),
     "the last category ('not_yet') must take every plan", "- id: not_yet"),
    (lambda d: d.update(secretariat_topic="remedy"),
     "secretariat_topic 'remedy' is not a topic", "secretariat_topic:"),
    (lambda d: d.update(covenant="cosmetics"), "unknown covenant 'cosmetics'", "covenant:"),
    (lambda d: d["points"].pop("info"), "points needs a value for every severity",
     "critical: 8"),
    (lambda d: d["topics"][0]["name"].pop("en"), "topics/0/name/en: Field required",
     "nl: Betrokkenheid"),
])
def test_lint_refuses_a_framework_that_cannot_be_used_with_file_and_line(
        tmp_path, change, message, where):
    folder, text = copy_with(tmp_path, change)
    errors = lint_frameworks(folder, RULEBOOK)
    found = [e for e in errors if message in e.message]
    assert found, [str(e) for e in errors]
    line = next(i for i, t in enumerate(text.splitlines(), 1) if where in t)
    assert found[0].file.name == "framework.yaml" and found[0].line == line, str(found[0])


def test_the_bundled_frameworks_pass_lint():
    assert lint_frameworks(RULES, RULEBOOK) == []


def test_a_wrong_worked_example_fails_saying_what_differs(tmp_path):
    folder = tmp_path / "rules"
    own = folder / "covenants" / "textile"
    shutil.copytree(RULES / "covenants" / "textile", own)
    (own / "framework.tests.yaml").write_text(yaml.safe_dump({"cases": [{
        "note": "wrong", "membership_year": 1, "criteria": {"DD1-X": "high"},
        "findings": [{"rule": "DD1-X", "severity": "high"}],
        "expect": {"score": 100, "category": "meets_requirements"}}]}))
    [outcome] = run_examples(folder, RULEBOOK)
    # policy 0, the other topics without criteria 100: (1000 + 0 + 2500 + 4000 + 1000) / 100
    assert outcome.problem == "score: expected 100.0, got 85.0"


def test_the_year_of_membership_counts_from_the_year_of_joining():
    assert [membership_year(y, 2017) for y in (2016, 2017, 2018, 2019)] == [1, 1, 2, 3]


def test_a_dismissed_finding_raises_the_score_and_a_confirmed_critical_blocks():
    framework = Framework.model_validate(
        yaml.safe_load((RULES / "covenants" / "textile" / "framework.yaml").read_text()))
    criteria = criteria_of(RULEBOOK, "textile")
    found = [Standing("DD3-PRIORITY-RISK-HAS-ACTION", Severity.CRITICAL),
             Standing("DD1-POLICY-PUBLIC", Severity.HIGH)]
    automatic = score(framework, criteria, found, 3)
    reviewed = score(framework, criteria, found[1:], 3)  # the critical one dismissed
    assert automatic.category != "meets_requirements" and Severity.CRITICAL in automatic.blocked
    assert reviewed.score > automatic.score and reviewed.category == "meets_requirements"
