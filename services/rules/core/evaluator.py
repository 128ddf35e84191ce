"""The plain meaning of the rule language's conditions, written independently of the compiled
engine conditions: used to compute measures, to explain a decision, and to cross-check the
engine. Dates are compared as dates and moved with `values.add_months`, never through the
engine's day numbers or month keys."""

from collections.abc import Callable
from datetime import date
from typing import Any

from services.rules.core.language import AllOf, AnyOf, Condition, Ref, RuleSpec, Test
from services.rules.core.operators import OPERATORS
from services.rules.core.values import MISSING, Duration, as_date, lookup, month_key

__all__ = ["MISSING", "Env", "all_hold", "as_date", "holds", "lookup", "month_key", "predicate",
           "resolve"]

# names a condition can refer to: "submission" -> its values, a part name or alias -> its fact
Env = dict[str, Any]


def holds(rule: RuleSpec, test: Test, fact: dict[str, Any], env: Env | None = None) -> bool:
    match test:
        case AllOf(all=tests):
            return all(holds(rule, t, fact, env) for t in tests)
        case AnyOf(any=tests):
            return any(holds(rule, t, fact, env) for t in tests)
        case Condition():
            return condition_holds(test, rule.value(test.value), fact, env or {})
    raise TypeError(test)


def resolve(ref: Ref, fact: dict[str, Any], env: Env) -> Any:
    """The value a reference names, moved by its `plus`; MISSING if there is none."""
    head, _, rest = ref.field.partition(".")
    if head == "submission" and rest:
        value = env.get("submission", {}).get(rest, MISSING)
    elif rest and head in env and isinstance(env[head], dict):
        value = lookup(env[head], rest)
    else:
        value = lookup(fact, ref.field)
    if value is MISSING or ref.offset is None or isinstance(value, list):
        return value
    day = as_date(value)
    if day is not None:
        plus = ref.offset if isinstance(ref.offset, Duration) else Duration(days=int(ref.offset))
        return plus.after(day)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value + (ref.offset.days if isinstance(ref.offset, Duration) else ref.offset)
    return MISSING


def condition_holds(c: Condition, value: Any, fact: dict[str, Any], env: Env) -> bool:
    v = lookup(fact, c.field)
    if isinstance(value, Ref):
        return _against_field(c, v, resolve(value, fact, env))
    op = OPERATORS[c.op]
    return op.holds(v, value, date.fromisoformat(fact["as_of"]) if op.reads_as_of else date.min)


def _against_field(c: Condition, v: Any, other: Any) -> bool:
    """A comparison with another field's value: false when either side is missing or they
    are not both dates or both numbers (`!=`: true)."""
    if c.op == "in":
        return v is not MISSING and isinstance(other, list) and v in other
    mine, theirs = _comparable(v), _comparable(other)
    if mine is None or theirs is None or isinstance(mine, date) != isinstance(theirs, date):
        return c.op == "!="
    if c.op in ("==", "!="):
        return (mine == theirs) == (c.op == "==")
    return OPERATORS[c.op].holds(mine, theirs, date.min)


def _comparable(value: Any) -> date | float | None:
    """A date (from a date or its text) or a number; None for anything else."""
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return as_date(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return None


def all_hold(rule: RuleSpec, tests: list[Test], fact: dict[str, Any],
             env: Env | None = None) -> bool:
    return all(holds(rule, t, fact, env) for t in tests)


Check = Callable[[dict[str, Any], Env], bool]


def predicate(rule: RuleSpec, tests: list[Test]) -> Check:
    """`all_hold` of these tests as one function of (fact, env), with their parameters
    resolved once: for testing many facts (a measure's population)."""
    checks = [_check(rule, t) for t in tests]
    return lambda fact, env: all(check(fact, env) for check in checks)


def _check(rule: RuleSpec, test: Test) -> Check:
    match test:
        case AllOf(all=tests):
            return predicate(rule, tests)
        case AnyOf(any=tests):
            checks = [_check(rule, t) for t in tests]
            return lambda fact, env: any(check(fact, env) for check in checks)
        case Condition():
            value = rule.value(test.value)  # its parameters, resolved once
            op = OPERATORS[test.op]
            if isinstance(value, Ref) or op.reads_as_of:
                return lambda fact, env: condition_holds(test, value, fact, env)
            # `condition_holds` with the operator found once (a population of 50,000 parts)
            field, compare = test.field, op.holds
            return lambda fact, env: compare(lookup(fact, field), value, date.min)
    raise TypeError(test)
