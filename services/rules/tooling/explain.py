"""Why a rule did or did not fire on a plan, part by part, in the plain reading."""

import json
from datetime import date, datetime
from typing import Any

from services.rules.core.domain import as_of
from services.rules.core.evaluator import MISSING, all_hold, holds, lookup
from services.rules.core.facts import Fact, grouped, submission_values
from services.rules.core.language import Join, Ref, RuleSpec, conditions, measure_name
from services.rules.core.prior import Prior
from services.rules.core.values import Duration
from services.rules.core.vocabulary import parts_of
from services.rules.ports import RuleEngine
from services.shared.contracts import PlanSubmission
from services.shared.errors import did_you_mean


def explain(engine: RuleEngine, plan: PlanSubmission, rule_id: str,
            prior: Prior | None = None) -> list[str]:
    """Why the rule did or did not fire on the plan, one line per candidate part."""
    rule = engine.rulebook.by_id().get(rule_id)
    if rule is None:
        return [f"there is no rule {rule_id}{did_you_mean(rule_id, engine.rulebook.by_id())}"]
    if rule.disabled:
        return [f"{rule_id} is disabled: {rule.disabled}"]
    rule = engine.rulebook.of_covenant(plan.covenant).get(rule_id, rule)  # its parameters
    if plan.covenant not in rule.scope:
        return [f"{rule_id} does not apply to the {plan.covenant} covenant (scope: "
                f"{', '.join(rule.scope)})"]
    window = _outside_window(rule, plan)
    if window:
        return [window]
    with parts_of(plan.covenant):  # its parts as its covenant declares them
        return _explained(engine, plan, rule, prior)


def _explained(engine: RuleEngine, plan: PlanSubmission, rule: RuleSpec,
               prior: Prior | None) -> list[str]:
    rule_id = rule.id
    by_kind = grouped(engine.facts(plan, prior))
    submission = submission_values(plan)
    lines = []
    for k, when in enumerate(rule.matches):
        heading = [f"alternative {k + 1} of {len(rule.matches)}:"] if len(rule.matches) > 1 else []
        candidates = subjects(rule, by_kind, k)
        if not candidates:
            what = ("no value could be computed" if when.subject == "measure"
                    else f"the plan has no {when.subject}")
            lines += [*heading, f"{rule_id} did not fire: {what}"]
            continue
        lines += heading + [_explain_one(rule, k, fact, by_kind, submission)
                            for fact in candidates]
    fired = [f for f in engine.evaluate(plan, prior) if f.rule_id == rule_id]
    lines.append(f"the engine reported {len(fired)} finding(s) for {rule_id}")
    lines += [f"{', '.join(f.pointers)}: severity raised to {f.severity.value}: "
              f"{f.severity_reason.en}" for f in fired if f.severity_reason]
    return lines


def subjects(rule: RuleSpec, by_kind: dict[str, list[Fact]], alternative: int = 0) -> list[Fact]:
    """The facts an alternative's subject can match (for a measuring rule: its own measure)."""
    when = rule.matches[alternative]
    return [f for f in by_kind.get(when.subject, [])
            if not when.measure or f.get("rule") == rule.own_name(alternative)]


def _outside_window(rule: RuleSpec, plan: PlanSubmission) -> str | None:
    if rule.in_force(as_of(plan)):
        return None
    if rule.effective_from and as_of(plan) < rule.effective_from:
        return f"{rule.id} did not fire: it takes effect on {rule.effective_from}"
    return f"{rule.id} did not fire: it ended on {rule.effective_to}"


def _explain_one(rule: RuleSpec, k: int, fact: Fact, by_kind: dict[str, list[Fact]],
                 submission: dict[str, Any]) -> str:
    when = rule.matches[k]
    where = fact["pointer"] or when.subject
    env = {"submission": submission, when.subject: fact}
    for i, test in enumerate(when.where, start=1):
        if not holds(rule, test, fact, env):
            return (f"{where}: not fired: `where` condition {i} is false: "
                    f"{_describe(rule, test, fact)}")
    joined: dict[str, Fact] = {}
    for join in when.with_:
        partner = partners(rule, join, fact, joined, by_kind, submission, k)
        if not partner:
            return f"{where}: not fired: no {join.part} {_join_text(join)} passes its conditions"
        joined[join.alias] = partner[0]
    for i, join in enumerate(when.without, start=1):
        present = partners(rule, join, fact, joined, by_kind, submission, k)
        if present:
            return (f"{where}: not fired: `without` {i} finds {join.part} at "
                    f"{present[0]['pointer']}")
    return f"{where}: FIRES (every condition holds, every absence confirmed)"


def partners(rule: RuleSpec, join: Join, fact: Fact, joined: dict[str, Fact],
             by_kind: dict[str, list[Fact]], submission: dict[str, Any] | None = None,
             alternative: int = 0) -> list[Fact]:
    """The facts that can stand for a joined part, given the matched part and the parts
    joined before it."""
    def ours(name: str) -> Any:
        head, _, field = name.partition(".")
        if field and head in joined:
            return lookup(joined[head], field)
        return lookup(fact, name)

    env = {"submission": submission or {}, rule.matches[alternative].subject: fact, **joined}
    measure = measure_name(rule.own_name(alternative), join.alias) if join.measure else None
    return [f for f in by_kind.get(join.part, [])
            if (measure is None or f.get("rule") == measure)
            and all(lookup(f, theirs) == ours(o) and ours(o) is not MISSING
                    for theirs, o in join.join.items())
            and all_hold(rule, join.where, f, env)]


def _join_text(join: Join) -> str:
    pairs = ", ".join(f"{t} = {o}" for t, o in join.join.items())
    return f"with {pairs}" if pairs else "at all"


def _describe(rule: RuleSpec, test: Any, fact: Fact) -> str:
    parts = []
    for c in conditions([test]):
        actual = lookup(fact, c.field)
        shown = "missing" if actual is MISSING else _written(actual)
        value = rule.value(c.value)
        if isinstance(value, Ref):
            plus = f" + {_plus_text(value.plus)}" if value.plus is not None \
                else f" - {value.minus}" if value.minus is not None else ""
            wanted = f" the value of {value.field}{plus}"
        else:
            wanted = "" if value is None else f" {_written(value)}"
        parts.append(f"{c.field} {c.op}{wanted} (here: {shown})")
    return "; ".join(parts)


def _written(value: Any) -> str:
    """A value as a rule file writes it (true, "text", [a, b], 2019-03-01), not as Python
    shows it (True, 'text')."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return json.dumps(value, ensure_ascii=False, default=str)


def _plus_text(plus: Any) -> str:
    if isinstance(plus, Duration):
        return ", ".join(f"{n} {unit}" for unit, n in plus.model_dump().items() if n)
    return str(plus)


