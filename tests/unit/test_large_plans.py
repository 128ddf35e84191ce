"""Plans larger than one durable-rules state can hold (about 46,000 facts)."""

import copy
import re

import pytest

from bench.plans import bank_plan, textile_plan
from services.rules.adapters import durable_engine
from services.rules.adapters.durable_engine import DurableRulesEngine
from services.rules.adapters.rulefiles import load_rulebook
from services.rules.core.domain import RuleBook
from services.rules.core.language import RuleSpec
from services.rules.core.prior import Prior, StoredAssessment
from services.rules.core.vocabulary import SHARD_KEYS, parts_of
from services.rules.ports import EvaluationError
from services.rules.tooling.crosscheck import plain_findings
from services.shared.contracts import PlanSubmission, validate_plan
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


def one_state(monkeypatch) -> None:
    """No ruleset spread over states below the engine's limit (NEGATED_PARTS_PER_STATE)."""
    monkeypatch.setattr(durable_engine, "NEGATED_PARTS_PER_STATE", 10**9)


# the facts of the spread parts held as made, or parked (durable_engine.PARK_FACTS_AT)
PARKED = pytest.mark.parametrize("park_at", [None, 1_000], ids=["held", "parked"])


def parking(monkeypatch, park_at: int | None) -> None:
    if park_at is not None:
        monkeypatch.setattr(durable_engine, "PARK_FACTS_AT", park_at)


@PARKED
def test_splitting_a_plan_over_several_states_gives_the_same_findings(rulebook, monkeypatch,
                                                                       park_at):
    plan = flawed_bank(3_000, clients=100)
    with monkeypatch.context() as whole_plan:
        one_state(whole_plan)
        whole = DurableRulesEngine(rulebook).evaluate(plan)
    monkeypatch.setattr(durable_engine, "MAX_FACTS_PER_RULESET", 2_000)
    parking(monkeypatch, park_at)
    split = DurableRulesEngine(rulebook).evaluate(plan)
    assert keys(split) == keys(whole)
    assert sum(f.rule_id == "DD1-CLIENT-RBC-CLAUSES" for f in split) == \
        without_clauses_in_a_chain(plan, rulebook) > 0
    assert sum(f.rule_id == "DD2-VALUE-CHAIN-EXPOSURE-ASSESSED" for f in split) == 75


def spread(shared: int, financings: int, links: int = 0, limit: int = 100) -> list[list[dict]]:
    """A bank's facts over states of `limit`: `shared` clients (every state needs them), the
    financings, and `links` country links per financing (they go with their financing)."""
    facts = [{"kind": "client", "client_ref": f"C-{i}"} for i in range(shared)]
    for i in range(financings):
        facts.append({"kind": "financing", "financing_id": f"F-{i}"})
        facts += [{"kind": "financing_country", "financing_id": f"F-{i}", "country": c}
                  for c in ("NL", "ID", "BR", "IN")[:links]]
    with parts_of("banking"):
        return durable_engine.shards(facts, limit, True, "banking-0")


@pytest.mark.parametrize("shared, financings, links",
                         [(20, 1_000, 0), (20, 960, 0), (7, 500, 3), (99, 3, 0)])
def test_a_plan_is_spread_over_as_few_states_as_hold_it(shared, financings, links):
    """Each state holds every shared fact and at most the limit; each financing is in one
    state with its links; the states are as few as the facts need."""
    states = spread(shared, financings, links)
    assert all(len(state) <= 100 for state in states)
    clients = [[f for f in state if f["kind"] == "client"] for state in states]
    assert all(len(c) == shared for c in clients)
    where: dict[str, set[int]] = {}
    for n, state in enumerate(states):
        for fact in state:
            if fact["kind"] != "client":
                where.setdefault(fact["financing_id"], set()).add(n)
    assert len(where) == financings and all(len(n) == 1 for n in where.values())
    assert len(states) == -(-financings * (1 + links) // ((100 - shared) // (1 + links)
                                                          * (1 + links)))


@pytest.mark.parametrize("shared", [100, 101])
def test_a_plan_whose_shared_facts_fill_a_state_is_refused_with_the_numbers(shared):
    with pytest.raises(EvaluationError, match=f"the plan gives banking-0 {shared} facts that "
                       "every state needs, which leaves no room in the engine's 100 per state"):
        spread(shared, 10)


def test_the_refusal_of_a_plan_whose_shared_facts_fill_a_state_names_its_ruleset(
        rulebook, monkeypatch):
    """Through the engine, both in a ruleset spread over smaller states (it negates
    financings) and in one spread only at the engine's limit: here 100 facts a state, and 150
    clients with their links that every state needs."""
    monkeypatch.setattr(durable_engine, "MAX_FACTS_PER_RULESET", 100)
    monkeypatch.setattr(durable_engine, "NEGATED_PARTS_PER_STATE", 50)
    engine = DurableRulesEngine(rulebook)
    plan = flawed_bank(200, clients=150)
    refused = set()
    with parts_of("banking"):
        facts = engine.facts(plan)
        for ruleset in engine._rulesets["banking"]:
            try:
                engine.assertion_batches(ruleset, facts)
            except EvaluationError as e:
                assert re.match(rf"the plan gives {ruleset.name} [\d,]+ facts that every state "
                                "needs, which leaves no room in the engine's 100 per state", str(e))
                refused.add(engine._negates_parts[ruleset.name])
    assert refused == {True, False}


def test_a_plan_at_ingests_bound_is_assessed_with_its_previous_plan(rulebook):
    """What ingest accepts the rules can assess (facts.MAX_SHARED_FACTS): a bank's 3,700
    clients with their engagements and links in every state, beside last year's plan, its
    reference data and measures, and its financings spread over states of the engine's own
    size."""
    from services.rules.core.facts import MAX_SHARED_FACTS, shared_facts

    plan = bank_plan(3_000, clients=3_700)
    assert MAX_SHARED_FACTS - 200 < shared_facts(plan) <= MAX_SHARED_FACTS
    stored = StoredAssessment("previous", 2018, "2019-01-31T12:00:00Z", plan.to_json_dict(), [])
    findings = DurableRulesEngine(rulebook).evaluate(
        plan, Prior(previous=stored, accepted_before=1, known=True))
    assert findings


def test_a_ruleset_that_joins_and_negates_financings_from_elsewhere_refuses_to_split(
        rulebook, monkeypatch):
    """The bank's section with a financing and without a financing in some country: which
    state holds which differs, so no state can tell."""
    base = rulebook.by_id()["DD5-BANK-PORTFOLIO-BREAKDOWN"]
    some = base.match.without[0].model_copy(update={"part": "financing", "where": []})
    country = some.model_copy(update={"part": "financing_country"})
    when = base.match.model_copy(update={"with_": [some], "without": [country]})
    rule: RuleSpec = base.model_copy(update={"id": "TEST-SOME-AND-NO-FINANCING", "when": when})
    engine = DurableRulesEngine(RuleBook((rule,), "rs-test", rulebook.reference))
    plan = bank_plan(3_000, clients=100)
    with parts_of("banking"):
        [ruleset] = engine._rulesets["banking"]
        needed = sum(f["kind"] in ruleset.order for f in engine.facts(plan))
    monkeypatch.setattr(durable_engine, "MAX_FACTS_PER_RULESET", needed - 1)
    with pytest.raises(EvaluationError, match=rf"the plan gives {ruleset.name} {needed:,} facts, "
                       rf"more than the engine's {needed - 1:,} per state, and its rules cannot "
                       "read them spread over several states"):
        engine.evaluate(plan)
    # as many facts as a state holds: one state, no refusal
    monkeypatch.setattr(durable_engine, "MAX_FACTS_PER_RULESET", needed)
    assert [f.rule_id for f in engine.evaluate(plan)] == []


def test_how_each_rule_reads_when_a_plan_is_spread_over_states(rulebook):
    from services.rules.adapters.durable_engine import locality
    from services.rules.core.vocabulary import parts_of

    rules = rulebook.by_id()
    with parts_of("textile"):
        assert locality(rules["DD2-HIGH-RISK-LOCATIONS-ASSESSED"], 0) == "local"
        assert locality(rules["XY-HIGH-RISK-EXITS-EXPLAINED"], 0) == "local"  # joined by id
        assert locality(rules["DD1-POLICY-EXPECTATIONS-OF-PARTNERS"], 1) == "any"
        assert locality(rules["DD5-LOCATIONS-SUBMITTED"], 0) == "every"
        assert locality(rules["DD2-WET-PROCESSING-MAPPED"], 0) == "every"
        exits = rules["XY-HIGH-RISK-EXITS-EXPLAINED"]
        off_key = exits.matches[0].without[0].model_copy(update={"join": {"name": "name"}})
        changed = exits.model_copy(update={"when": [exits.matches[0].model_copy(
            update={"without": [off_key]})]})
        assert locality(changed, 0) is None  # last year's location and this year's by name
    with parts_of("banking"):
        assert locality(rules["DD2-VALUE-CHAIN-EXPOSURE-ASSESSED"], 0) == "local"
        assert locality(rules["DD5-BANK-PORTFOLIO-BREAKDOWN"], 0) == "any"  # no financings


def test_parts_joined_to_each_other_on_their_key_read_as_one_part(rulebook):
    """A chain of joins reads spread when each shardable part is joined on its key to the
    subject's or to a part joined before it; one joined off the key cannot be read spread."""
    from services.rules.adapters.durable_engine import locality
    from services.rules.core.language import Join, Match
    from services.rules.core.vocabulary import parts_of

    rule = rulebook.by_id()["DD2-HIGH-RISK-LOCATIONS-ASSESSED"]

    def reads(subject: str, *joins: tuple[str, str, dict[str, str]]) -> str | None:
        match = Match(part=subject, with_=[Join(part=part, as_=alias, join=on)
                                           for part, alias, on in joins])
        return locality(rule.model_copy(update={"when": [match]}), 0)

    with parts_of("textile"):
        # a location, its products, and the risks naming the location its products name
        assert reads("location", ("location_product", "lp", {"location_id": "location_id"}),
                     ("risk_location", "rl", {"location_id": "lp.location_id"})) == "local"
        assert reads("location", ("location_product", "lp", {"location_id": "location_id"}),
                     ("risk_location", "rl", {"location_id": "lp.name"})) is None
        # the policy (in every state), any location and that location's products
        assert reads("policy", ("location", "loc", {}),
                     ("location_product", "lp", {"location_id": "loc.location_id"})) == "any"
        assert reads("policy", ("location", "loc", {}),
                     ("location_product", "lp", {"location_id": "loc.name"})) is None
        assert reads("policy", ("location", "loc", {}), ("location_product", "lp", {})) is None


def flawed_textile(locations: int, wet: list[int], named: int = 3
                   ) -> tuple[PlanSubmission, Prior]:
    """Scoping leaves out Bangladesh (a tenth of the locations), only the locations `wet`
    dye or finish, last year's plan had five more locations in Bangladesh, and the first
    risk names every `named`-th location (the others in high-risk countries are then
    uncovered)."""
    document = textile_plan(locations).to_json_dict()
    listed = document["textile"]["production_locations"]
    for i, location in enumerate(listed):
        location["processing_steps"] = ["dyeing"] if i in wet else ["cut_make_trim"]
    document["risk_assessment"]["risks"][0]["location_ids"] = [
        location["location_id"] for location in listed[::named]]
    scoping = document["risk_assessment"]["scoping"]
    scoping["countries"] = [c for c in scoping["countries"] if c != "BD"]
    previous = copy.deepcopy(document)
    previous["textile"]["production_locations"] += [
        dict(listed[3], location_id=f"GONE-{i}", country="BD") for i in range(5)]
    stored = StoredAssessment("previous", 2018, "2019-01-31T12:00:00Z", previous, [])
    return validate_plan(document), Prior(previous=stored, accepted_before=1, known=True)


@PARKED
@pytest.mark.parametrize("wet", [[1117], []], ids=["one-wet-location", "none-wet"])
def test_a_textile_plan_spread_over_states_reads_as_one(rulebook, monkeypatch, wet, park_at):
    """1,200 locations and last year's 1,205 over four states of 1,000 facts: the same
    findings as in one state and as the plain reading. That no location dyes holds in every
    state or not at all (DD2-WET-PROCESSING-MAPPED); a location that left is found in the
    state its id is in (XY-HIGH-RISK-EXITS-EXPLAINED)."""
    plan, prior = flawed_textile(1_200, wet)
    with monkeypatch.context() as whole_plan:
        one_state(whole_plan)
        whole = DurableRulesEngine(rulebook).evaluate(plan, prior)
    monkeypatch.setattr(durable_engine, "MAX_FACTS_PER_RULESET", 1_000)
    parking(monkeypatch, park_at)
    engine = DurableRulesEngine(rulebook)
    with parts_of("textile"):
        facts = engine.facts(plan, prior)
        assert all(len(engine.assertion_batches(ruleset, facts)) > 1
                   for ruleset in engine._rulesets["textile"] if not ruleset.late)
        # a risk's 400 locations go each with its location, not into every state
        named = sum(f["kind"] == "risk_location" for f in facts)
        spread = [sum(f["kind"] == "risk_location" for batch in batches for f in batch)
                  for batches in (engine.assertion_batches(ruleset, facts)
                                  for ruleset in engine._rulesets["textile"])]
        assert named == 400 and set(spread) == {0, named}
    split = engine.evaluate(plan, prior)
    assert keys(split) == keys(whole) == keys(plain_findings(engine, plan, prior))
    rules = [f.rule_id for f in split]
    assert rules.count("DD2-SCOPING-COVERS-SOURCING-COUNTRIES") == 120
    assert rules.count("XY-HIGH-RISK-EXITS-EXPLAINED") == 5
    assert rules.count("DD2-WET-PROCESSING-MAPPED") == (0 if wet else 1)


def test_a_ruleset_that_negates_parts_is_spread_over_smaller_states(rulebook, monkeypatch):
    """The engine's negations cost the square of a state's parts: a textile plan of 3,000
    locations goes over states of at most 2,500 facts of parts in the rulesets that negate
    locations, with the same findings as in one state and as the plain reading; a bank, whose
    every state repeats thousands of clients, is not spread over more states for it."""
    plan, prior = flawed_textile(3_000, wet=[2_345])
    engine = DurableRulesEngine(rulebook)
    with parts_of("textile"):
        facts = engine.facts(plan, prior)
        for ruleset in engine._rulesets["textile"]:
            batches = engine.assertion_batches(ruleset, facts)
            parts = [sum(f["kind"] in SHARD_KEYS for f in batch) for batch in batches]
            if engine._negates_parts[ruleset.name]:
                assert len(batches) > 1 and max(parts) <= durable_engine.NEGATED_PARTS_PER_STATE
            else:
                assert len(batches) == 1
    assert any(engine._negates_parts[rs.name] for rs in engine._rulesets["textile"])
    spread = engine.evaluate(plan, prior)
    with monkeypatch.context() as whole_plan:
        one_state(whole_plan)
        whole = DurableRulesEngine(rulebook).evaluate(plan, prior)
    assert keys(spread) == keys(whole) == keys(plain_findings(engine, plan, prior))
    assert [f.rule_id for f in spread].count("DD2-WET-PROCESSING-MAPPED") == 0

    # a bank's 4,000 clients (with their links) in every state: spread only as the engine's
    # limit requires, as if no rule negated financings
    bank = DurableRulesEngine(rulebook)
    plan = bank_plan(20_000, clients=2_000)
    with parts_of("banking"):
        facts = bank.facts(plan)
        states = [len(bank.assertion_batches(ruleset, facts))
                  for ruleset in bank._rulesets["banking"]]
        monkeypatch.setattr(durable_engine, "NEGATED_PARTS_PER_STATE", 10**9)
        assert states == [len(bank.assertion_batches(ruleset, facts))
                          for ruleset in bank._rulesets["banking"]]
        assert max(states) > 1 and bank._negates_parts["banking-0"]


def test_a_ruleset_that_negates_no_parts_is_spread_only_past_the_engines_limit(rulebook):
    """Only the rulesets that negate a plan's parts go over smaller states: in a bank of 3,000
    financings, a ruleset that reads more facts than NEGATED_PARTS_PER_STATE and negates none
    stays in one state, below the engine's limit; one that negates financings is spread."""
    engine = DurableRulesEngine(rulebook)
    plan = flawed_bank(3_000, clients=100)
    with parts_of("banking"):
        facts = engine.facts(plan)
        rulesets = engine._rulesets["banking"]
        batches = {rs.name: engine.assertion_batches(rs, facts) for rs in rulesets}
    plain = [name for name, states in batches.items() if engine._splittable[name]
             and not engine._negates_parts[name]
             and len(states[0]) > durable_engine.NEGATED_PARTS_PER_STATE]
    assert plain, "no ruleset reads enough facts to tell"
    assert all(len(batches[name]) == 1 for name in plain)
    assert any(len(states) > 1 for name, states in batches.items()
               if engine._negates_parts[name])


def test_a_bank_plan_with_50000_financings_is_evaluated(rulebook):
    plan = flawed_bank(50_000)
    findings = DurableRulesEngine(rulebook).evaluate(plan)
    assert sum(f.rule_id == "DD1-CLIENT-RBC-CLAUSES" for f in findings) == \
        without_clauses_in_a_chain(plan, rulebook) > 0


def test_a_textile_plan_with_25000_locations_is_evaluated(rulebook):
    """Its risk names all 25,000 locations: each link goes with its location (were they in
    every state, no state could hold them)."""
    plan, prior = flawed_textile(25_000, wet=[], named=1)
    rules = [f.rule_id for f in DurableRulesEngine(rulebook).evaluate(plan, prior)]
    assert rules.count("DD2-SCOPING-COVERS-SOURCING-COUNTRIES") == 2_500
    assert rules.count("XY-HIGH-RISK-EXITS-EXPLAINED") == 5
    assert rules.count("DD2-WET-PROCESSING-MAPPED") == 1


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
