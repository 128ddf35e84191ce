import shutil
from pathlib import Path

import pytest

from services.rules.domain import RuleBook, RuleSpec, facts_of
from services.rules.durable_engine import DurableRulesEngine
from services.rules.ports import EvaluationError
from services.rules.rulefiles import RuleFileError, load_rulebook
from services.shared.contracts import parse_plan
from tests.support import BANKING, ROOT, TEXTILE, example, variant

RULES = ROOT / "rules"


@pytest.fixture(scope="module")
def engine():
    return DurableRulesEngine(load_rulebook(RULES))


def found(engine, body: bytes) -> list[tuple[str, str]]:
    return [(f.rule_id, f.pointers[0]) for f in engine.evaluate(parse_plan(body))]


def test_textile_example_findings(engine):
    assert found(engine, example(TEXTILE)) == [
        ("DD3-PRIORITY-RISK-HAS-ACTION", "/risk_assessment/risks/2"),
    ]


def test_banking_example_findings_worst_first(engine):
    assert found(engine, example(BANKING)) == [
        ("DD3-PRIORITY-RISK-HAS-ACTION", "/risk_assessment/risks/1"),
        ("DD1-ACCOUNTABLE-ROLE-RESOURCED", "/governance"),
        ("DD1-POLICY-SENIOR-APPROVAL", "/policy"),
        ("DD6-GM-AVAILABLE", "/grievance/mechanism"),
    ]


def test_messages_are_rendered_in_both_languages_with_the_matched_values(engine):
    [finding] = engine.evaluate(parse_plan(example(TEXTILE)))
    assert "R-FOA-TR-01" in finding.message.nl and "R-FOA-TR-01" in finding.message.en
    assert [str(r) for r in finding.references][:2] == ["DDG 3.1", "DDG 3.2"]


def test_an_absent_part_is_found_by_an_absence_rule(engine):
    body = variant(TEXTILE, lambda d: [loc.update(active=False)
                                       for loc in d["textile"]["production_locations"]])
    assert ("DD5-LOCATIONS-SUBMITTED", "/textile") in found(engine, body)


def test_not_equal_also_matches_a_missing_field(engine):
    body = variant(BANKING, lambda d: d["governance"].pop("accountable_role"))
    assert ("DD1-ACCOUNTABLE-ROLE-RESOURCED", "/governance") in found(engine, body)


def test_a_textile_only_rule_never_fires_on_a_bank(engine):
    assert all(rule != "DD5-LOCATIONS-SUBMITTED" for rule, _ in found(engine, example(BANKING)))


def test_negated_facts_asserted_after_the_positive_fact_would_give_a_false_finding(engine):
    """The engine decides negation when the positive fact arrives; facts_of must put the
    negated kinds first. This pins the engine behaviour the ordering exists for."""
    plan = parse_plan(example(TEXTILE))
    ordered = facts_of(plan, frozenset({"action_risk"}))
    kinds = [f["kind"] == "action_risk" for f in ordered]
    assert kinds == sorted(kinds, reverse=True) and any(kinds)  # every link before the rest

    rulebook = load_rulebook(RULES)
    reversed_engine = DurableRulesEngine(rulebook)
    reversed_engine._negated = {c: frozenset() for c in reversed_engine._negated}
    naive = [f.pointers[0] for f in reversed_engine.evaluate(plan)]
    assert "/risk_assessment/risks/0" in naive  # R-CL-IN-01 has an action, yet it fired


def test_an_id_listed_twice_does_not_make_the_engine_refuse_the_plan(engine):
    # identical facts raise MessageObservedException in durable-rules
    body = variant(TEXTILE, lambda d: d["actions"][0].update(risk_ids=["R-CL-IN-01"] * 2))
    assert found(engine, body) == found(engine, example(TEXTILE))


def test_evaluations_free_their_engine_state(engine):
    # durable-rules keeps at most 1,024 live states per ruleset; 1,100 evaluations must pass
    plan = parse_plan(example(BANKING))
    for _ in range(1_100):
        engine.evaluate(plan)


def test_plan_fields_named_like_engine_identity_fields_never_reach_the_engine():
    from services.rules.domain import _fact

    fact = _fact("x", ("a",), {"id": 1, "sid": 2, "name": "n"})
    assert {"id", "sid"} & fact.keys() == set()
    assert (fact["id_"], fact["sid_"]) == (1, 2)


def _rule(**changes) -> RuleSpec:
    base = load_rulebook(RULES).by_id()["DD6-GM-AVAILABLE"]
    return base.model_copy(update=changes)


def test_an_error_inside_a_rule_action_is_surfaced_not_swallowed():
    broken = _rule(message=_rule().message.model_copy(update={"en": "{exists:%Q}"}))
    engine = DurableRulesEngine(RuleBook((broken,), "rs-test"))
    with pytest.raises(EvaluationError, match="rule action failed"):
        engine.evaluate(parse_plan(example(BANKING)))
    # and the state of the failed evaluation was freed: the next one works
    with pytest.raises(EvaluationError):
        engine.evaluate(parse_plan(example(BANKING)))


def test_the_ruleset_version_changes_with_the_content_of_the_rules(tmp_path):
    copy = tmp_path / "rules"
    shutil.copytree(RULES, copy)
    before = load_rulebook(copy).version
    path = next(copy.glob("*.yaml"))
    path.write_text(path.read_text().replace("version: 1", "version: 2", 1))
    assert load_rulebook(copy).version != before
    assert load_rulebook(RULES).version == before


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("rules: [", "not valid YAML"),
        ("rules:\n  - id: lower-case\n", "rules/0/id"),
        ("!!python/object:os.system {}\n", "not valid YAML"),
    ],
)
def test_a_broken_rule_file_is_refused_with_its_name(tmp_path, content, complaint):
    (tmp_path / "broken.yaml").write_text(content)
    with pytest.raises(RuleFileError, match=complaint) as caught:
        load_rulebook(tmp_path)
    assert "broken.yaml" in str(caught.value)


def test_an_unknown_plan_part_and_duplicate_ids_are_refused(tmp_path):
    text = (RULES / "dd3-dd6-response.yaml").read_text()
    (tmp_path / "a.yaml").write_text(text.replace("part: mechanism", "part: mechanisms"))
    with pytest.raises(RuleFileError, match="unknown plan part"):
        load_rulebook(tmp_path)
    (tmp_path / "a.yaml").write_text(text)
    (tmp_path / "b.yaml").write_text(text)
    with pytest.raises(RuleFileError, match="defined twice"):
        load_rulebook(tmp_path)


def test_an_empty_rules_folder_is_an_error(tmp_path: Path):
    with pytest.raises(RuleFileError, match="no rule files"):
        load_rulebook(tmp_path)
