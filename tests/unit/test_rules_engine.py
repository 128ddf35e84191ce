"""The durable-rules adapter and the engine's sharp edges it owns."""

import contextlib
import dataclasses
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from services.rules.adapters import durable_engine
from services.rules.adapters.durable_engine import DurableRulesEngine
from services.rules.adapters.rulefiles import RuleFileError, load_rulebook
from services.rules.core import compiler
from services.rules.core.domain import RuleBook
from services.rules.core.facts import _pruned, make_fact
from services.rules.core.vocabulary import parts_of
from services.rules.ports import EvaluationError
from services.shared.contracts import Finding, parse_plan
from tests.support import BANKING, EXAMPLES, ROOT, TEXTILE, example, variant

RULES = ROOT / "rules"


@pytest.fixture(scope="module")
def rulebook():
    return load_rulebook(RULES)


@pytest.fixture(scope="module")
def engine(rulebook):
    return DurableRulesEngine(rulebook)


def found(engine, body: bytes) -> list[tuple[str, str]]:
    return [(f.rule_id, f.pointers[0]) for f in engine.evaluate(parse_plan(body))]


def assert_worst_first(findings):
    ranks = [f.severity.rank for f in findings]
    assert ranks == sorted(ranks)


@pytest.mark.parametrize("name, expected, worst, absent", [
    (TEXTILE, {("DD3-PRIORITY-RISK-HAS-ACTION", "/risk_assessment/risks/2"),
               ("DD2-CHILD-LABOUR-FLAG-ADDRESSED",
                "/textile/production_locations/3/product_types/0"),
               ("DD3-ACTION-OWNER-DEADLINE", "/actions/2"),
               ("DD4-OVERDUE-ACTIONS", "/actions/1")},
     "DD3-PRIORITY-RISK-HAS-ACTION", None),  # the only critical one
    (BANKING, {("DD2-CLIENT-DD-BEFORE-FINANCING", "/banking/financings/1"),
               ("DD1-POLICY-SENIOR-APPROVAL", "/policy"),
               ("DD6-GM-AVAILABLE", "/grievance/mechanism")},
     None, "DD5-LOCATION"),  # location rules are textile only
])
def test_an_examples_findings_come_worst_first(engine, name, expected, worst, absent):
    findings = engine.evaluate(parse_plan(example(name)))
    assert_worst_first(findings)
    assert findings == sorted(findings, key=Finding.sort_key)  # then by rule and place
    assert expected <= {(f.rule_id, f.pointers[0]) for f in findings}
    assert worst is None or findings[0].rule_id == worst
    assert absent is None or not any(f.rule_id.startswith(absent) for f in findings)


def test_a_finding_names_the_joined_parts_and_renders_both_languages(engine):
    finding = next(f for f in engine.evaluate(parse_plan(example(BANKING)))
                   if f.rule_id == "DD2-CLIENT-DD-BEFORE-FINANCING")
    assert finding.pointers == ["/banking/financings/1", "/banking/clients/1"]
    assert "C-3b7e10" in finding.message.nl and "C-3b7e10" in finding.message.en
    assert finding.rule_version == 1 and str(finding.references[0]) == "DDG 2.2"


def test_nested_placeholders_and_parameters_are_rendered(engine):
    finding = next(f for f in engine.evaluate(parse_plan(example(TEXTILE)))
                   if f.rule_id == "DD5-LOCATION-VOLUME-COVERAGE")
    assert "96.5% of the tier-1 purchase volume; the norm is 100%" in finding.message.en


def test_each_rule_asserts_its_negated_parts_before_its_positive_parts(engine):
    """In the order each of the engine's rulesets actually asserts facts, for every covenant
    and every alternative of every rule it holds."""
    checked = 0
    for covenant, rulesets in engine._rulesets.items():
        by_id = {r.id: r for r in engine.rulebook.in_scope(covenant)}
        for ruleset in rulesets:
            order = ruleset.order
            for name in ruleset.rules:
                rule = by_id.get(compiler.engine_rule(name)[0])  # else the engine's own
                for when in rule.matches if rule else ():
                    for negated in (j.part for j in when.without):
                        for positive in (when.subject, *(j.part for j in when.with_)):
                            if negated in order and positive in order:
                                assert order.index(negated) < order.index(positive), name
                                checked += 1
    assert checked > 20  # the rules do have negated parts to order


def test_negated_facts_asserted_late_would_give_a_false_finding(rulebook):
    """The engine decides negation when the positive facts are complete. This pins the engine
    behaviour the assertion order exists for."""
    naive = DurableRulesEngine(rulebook)
    for covenant, rulesets in naive._rulesets.items():
        naive._rulesets[covenant] = [dataclasses.replace(
            rs, order=tuple(sorted(rs.order, key=lambda k: k == "action_risk"))) for rs in rulesets]
    pointers = [f.pointers[0] for f in naive.evaluate(parse_plan(example(TEXTILE)))
                if f.rule_id == "DD3-PRIORITY-RISK-HAS-ACTION"]
    assert "/risk_assessment/risks/0" in pointers  # R-CL-IN-01 has an action, yet it fired


def test_evaluations_free_their_engine_state(rulebook):
    # durable-rules keeps at most 1,024 live states per ruleset; 1,100 evaluations must pass.
    # A few banking rules and every rule of the second phase: a ruleset of each phase
    early = [r for r in rulebook.in_scope("banking") if not compiler.reads_outcomes(r)]
    late = [r for r in rulebook.rules if compiler.reads_outcomes(r)]
    rules = (*early[:3], *late)
    assert [r.late for r in compiler.compile_rulesets("banking", list(rules))] == [
        False, True]
    engine = DurableRulesEngine(dataclasses.replace(rulebook, rules=rules))
    plan = parse_plan(example(BANKING))
    first = engine.evaluate(plan)
    assert first  # the plan has findings of these rules: the evaluations do work
    for _ in range(1_100):
        assert engine.evaluate(plan) == first  # a leaked state would make one fail


def test_an_engine_leaves_no_thread_behind(rulebook):
    """durable's Host would start two timer chains that never end (a new thread per ruleset,
    many times a second, for as long as the process lives): a discarded engine, after a hot
    reload say, would keep burning CPU."""
    def hosts_with_timers() -> set[int]:  # other tests' raw hosts may run theirs meanwhile
        return {id(cell.cell_contents) for t in threading.enumerate()
                if isinstance(t, threading.Timer) and getattr(t.function, "__closure__", None)
                for cell in t.function.__closure__
                if isinstance(cell.cell_contents, durable_engine.engine.Host)}

    engines = [DurableRulesEngine(rulebook) for _ in range(3)]
    for engine in engines:
        assert engine.evaluate(parse_plan(example(TEXTILE)))
    # Host._run starts its chains' first timers at once, in the constructor: no wait needed
    assert not {id(e._host) for e in engines} & hosts_with_timers()
    assert not any(hasattr(e._host, "_d_timer") or hasattr(e._host, "_t_timer")
                   for e in engines)


def test_a_ruleset_that_handles_no_plan_fact_is_still_freed_safely(rulebook):
    # one rule that cannot fire on this plan: without the sentinel fact, freeing the state of
    # an evaluation in which no fact was handled kills the process (see the next test)
    only = RuleBook((rulebook.by_id()["DD6-GM-AVAILABLE"],), "rs-test", rulebook.reference)
    engine = DurableRulesEngine(only)
    plan = parse_plan(example(TEXTILE))
    for _ in range(1_100):
        assert engine.evaluate(plan) == []


def test_the_bare_engine_crashes_when_freeing_a_state_with_no_handled_fact():
    """Pins the pitfall the sentinel works around: if this stops crashing, the engine changed."""
    script = textwrap.dedent("""
        import durable.engine as de
        h = de.Host()
        h.set_rulesets({"t": {"r": {"all": [{"m": {"kind": "a"}}], "run": lambda c: None}}})
        try:
            h.assert_fact("t", {"kind": "b", "sid": "s"})
        except de.MessageNotHandledException:
            pass
        h.delete_state("t", "s")
        print("survived")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0 and "survived" not in result.stdout


def test_a_false_duplicate_from_the_engine_is_evaluated_again_under_a_new_sid(rulebook,
                                                                             monkeypatch):
    """The engine tells facts apart by a 32-bit hash only; a collision must not lose a plan."""
    engine = DurableRulesEngine(rulebook)
    plan = parse_plan(example(BANKING))
    expected = found(engine, example(BANKING))
    import durable_rules_engine

    real_assert, calls = durable_rules_engine.assert_fact, {"n": 0}

    def colliding_once(handle, text):
        calls["n"] += 1
        if calls["n"] == 5:
            return 2, 0  # the engine's "already observed"
        return real_assert(handle, text)

    monkeypatch.setattr(durable_rules_engine, "assert_fact", colliding_once)
    assert [(f.rule_id, f.pointers[0]) for f in engine.evaluate(plan)] == expected
    assert calls["n"] > 5


@pytest.mark.parametrize("code, retried", [(102, True), (106, False)])
def test_the_parsers_spurious_refusal_of_a_ruleset_is_tried_again_on_a_fresh_host(
        rulebook, monkeypatch, code, retried):
    """Error 102 (a string the engine's parser could not read) was seen once for rulesets it
    reads in every other run: a fresh host is tried, up to three times; any other refusal is
    the rule set's own and raised at once."""
    import durable_rules_engine

    hosts: list[object] = []
    real = durable_engine._Host.set_rulesets

    def refuses_first(self, definitions):
        hosts.append(self)
        if len(hosts) == 1:
            raise durable_rules_engine.error(f"Could not create ruleset, error code: {code}")
        return real(self, definitions)
    monkeypatch.setattr(durable_engine._Host, "set_rulesets", refuses_first)
    if not retried:
        with pytest.raises(durable_rules_engine.error, match=f"error code: {code}"):
            DurableRulesEngine(rulebook)
        assert len(hosts) == 1
        return
    engine = DurableRulesEngine(rulebook)
    assert len(hosts) == 2 and engine._host is hosts[1]
    assert found(engine, example(TEXTILE)) == found(DurableRulesEngine(rulebook), example(TEXTILE))


def test_the_parsers_refusal_three_times_in_a_row_is_raised(rulebook, monkeypatch):
    import durable_rules_engine

    tries: list[object] = []

    def refuses(self, definitions):
        tries.append(self)
        raise durable_rules_engine.error("Could not create ruleset, error code: 102")
    monkeypatch.setattr(durable_engine._Host, "set_rulesets", refuses)
    with pytest.raises(durable_rules_engine.error, match="error code: 102"):
        DurableRulesEngine(rulebook)
    assert len(tries) == len(set(map(id, tries))) == durable_engine.ATTEMPTS_ON_PARSE_ERROR == 3


def test_an_id_listed_twice_does_not_make_the_engine_refuse_the_plan(engine):
    # identical facts raise MessageObservedException in durable-rules
    body = variant(TEXTILE, lambda d: d["actions"][0].update(risk_ids=["R-CL-IN-01"] * 2))
    assert found(engine, body) == found(engine, example(TEXTILE))


def test_the_garbage_collector_is_paused_while_a_plan_is_evaluated(rulebook, monkeypatch):
    """Off during an evaluation, also one that fails; afterwards on again, or still off when
    it was off before."""
    import gc

    engine = DurableRulesEngine(rulebook, only={"textile"})
    seen: list[bool] = []
    evaluate = engine._evaluate

    def watched(plan, prior):
        seen.append(gc.isenabled())
        if plan.submission.submission_id == "fail":
            raise EvaluationError("failed")
        return evaluate(plan, prior)

    monkeypatch.setattr(engine, "_evaluate", watched)
    plan = parse_plan(example(TEXTILE))
    assert gc.isenabled()
    assert engine.evaluate(plan)
    assert gc.isenabled()
    with pytest.raises(EvaluationError):
        engine.evaluate(plan.model_copy(update={"submission": plan.submission.model_copy(
            update={"submission_id": "fail"})}))
    assert gc.isenabled()
    gc.disable()
    try:
        engine.evaluate(plan)
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert seen == [False, False, False]


def test_plan_fields_named_like_engine_identity_fields_never_reach_the_engine():
    fact = make_fact("x", ("a",), {"id": 1, "sid": 2, "name": "n"})
    assert {"id", "sid"} & fact.keys() == set()
    assert (fact["id_"], fact["sid_"]) == (1, 2)


def test_a_fact_leaves_out_empty_values_at_any_depth_and_its_nested_parts():
    """`missing` reads an empty text, list or object as absent, however deep; a list of
    objects is a part of its own; and a part with nothing to leave out is not copied."""
    part = {"name": "", "zero": 0, "no": False, "none": None, "tags": [], "ids": ["a"],
            "workers": [{"n": 1}], "monitoring": {"date": "", "by": {"who": ""}, "type": "x"},
            "empty": {}, "kept": {"a": [1], "b": {"c": 1}}}
    fact = make_fact("x", ("a",), part)
    assert {k: v for k, v in fact.items() if k not in ("kind", "pointer")} == {
        "zero": 0, "no": False, "none": None, "ids": ["a"], "monitoring": {"type": "x"},
        "kept": {"a": [1], "b": {"c": 1}}}
    whole = {"a": 1, "kept": {"a": [1], "b": {"c": 1}}, "people": [{"n": 1}]}
    assert _pruned(whole) is whole  # nested parts stay where parts are read whole
    assert _pruned(whole["kept"]) is whole["kept"]


def test_the_adapters_assertion_does_what_durables_own_does_less_the_exceptions():
    """`_Host.assert_one` against durable's `Host.assert_fact` on the same facts: the same
    actions run with the same matches; a fact no rule takes is NOT_TAKEN (durable raises),
    a repeated fact is a false duplicate (durable raises MessageObservedException)."""
    import durable.engine as de

    def recorded(label: str):  # an action takes one argument (two: durable's async form)
        return lambda c: seen.append((label, c.a.x, c.b.n))

    def hosts() -> tuple[de.Host, durable_engine._Host]:
        made = []
        for host in (de.Host(), durable_engine._Host()):
            host.set_rulesets({"t": {
                "pair": {"all": [{"a": {"kind": "a"}}, {"b": {"$and": [
                    {"kind": "b"}, {"x": {"a": "x"}}]}}],
                    "run": recorded(type(host).__name__)},
                "sentinel": {"all": [{"m": {"kind": "s"}}], "run": lambda c: None}}})
            made.append(host)
        return made[0], made[1]

    seen: list = []
    plain, ours = hosts()
    facts = [{"kind": "s", "sid": "1"}, {"kind": "a", "x": 1, "sid": "1"},
             {"kind": "c", "sid": "1"}, {"kind": "b", "x": 1, "n": 7, "sid": "1"},
             {"kind": "b", "x": 2, "n": 8, "sid": "1"}]
    results = []
    for fact in facts:
        try:
            plain.assert_fact("t", fact)
            results.append("taken")
        except de.MessageNotHandledException:
            results.append("not taken")
    assert [ours.assert_one("t", f) is durable_engine.NOT_TAKEN for f in facts] == \
        [r == "not taken" for r in results] == [False, False, True, False, False]
    assert sorted(seen) == [("Host", 1, 7), ("_Host", 1, 7)]
    with pytest.raises(de.MessageObservedException):
        plain.assert_fact("t", facts[1])
    with pytest.raises(durable_engine._FalseDuplicate):
        ours.assert_one("t", facts[1])


def test_the_engine_is_given_each_fact_as_durable_would_encode_it(rulebook, monkeypatch):
    """orjson, not durable's `json.dumps`, encodes the facts (`fastjson`): JSON that reads
    back as the same values of the same types (an integer stays one, -0.0 stays itself), text and
    control characters alike, on every fact of every example; json's text differs only in
    its spaces and in exponents (`2.5e-07`, orjson `2.5e-7`)."""
    import json

    texts: list[tuple[dict, str]] = []
    encode = durable_engine._encode

    def spy(fact):
        texts.append((fact, encode(fact)))
        return texts[-1][1]
    monkeypatch.setattr(durable_engine, "_encode", spy)
    engine = DurableRulesEngine(rulebook)
    for path in sorted(EXAMPLES.glob("*.json")):
        if "invalid" not in path.name:
            engine.evaluate(parse_plan(path.read_bytes()))
    # and what no example has: an integer orjson refuses (json writes it, and the engine
    # reads it), a plan's priority_rank may be one
    odd = {"t": "Çelik \u0001 \n \u2028 \x7f", "n": [1e15, 1e16, 2.5e-7, -0.0, 10**15, 10**30]}
    texts.append((odd, encode(odd)))
    assert len(texts) > 1_500
    for fact, text in texts:
        assert repr(json.loads(text)) == repr(json.loads(json.dumps(fact))), text


def test_an_engine_error_after_an_action_fails_the_evaluation(rulebook, monkeypatch):
    """durable hands an error of its own action loop (here: completing an action) to the
    callback, not to the caller: the adapter raises it, and the evaluation fails."""
    import durable_rules_engine

    def broken(*args):
        raise RuntimeError("the engine could not complete the action")
    engine = DurableRulesEngine(rulebook)
    monkeypatch.setattr(durable_rules_engine, "complete_and_start_action", broken)
    refused = r"the engine refused a \w+ fact in \S+: RuntimeError"  # that error, not another
    with pytest.raises(EvaluationError, match=refused):
        engine.evaluate(parse_plan(example(BANKING)))


def test_an_error_inside_a_rule_action_is_surfaced_not_swallowed(rulebook, monkeypatch):
    def broken(match, owner):  # finding_of's signature: the action itself fails, not its call
        raise RuntimeError("a bug in an action")

    engine = DurableRulesEngine(rulebook)
    monkeypatch.setattr(durable_engine, "finding_of", broken)
    with pytest.raises(EvaluationError, match="rule action failed"):
        engine.evaluate(parse_plan(example(BANKING)))
    monkeypatch.undo()
    assert engine.evaluate(parse_plan(example(BANKING)))  # its state was freed


def test_the_version_changes_with_the_rules_and_with_the_reference_data(tmp_path):
    copy = tmp_path / "rules"
    shutil.copytree(RULES, copy)
    before = load_rulebook(copy).version
    rules = copy / "dd6-remedy.yaml"
    rules.write_text(rules.read_text().replace("min_coverage_pct: 80", "min_coverage_pct: 85"))
    after_rules = load_rulebook(copy).version
    calendar = copy / "covenants" / "textile" / "calendar.csv"
    calendar.write_text(calendar.read_text().replace("2019-04-01", "2019-04-15"))
    after_reference = load_rulebook(copy).version
    assert len({before, after_rules, after_reference}) == 3
    assert load_rulebook(RULES).version == before


def test_test_files_do_not_change_the_version(tmp_path):
    copy = tmp_path / "rules"
    shutil.copytree(RULES, copy)
    (copy / "dd6-remedy.tests.yaml").write_text("cases: []\n")
    assert load_rulebook(copy).version == load_rulebook(RULES).version


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("rules: [", "not valid YAML"),
        ("rules:\n  - id: lower-case\n", "rules/0/id"),
        ("!!python/object:os.system {}\n", "not valid YAML"),
    ],
    ids=["unclosed list", "lower-case id", "python object tag"],
)
def test_a_broken_rule_file_is_refused_with_its_name(tmp_path, content, complaint):
    shutil.copytree(RULES / "covenants", tmp_path / "covenants")
    (tmp_path / "broken.yaml").write_text(content)
    with pytest.raises(RuleFileError, match=complaint) as caught:
        load_rulebook(tmp_path)
    assert "broken.yaml" in str(caught.value)


def test_an_unknown_plan_part_an_unknown_parameter_and_duplicate_ids_are_refused(tmp_path):
    text = (RULES / "dd6-remedy.yaml").read_text()
    shutil.copytree(RULES / "covenants", tmp_path / "covenants")
    (tmp_path / "a.yaml").write_text(text.replace("part: mechanism", "part: mechanisms", 1))
    with pytest.raises(RuleFileError) as refused:
        load_rulebook(tmp_path)
    assert str(refused.value) == f"{tmp_path / 'a.yaml'}: rule DD6-GM-AVAILABLE: unknown part " \
        "'mechanisms' (did you mean mechanism or mechanism_language?)"
    (tmp_path / "a.yaml").write_text(text.replace("param: min_coverage_pct", "param: nope"))
    with pytest.raises(RuleFileError, match="nope"):
        load_rulebook(tmp_path)
    (tmp_path / "a.yaml").write_text(text)
    (tmp_path / "b.yaml").write_text(text)
    with pytest.raises(RuleFileError, match="defined twice"):
        load_rulebook(tmp_path)


def test_an_empty_rules_folder_is_an_error(tmp_path: Path):
    with pytest.raises(RuleFileError, match="no rule files"):
        load_rulebook(tmp_path)


# --- the engine's limits that shape the compiled comparisons (compiler.py) -----------------

def _register(rule: dict) -> None:
    import durable.engine as bare

    bare.Host().set_rulesets({"t": {"r": {**rule, "run": lambda c: None}}})


def _with_list_test(test: dict) -> dict:
    return {"all": [{"c": {"kind": "c"}}, {"fact": {"$and": [{"kind": "a"}, test]}}]}


def test_the_bare_engine_refuses_a_list_item_compared_with_another_fact():
    """Why lists of another fact are compared through slots: `$iany` with `$i` equal to a
    reference does not even register (error 102)."""
    with pytest.raises(Exception, match="102"):
        _register(_with_list_test({"$iany": {"langs": {"$i": {"c": "l0"}}}}))


def test_the_bare_engine_crashes_on_list_items_compared_with_another_fact_inside_or():
    """The same comparison wrapped in `$or` registers, then kills the process on the first
    fact it meets: the compiler never emits it."""
    script = textwrap.dedent("""
        import durable.engine as de
        h = de.Host()
        rule = {"all": [{"c": {"kind": "c"}}, {"fact": {"$and": [{"kind": "a"}, {"$iany": {
            "langs": {"$or": [{"$i": {"c": "l0"}}, {"$i": {"c": "l1"}}]}}}]}}]}
        h.set_rulesets({"t": {"r": {**rule, "run": lambda c: None}}})
        for fact in ({"kind": "c", "l0": "en", "l1": "nl"}, {"kind": "a", "langs": ["en"]}):
            try:
                h.assert_fact("t", {**fact, "sid": "s"})
            except de.MessageNotHandledException:
                pass
        print("survived")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0 and "survived" not in result.stdout


def test_the_bare_engine_refuses_32_references_in_one_pattern_but_takes_the_slots_we_use():
    def slots(n: int) -> dict:
        return _with_list_test({"$or": [{"lang": {"c": f"l{i}"}} for i in range(n)]})

    with pytest.raises(Exception, match="113"):
        _register(slots(32))
    _register(slots(compiler.LIST_SLOTS))


def test_the_bare_engine_fails_on_a_reference_to_a_missing_field():
    """Why compared fields always get a stand-in (`Derived.missing`): error 311."""
    import durable.engine as bare

    host = bare.Host()
    rule = {"all": [{"fact": {"kind": "a"}},
                    {"b": {"$and": [{"kind": "b"}, {"$lt": {"x": {"fact": "due"}}}]}}],
            "run": lambda c: None}
    host.set_rulesets({"t": {"r": rule}})
    host.assert_fact("t", {"kind": "b", "x": 3, "sid": "s"})
    with pytest.raises(Exception, match="311"):
        host.assert_fact("t", {"kind": "a", "sid": "s"})


def test_the_bare_engine_ignores_true_branches_of_an_or_that_compares_with_another_fact():
    """Why the compiler refuses an ordering comparison with another part's field inside an
    `any`: the true `$neq` branch here is ignored and nothing fires."""
    import durable.engine as bare

    found: list[str] = []
    host = bare.Host()
    either = {"$or": [{"$neq": {"level": "standard"}}, {"$gt": {"day": {"fact": "start"}}}]}
    host.set_rulesets({"t": {"r": {"all": [
        {"fact": {"kind": "financing"}},
        {"client": {"$and": [{"kind": "client"}, either]}}],
        "run": lambda c: found.append(c.client._d["level"])}}})
    for fact in ({"kind": "client", "level": "enhanced", "day": 1},
                 {"kind": "financing", "start": 5}):
        with contextlib.suppress(bare.MessageNotHandledException):
            host.assert_fact("t", {**fact, "sid": "s"})
    assert found == []  # the plain reading: enhanced != standard, so it should fire


def test_the_compiler_refuses_an_ordering_comparison_with_another_part_inside_any(rulebook):
    rule = rulebook.by_id()["DD2-CLIENT-DD-BEFORE-FINANCING"]
    first, second = rule.matches
    client = first.with_[0]
    merged = client.model_copy(update={"where": [first.with_[0].where[0].model_copy(
        update={"any": [*first.with_[0].where[0].any, *second.with_[0].where]})]})
    broken = rule.model_copy(update={"when": first.model_copy(update={"with_": [merged]})})
    with pytest.raises(compiler.CompileError, match=r"^a comparison with another part's field "
                       r"cannot stand in an `any` \(nor be `!=`\); make it an alternative of "
                       r"the rule instead$"):
        compiler.compile_rule(broken)


def test_the_bare_engine_refuses_a_telephone_pattern_with_seven_optional_separators():
    """Why contact data in free text is detected by the vocabulary, not by `matches`."""
    _register({"all": [{"m": {"$mt": {"text": ".*[+0][0-9]" + "[ -]?[0-9]" * 5 + ".*"}}}]})
    with pytest.raises(Exception, match=r"50[1-4]"):
        _register({"all": [{"m": {"$mt": {"text": ".*[+0][0-9]" + "[ -]?[0-9]" * 7 + ".*"}}}]})


class _Everything(frozenset):
    def __contains__(self, name):
        return True


@pytest.mark.parametrize("name", [TEXTILE, BANKING])
def test_the_engine_is_given_only_the_fields_its_conditions_read_and_findings_stay_whole(
        rulebook, monkeypatch, name):
    """Each fact reaches the engine with the fields its ruleset's conditions read; the
    findings, messages included, are those of an engine given every field."""
    plan = parse_plan(example(name))
    monkeypatch.setattr(durable_engine, "fields_read", lambda definitions: _Everything())
    given_all = DurableRulesEngine(rulebook).evaluate(plan)
    monkeypatch.undo()
    engine = DurableRulesEngine(rulebook)
    given: list[tuple[str, dict]] = []
    real = engine._host.assert_one

    def spy(ruleset, fact):
        given.append((ruleset, fact))
        return real(ruleset, fact)
    monkeypatch.setattr(engine._host, "assert_one", spy)
    findings = engine.evaluate(plan)
    assert findings == given_all and findings
    assert all(set(fact) <= engine._fields[ruleset] | {durable_engine.FACT_INDEX, "sid"}
               for ruleset, fact in given)
    sent = {field for _, fact in given for field in fact}
    kept_back = {field for fact in engine.facts(plan) for field in fact} - sent
    assert {"pointer", "as_of"} <= kept_back  # read by the actions only, from the whole fact


@pytest.mark.parametrize("name", [TEXTILE, BANKING])
def test_each_fact_reaches_the_engine_with_the_fields_derived_from_it(rulebook, monkeypatch,
                                                                       name):
    """The derived fields (ages, day numbers, list slots, ...) are made as each fact is
    asserted, not kept on the facts: the engine is given the fact's fields its ruleset reads
    and those the ruleset derives for the fact's kind, with the values a fact given every
    derived field holds."""
    plan = parse_plan(example(name))
    engine = DurableRulesEngine(rulebook)
    given: dict[tuple[str, str], list[dict]] = {}  # (ruleset, sid) -> the facts, in order
    real = engine._host.assert_one

    def spy(ruleset, fact):
        given.setdefault((ruleset, fact["sid"]), []).append(fact)
        return real(ruleset, fact)
    monkeypatch.setattr(engine._host, "assert_one", spy)
    engine.evaluate(plan)
    with parts_of(plan.covenant):
        kept = engine._facts(plan, None)
    derived = engine.facts(plan)
    assert not any("__" in field for fact in kept for field in fact)
    for ruleset in (rs for rs in engine._rulesets[plan.covenant] if not rs.late):
        read = engine._fields[ruleset.name]
        sent = [facts for (rs, _), facts in given.items() if rs == ruleset.name]
        batches = engine.assertion_batches(ruleset, kept)
        assert len(sent) == len(batches)
        for facts, batch in zip(sent, batches, strict=True):
            for fact in facts:
                whole = derived[kept.index(batch[fact[durable_engine.FACT_INDEX]])]
                names = {d.name for d in ruleset.derived.get(whole["kind"], ())} | {
                    s.slot(i) for s in ruleset.derived.get(whole["kind"], ())
                    if s.form == "slots" for i in range(compiler.LIST_SLOTS)}
                assert {k: v for k, v in fact.items()
                        if k not in (durable_engine.FACT_INDEX, "sid")} == {
                    k: v for k, v in whole.items() if k in read and ("__" not in k or k in names)}
    assert any("__" in field for facts in given.values() for fact in facts for field in fact)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*-20??.json")), ids=lambda p: p.stem)
def test_every_covenants_plan_is_assessed_with_last_years_plan_beside_it(engine, path):
    """The second plan of a company is read with its previous one: last year's risks, actions
    and KPIs, and the parts its covenant remembers (a bank's plan has no locations to)."""
    from services.rules.core.prior import Prior, StoredAssessment

    plan = parse_plan(path.read_bytes())
    stored = StoredAssessment("previous", plan.submission.reporting_year - 1,
                              "2019-01-31T12:00:00Z", plan.to_json_dict(), [])
    prior = Prior(previous=stored, accepted_before=1, known=True)
    kinds = {f["kind"] for f in engine.facts(plan, prior)}
    assert {"prev_submission", "prev_risk", "prev_action"} <= kinds
    assert engine.evaluate(plan, prior)


@pytest.mark.parametrize("name", [TEXTILE, BANKING])
def test_evaluating_a_plan_changes_nothing_in_it(engine, name):
    """Facts share the plan's unchanged objects (memory): nothing done to a fact may reach the
    plan, which the history then stores."""
    plan = parse_plan(example(name))
    before = plan.to_json_dict()
    engine.evaluate(plan)
    for fact in engine.facts(plan):
        fact.clear()
    assert plan.to_json_dict() == before


@pytest.mark.parametrize("other", ["baseline.value", "kpi.baseline.value"])
def test_a_field_compared_with_another_of_its_own_part_may_name_the_part(rulebook, other):
    """`value: {field: kpi.baseline.value}` in a rule on KPIs is the KPI's own baseline, as
    `baseline.value` is: the part's own name, then a field nested in it."""
    import json

    from services.rules.core.language import Match
    from services.shared.contracts import validate_plan

    document = json.loads((ROOT / "rules" / "fixtures" / "compliant-textile.json").read_text())
    # a target below its baseline (a reduction, as the fixture's last action has), and one
    # raised above every target
    document["actions"][1]["kpis"][0]["baseline"]["value"] = 1_000
    base = rulebook.by_id()["DD4-KPI-RESULTS-REPORTED"]
    when = Match.model_validate({"part": "kpi", "where": [
        {"field": "target.value", "op": "<=", "value": {"field": other}}]})
    rule = base.model_copy(update={"id": "TEST-TARGET-NOT-ABOVE-BASELINE", "when": when})
    engine = DurableRulesEngine(RuleBook((rule,), "rs-test", rulebook.reference))
    assert sorted(f.pointers[0] for f in engine.evaluate(validate_plan(document))) == [
        "/actions/1/kpis/0", "/actions/4/kpis/0"]


def test_an_ordering_against_another_part_is_found_however_it_is_nested():
    """The compiler's check for the engine's pitfall (an ordering comparison with another part
    inside an `or`) looks through every dict and list of the comparison."""
    scope = compiler._Scope(rule=None, needs={},  # type: ignore[arg-type]
                            bound={"location": ("m", "location"), "country": ("c1", "country")})
    refers = compiler._refers_to_another_part
    assert refers(scope, {"c1": "score"})
    assert refers(scope, {"$add": {"$l": {"c1": "score"}, "$r": 1}})
    assert refers(scope, [{"x": 1}, {"$add": [{"c1": "score"}]}])
    assert not refers(scope, [{"$m": "derived"}, {"x": "c1"}, {"c1": 1}])


@pytest.mark.parametrize("op", ["<", "<=", ">", ">=", "==", "!="])
def test_a_comparison_with_another_field_reads_as_the_plain_reading_when_it_is_missing(
        rulebook, op):
    """Against another field of the part: equal, less, more, and missing (no baseline). A
    missing field makes every comparison false but `!=` (docs: the operators' meanings), in the
    engine as in the plain reading."""
    import json

    from services.rules.core.language import Match
    from services.rules.tooling.crosscheck import plain_findings
    from services.shared.contracts import validate_plan

    document = json.loads((ROOT / "rules" / "fixtures" / "compliant-textile.json").read_text())
    kpis = [kpi for action in document["actions"] for kpi in action.get("kpis", [])]
    kpis[0]["baseline"]["value"] = kpis[0]["target"]["value"]
    del kpis[1]["baseline"]
    base = rulebook.by_id()["DD4-KPI-RESULTS-REPORTED"]
    when = Match.model_validate({"part": "kpi", "where": [
        {"field": "target.value", "op": op, "value": {"field": "baseline.value"}}]})
    rule = base.model_copy(update={"id": "TEST-TARGET-AGAINST-BASELINE", "when": when})
    engine = DurableRulesEngine(RuleBook((rule,), "rs-test", rulebook.reference))
    plan = validate_plan(document)
    found = [f.pointers[0] for f in engine.evaluate(plan)]
    assert found == [f.pointers[0] for f in plain_findings(engine, plan)]
    missing = "/actions/1/kpis/0"
    assert (missing in found) == (op == "!=")
    assert bool(found)


def _as_plainly(rulebook, when: dict, document: dict, **changes) -> list[str]:
    """The first pointer of each finding of a rule that matches `when` (DD4-KPI-RESULTS-
    REPORTED's texts, with `changes`) on the plan, once each, after checking that the plain
    reading finds the same."""
    from services.rules.core.language import Match
    from services.rules.tooling.crosscheck import plain_findings
    from services.shared.contracts import validate_plan

    base = rulebook.by_id()["DD4-KPI-RESULTS-REPORTED"]
    rule = base.model_copy(update={"id": "TEST-RULE", "when": Match.model_validate(when)}
                           | changes)
    engine = DurableRulesEngine(RuleBook((rule,), "rs-test", rulebook.reference))
    plan = validate_plan(document)
    found = sorted({f.pointers[0] for f in engine.evaluate(plan)})
    assert found == sorted({f.pointers[0] for f in plain_findings(engine, plan)})
    return found


def _textile_fixture() -> dict:
    import json

    return json.loads((ROOT / "rules" / "fixtures" / "compliant-textile.json").read_text())


@pytest.mark.parametrize("op", ["<", "<=", ">", ">=", "==", "!="])
def test_a_date_against_another_plus_calendar_months_reads_as_the_plain_reading(rulebook, op):
    """`due_on <op> start_on + 1 month` at the ends of months (31 January + 1 month is 28 or
    29 February): the engine compares month keys, `__mk` or `__mke` by the operator
    (compiler.py), and must find what the plain reading finds with `add_months`; with either
    date missing, only `!=` holds."""
    from datetime import date, timedelta

    from services.rules.core.values import add_months

    document = _textile_fixture()
    template = document["actions"][0]
    starts = [date(y, m, d) for y, m, days in ((2019, 1, (27, 28, 29, 30, 31)),
                                               (2020, 1, (28, 29, 30, 31)), (2019, 3, (30, 31)))
              for d in days]
    pairs = [(start, add_months(start, 1) + timedelta(shift))
             for start in starts for shift in (-1, 0, 1)]
    first = len(document["actions"])
    document["actions"] += [dict(template, action_id=f"T-{i}", start_on=start.isoformat(),
                                 due_on=due.isoformat(), kpis=[])
                            for i, (start, due) in enumerate(pairs)]
    unknown = len(document["actions"])
    document["actions"] += [dict(template, action_id="U-1", due_on="2019-03-01", kpis=[]),
                            dict(template, action_id="U-2", start_on="2019-01-31", kpis=[])]
    del document["actions"][unknown]["start_on"], document["actions"][unknown + 1]["due_on"]
    found = _as_plainly(rulebook, {"part": "action", "where": [
        {"field": "due_on", "op": op, "value": {"field": "start_on", "plus": {"months": 1}}}]},
        document)
    added = {f"/actions/{first + i}" for i in range(len(pairs))}
    assert 0 < len(added & set(found)) < len(pairs)
    missing = {f"/actions/{unknown}", f"/actions/{unknown + 1}"}
    assert (missing & set(found)) == (missing if op == "!=" else set())


@pytest.mark.parametrize("nested", [False, True], ids=["listed", "in-an-all"])
@pytest.mark.parametrize("op", ["<", ">="])
def test_a_comparison_with_another_parts_field_after_an_in_reads_as_the_plain_reading(
        rulebook, op, nested):
    """In a `with` part's pattern, `due_on <op> kpi.target.on` reads the matched KPI's target
    date. Written after an `in` (an `any` to the engine), the engine ignored it and matched
    every action (2026-12-05): the compiler puts it before the `in`. A KPI without a
    target matches no action (false, as in the plain reading), however the engine is given the
    missing value (far below for `<`, far above for `>=`)."""
    document = _textile_fixture()
    template = dict(document["actions"][0], kpis=[])
    kpi = {"kpi_id": "T-KPI", "indicator": "share audited", "unit": "%",
           "target": {"value": 100, "on": "2019-06-01"}}
    first = len(document["actions"])
    document["actions"] += [
        dict(template, action_id="T-EARLY", due_on="2019-02-01"),
        dict(template, action_id="T-LATE", due_on="2019-07-01"),
        dict(template, action_id="T-KPIS", kpis=[
            kpi, {k: v for k, v in kpi.items() if k != "target"} | {"kpi_id": "T-NO-TARGET"}])]
    conditions = [{"field": "action_id", "op": "in", "value": ["T-EARLY", "T-LATE"]},
                  {"field": "due_on", "op": op, "value": {"field": "kpi.target.on"}}]
    when = {"part": "kpi", "where": [
        {"field": "kpi_id", "op": "in", "value": ["T-KPI", "T-NO-TARGET"]}],
        "with": [{"part": "action", "as": "other",  # the same two as one `all`, or listed
                  "where": [{"all": conditions}] if nested else conditions}]}
    found = _as_plainly(rulebook, when, document)
    assert found == [f"/actions/{first + 2}/kpis/0"]  # the KPI with a target only


def test_a_pattern_reads_another_parts_fields_before_any_any():
    """The engine ignores a reference to another part that follows an `any` in the same
    pattern (the bare engine, below): the compiler puts the terms that read another part before
    those with an `any`, one that does both between them; two such cannot be ordered and are
    refused."""
    import durable.engine as bare

    scope = compiler._Scope(rule=None, needs={},  # type: ignore[arg-type]
                            bound={"kpi": ("fact", "kpi")})
    either = {"$or": [{"action_id": "A"}, {"action_id": "B"}]}
    before = {"$lt": {"due_on__n": {"fact": "target__n__lo"}}}
    listed = {"$or": [{"risk_id": {"fact": "r1"}}, {"risk_id": {"fact": "r2"}}]}
    pattern = {"$and": [{"kind": "action"}, either, listed, before]}
    assert compiler._references_first(scope, pattern) == {
        "$and": [{"kind": "action"}, before, listed, either]}
    assert compiler._references_first(scope, {"kind": "action"}) == {"kind": "action"}
    inner = {"$and": [{"active": True}, either]}  # an `any` inside another group is one too
    assert compiler._references_first(scope, {"$and": [inner, before]}) == {
        "$and": [before, inner]}
    assert compiler._references_first(scope, {"$and": [before, {"kind": "action"}]}) == {
        "$and": [{"kind": "action"}, before]}  # the part's own conditions first
    with pytest.raises(compiler.CompileError, match=r"^two conditions of a part read another "
                       r"part's field and each holds an `any` \(an `in` against another "
                       r"part's list is one\): the engine would read only the first; make one "
                       r"an alternative of the rule$"):
        compiler._references_first(scope, {"$and": [listed, before, listed]})
    # the engine's own reading, which the order above avoids
    host, found = bare.Host(), []
    host.set_rulesets({"t": {"r": {"all": [{"fact": {"kind": "kpi"}}, {"a": {"$and": [
        {"kind": "action"}, either, {"$lt": {"due": {"fact": "target"}}}]}}],
        "run": lambda c: found.append(c.a._d["action_id"])}}})
    for fact in ({"kind": "kpi", "target": 10}, {"kind": "action", "action_id": "A", "due": 5},
                 {"kind": "action", "action_id": "B", "due": 20}):
        with contextlib.suppress(bare.MessageNotHandledException):
            host.assert_fact("t", {**fact, "sid": "s"})
    assert sorted(found) == ["A", "B"]  # B is due after the target, yet matched


def test_an_escalation_of_a_rule_on_a_measure_reads_the_rules_own_measure(rulebook):
    """A rule whose subject is a measure (a share of the purchase volume) escalates on the
    same measure: its escalated alternative reads the measure facts made for the rule."""
    import json

    from services.rules.core.language import Escalation
    from services.shared.contracts import validate_plan

    document = json.loads((ROOT / "rules" / "fixtures" / "compliant-textile.json").read_text())
    for location in document["textile"]["production_locations"]:
        location["code_of_conduct_signed"] = False
    base = rulebook.by_id()["DD1-SUPPLIER-CODE-COVERAGE"]
    escalation = Escalation.model_validate({
        "severity": "high", "where": [{"field": "value", "op": "<", "value": 0.5}],
        "reason": {"nl": "Minder dan de helft.", "en": "Less than half."}})
    rule = base.model_copy(update={"escalate": [escalation]})
    engine = DurableRulesEngine(RuleBook((rule,), "rs-test", rulebook.reference))
    [finding] = engine.evaluate(validate_plan(document))
    assert (finding.rule_id, finding.severity.value) == ("DD1-SUPPLIER-CODE-COVERAGE", "high")


@pytest.mark.parametrize("window, fires", [
    ({}, True), ({"effective_from": "2019-03-28"}, True),  # the plan's day is 2019-03-28
    ({"effective_from": "2019-03-29"}, False), ({"effective_to": "2019-03-28"}, True),
    ({"effective_to": "2019-03-27"}, False),
    ({"effective_from": "2019-01-01", "effective_to": "2019-12-31"}, True),
])
def test_a_rule_is_in_force_from_its_first_day_to_its_last(rulebook, window, fires):
    from datetime import date

    when = {"part": "action", "where": [{"field": "action_id", "op": "==", "value": "A-07"}]}
    found = _as_plainly(rulebook, when, _textile_fixture(),
                        **{k: date.fromisoformat(v) for k, v in window.items()})
    assert found == (["/actions/0"] if fires else [])


def test_the_fields_a_ruleset_reads_are_the_heads_of_the_names_its_conditions_use():
    """`fields_read` over a ruleset as the engine takes it: every key and text of its
    conditions, a path by its head (`since.year` reads `since`), operators (`$lt`) and the
    rules' actions (`run`) left out. Rule names, aliases and texts compared against come along,
    harmlessly: no fact has such a field."""
    definitions = {"R1": {"all": [
        {"m": {"$and": [{"kind": "location"}, {"$lt": {"since.year": 2019}}]}},
        {"c": {"$and": [{"kind": "risk"}, {"location_id": {"m": "location_id"}},
                        {"due_on": {"m": "plan.due"}}]}},
    ], "run": print}}
    assert durable_engine.fields_read(definitions) == {
        "kind", "since", "location_id", "due_on",  # read by the conditions
        "R1", "all", "m", "c", "location", "risk", "plan"}  # names and texts, harmless


def test_a_plans_facts_are_of_the_kinds_asked_for_its_links_made_with_or_without_their_parts():
    """A financing's chains are made from the financing whether or not its own fact is asked
    for, and no fact of a kind not asked for is made."""
    from bench.plans import bank_plan
    from services.rules.core.facts import plan_facts

    plan = bank_plan(30, clients=5)
    with parts_of("banking"):
        chains = list(plan_facts(plan, frozenset({"financing_chain"})))
        both = list(plan_facts(plan, frozenset({"financing_chain", "financing"})))
    assert chains and {f["kind"] for f in chains} == {"financing_chain"}
    assert [f for f in both if f["kind"] == "financing_chain"] == chains
    assert sum(f["kind"] == "financing" for f in both) == 30
