"""The Engine port on durable-rules 2.0.28. All of the engine's sharp edges are handled here
(see ../shared/notes/durable-rules.md and the regression tests in tests/unit/test_engine.py):

- every evaluation runs under a fresh sid whose state is deleted afterwards, also on failure
  (the engine keeps at most 1,024 live states per ruleset);
- facts are asserted one by one and "not handled" is normal, not an error;
- facts of kinds that rules negate are asserted first (negation is decided eagerly);
- fields named `id`/`sid` never reach the engine (renamed in `domain.facts_of`);
- compiled definitions are deep-copied before registration (the engine deletes `run` keys);
- an exception inside an action is reported by the engine in the returned state: it is
  turned into an EvaluationError naming the rule;
- engine exceptions carry the whole fact: they are never logged or re-raised with it;
- facts per evaluation are bounded below the engine's ~46,000 per sid.
"""

import contextlib
import copy
import threading
import uuid
from collections.abc import Callable
from typing import Any

import durable.engine as engine

from services.shared.contracts import Covenant, Finding, PlanSubmission

from .compiler import MATCHED, SENTINEL_KIND, CompiledRuleset, compile_rulesets
from .domain import Match, RuleBook, as_of, finding_of, ordered
from .facts import Fact, measure_facts, plan_facts
from .ports import EvaluationError

MAX_FACTS_PER_EVALUATION = 40_000


class DurableRulesEngine:
    def __init__(self, rulebook: RuleBook):
        self.rulebook = rulebook
        self._host = engine.Host()
        self._found: dict[str, list[Finding]] = {}
        self._lock = threading.Lock()
        self._rulesets: dict[Covenant, list[CompiledRuleset]] = {}
        by_id = rulebook.by_id()
        definitions: dict[str, Any] = {}
        for covenant in Covenant:
            compiled = compile_rulesets(covenant, rulebook.in_scope(covenant))
            for ruleset in compiled:
                definitions[ruleset.name] = {
                    rule_id: {**rule, "run": self._action(by_id[rule_id])
                              if rule_id in by_id else _ignore}
                    for rule_id, rule in ruleset.rules.items()
                }
            self._rulesets[covenant] = compiled
        if definitions:
            # the engine deletes the `run` keys of what it is given: hand it a copy
            self._host.set_rulesets(copy.deepcopy(definitions))

    @property
    def ruleset_version(self) -> str:
        return self.rulebook.version

    def facts(self, plan: PlanSubmission) -> list[Fact]:
        """Every fact of one evaluation: the sentinel, the plan's, the reference data's and
        the measures'."""
        facts = plan_facts(plan) + self.rulebook.reference.facts_for(plan)
        measures = measure_facts(self.rulebook.in_scope(plan.covenant), facts, as_of(plan))
        return [{"kind": SENTINEL_KIND, "pointer": ""}, *facts, *measures]

    def evaluate(self, plan: PlanSubmission) -> list[Finding]:
        facts = self.facts(plan)
        if len(facts) > MAX_FACTS_PER_EVALUATION:
            raise EvaluationError(
                f"the plan decomposes into {len(facts):,} facts; the engine's limit per "
                f"evaluation is {MAX_FACTS_PER_EVALUATION:,}")
        with self._lock:
            sid = uuid.uuid4().hex
            self._found[sid] = []
            try:
                for ruleset in self._rulesets[plan.covenant]:
                    self._assert_all(ruleset, sid, facts)
                return ordered(self._found[sid])
            finally:
                del self._found[sid]
                for ruleset in self._rulesets[plan.covenant]:
                    self._delete_state(ruleset.name, sid)

    def _assert_all(self, ruleset: CompiledRuleset, sid: str, facts: list[Fact]) -> None:
        rank = {kind: i for i, kind in enumerate(ruleset.order)}
        needed = sorted((f for f in facts if f["kind"] in rank), key=lambda f: rank[f["kind"]])
        for fact in needed:
            try:
                state = self._host.assert_fact(ruleset.name, {**fact, "sid": sid})
            except engine.MessageNotHandledException:
                continue
            except Exception as e:  # the engine puts the whole fact in its exceptions
                raise EvaluationError(
                    f"the engine refused a {fact['kind']} fact in {ruleset.name}: "
                    f"{type(e).__name__}") from None
            if isinstance(state, dict) and state.get("exception"):
                raise EvaluationError(f"a rule action failed in {ruleset.name} on a "
                                      f"{fact['kind']} fact")

    def _delete_state(self, ruleset: str, sid: str) -> None:
        # raises when no state was created for this sid: then there is nothing to free
        with contextlib.suppress(Exception):
            self._host.delete_state(ruleset, sid)

    def _action(self, rule: Any) -> Callable[[Any], None]:
        aliases = [j.alias for j in rule.when.with_]

        def run(c: Any) -> None:
            match = Match(rule, dict(getattr(c, MATCHED)._d),
                          {a: dict(getattr(c, a)._d) for a in aliases})
            self._found[c.s.sid].append(finding_of(match))

        return run


def _ignore(c: Any) -> None:
    """The sentinel rule's action: nothing to record."""
