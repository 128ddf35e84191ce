"""Plans larger than one durable-rules state can hold (about 46,000 facts)."""

import pytest

from bench.plans import bank_plan, textile_plan
from services.rules.adapters import durable_engine
from services.rules.adapters.durable_engine import DurableRulesEngine
from services.rules.adapters.rulefiles import load_rulebook
from services.rules.core.domain import RuleBook
from services.rules.core.language import RuleSpec
from services.rules.ports import EvaluationError
from tests.support import ROOT


@pytest.fixture(scope="module")
def rulebook():
    return load_rulebook(ROOT / "rules")


def flawed_bank(financings: int, clients: int = 2_000):
    """Every 100th financing lacks RBC clauses; every 40th (cocoa) names no value chain."""
    plan = bank_plan(financings, clients)
    for i, f in enumerate(plan.section("banking")["financings"]):
        if i % 100 == 0:
            f["rbc_clauses"] = False
        if i % 40 == 1:
            f["value_chains"] = []
    return plan


def keys(findings):
    return sorted((f.rule_id, tuple(f.pointers)) for f in findings)


def without_clauses_in_a_chain(plan, rulebook) -> int:
    """What DD1-CLIENT-RBC-CLAUSES must find: high-risk financings without clauses that started
    on or after the policy's approval."""
    facts = [{"kind": "financing", **f} for f in plan.section("banking")["financings"]]
    rulebook.reference.annotate(facts)
    approved = plan.policy.approved_on.isoformat()
    return sum(f["high_risk"] and not f["rbc_clauses"] and f["start_on"] >= approved
               for f in facts)


def test_splitting_a_plan_over_several_states_gives_the_same_findings(rulebook, monkeypatch):
    plan = flawed_bank(3_000, clients=100)
    whole = DurableRulesEngine(rulebook).evaluate(plan)
    monkeypatch.setattr(durable_engine, "MAX_FACTS_PER_RULESET", 2_000)
    split = DurableRulesEngine(rulebook).evaluate(plan)
    assert keys(split) == keys(whole)
    assert sum(f.rule_id == "DD1-CLIENT-RBC-CLAUSES" for f in split) == \
        without_clauses_in_a_chain(plan, rulebook) > 0
    assert sum(f.rule_id == "DD2-VALUE-CHAIN-EXPOSURE-ASSESSED" for f in split) == 75


def test_a_ruleset_that_negates_financings_from_elsewhere_refuses_to_split(rulebook, monkeypatch):
    base = rulebook.by_id()["DD5-BANK-PORTFOLIO-BREAKDOWN"]
    when = base.match.model_copy(update={"without": [
        base.match.without[0].model_copy(update={"part": "financing", "where": []})]})
    rule: RuleSpec = base.model_copy(update={"id": "TEST-NO-FINANCING", "when": when})
    engine = DurableRulesEngine(RuleBook((rule,), "rs-test", rulebook.reference))
    monkeypatch.setattr(durable_engine, "MAX_FACTS_PER_RULESET", 2_000)
    with pytest.raises(EvaluationError, match="cannot be split"):
        engine.evaluate(bank_plan(3_000, clients=100))


def test_a_bank_plan_with_50000_financings_is_evaluated(rulebook):
    plan = flawed_bank(50_000)
    findings = DurableRulesEngine(rulebook).evaluate(plan)
    assert sum(f.rule_id == "DD1-CLIENT-RBC-CLAUSES" for f in findings) == \
        without_clauses_in_a_chain(plan, rulebook) > 0


def test_a_textile_plan_with_5000_locations_stays_within_one_state(rulebook, monkeypatch):
    plan = textile_plan(5_000)
    engine = DurableRulesEngine(rulebook)
    assert engine.evaluate(plan) == []  # the grown fixture is compliant at any size
    facts = engine.facts(plan)
    assert len(facts) < durable_engine.MAX_FACTS_PER_RULESET


def test_the_bare_engine_fails_when_one_fact_meets_more_than_64_distinct_conditions():
    """Pins durable-rules' alpha stack of 64 (error 303) that the compiler's chunking avoids."""
    import durable.engine as bare

    host = bare.Host()
    host.set_rulesets({"t": {f"r{i}": {"all": [{"m": {"$and": [
        {"kind": "governance"}, {"$lt": {"dd_fte": i + 1}}]}}], "run": lambda c: None}
        for i in range(70)}})
    with pytest.raises(Exception, match="303"):
        host.assert_fact("t", {"kind": "governance", "dd_fte": 0, "sid": "s"})


def test_seventy_rules_on_one_part_are_split_below_the_alpha_stack_limit(rulebook):
    from services.rules.core.language import Condition

    base = rulebook.by_id()["DD1-BOARD-OVERSIGHT"]
    rules = tuple(
        base.model_copy(update={"id": f"TEST-ALPHA-{i}", "when": base.match.model_copy(update={
            "where": [Condition(field="dd_fte", op="<", value=i + 1)]})})
        for i in range(70))
    engine = DurableRulesEngine(RuleBook(rules, "rs-test", rulebook.reference))
    findings = engine.evaluate(bank_plan(10, clients=5).model_copy(update={
        "governance": bank_plan(10, clients=5).governance.model_copy(update={"dd_fte": 0})}))
    assert len(findings) == 70


def test_a_textile_plan_at_the_ingest_limit_is_assessed_and_one_beyond_is_refused(rulebook):
    """Accepted means assessed: the contract's limit on locations and their product types
    (each a fact in every textile ruleset) keeps a plan within what one engine state holds."""
    from services.shared import covenants, i18n
    from services.shared.contracts import PlanInvalid

    locations = covenants.current()["textile"].schema["properties"]["production_locations"]
    MAX_LOCATION_ITEMS = locations["x-assessable-items"]["max"]
    assert MAX_LOCATION_ITEMS < durable_engine.MAX_FACTS_PER_RULESET
    largest = textile_plan(MAX_LOCATION_ITEMS // 2)  # one product type each
    assert len(largest.section("textile")["production_locations"]) * 2 == MAX_LOCATION_ITEMS
    DurableRulesEngine(rulebook).evaluate(largest)  # no EvaluationError
    with pytest.raises(PlanInvalid) as refused:
        textile_plan(MAX_LOCATION_ITEMS // 2 + 1)
    [error] = refused.value.errors
    assert error.pointer == "/textile/production_locations"
    assert "18002 items; the assessment takes at most 18000" in error.message
    assert error.code == "too_many_items" and error.context["max_items"] == 18_000
    assert "9.001 onderdelen met hun lijsten maken 18.002 items; de toetsing neemt er " \
        "voorlopig ten hoogste 18.000" in i18n.error_text(error, "nl")
