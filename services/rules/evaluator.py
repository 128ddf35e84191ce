"""Plain-Python meaning of the rule language's conditions, the same as the compiled engine
conditions: used to compute measures, to explain a decision, and to cross-check the engine."""

import re
from typing import Any

from .compiler import AGE
from .language import AllOf, AnyOf, Condition, Duration, RuleSpec, Test

MISSING = object()


def lookup(fact: dict[str, Any], field: str) -> Any:
    """The value at a dotted path, or MISSING."""
    node: Any = fact
    for part in field.split("."):
        if not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


def holds(rule: RuleSpec, test: Test, fact: dict[str, Any]) -> bool:
    match test:
        case AllOf(all=tests):
            return all(holds(rule, t, fact) for t in tests)
        case AnyOf(any=tests):
            return any(holds(rule, t, fact) for t in tests)
        case Condition():
            return condition_holds(test, rule.value(test.value), fact)
    raise TypeError(test)


def condition_holds(c: Condition, value: Any, fact: dict[str, Any]) -> bool:
    v = lookup(fact, c.field)
    present = v is not MISSING
    match c.op:
        case "==":
            return present and v == value
        case "!=":
            return not present or v != value
        case "<" | "<=" | ">" | ">=":
            return present and _compare(c.op, v, value)
        case "in":
            return present and v in value
        case "not_in":
            return not present or v not in value
        case "missing":
            return not present
        case "present":
            return present
        case "contains":
            return present and isinstance(v, list) and value in v
        case "lacks":
            return not present or (isinstance(v, list) and value not in v)
        case "lacks_any":
            return not present or (isinstance(v, list) and any(x not in v for x in value))
        case "matches":
            return present and isinstance(v, str) and re.fullmatch(value, v) is not None
        case "older_than":
            age = lookup(fact, c.field + AGE)
            return age is not MISSING and age > Duration.model_validate(value).in_days()
        case "within":
            age = lookup(fact, c.field + AGE)
            return age is not MISSING and 0 <= age <= Duration.model_validate(value).in_days()
        case "in_future":
            age = lookup(fact, c.field + AGE)
            return age is not MISSING and age < 0
    raise ValueError(c.op)


def _compare(op: str, a: Any, b: Any) -> bool:
    try:
        return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op])
    except TypeError:
        return False


def all_hold(rule: RuleSpec, tests: list[Test], fact: dict[str, Any]) -> bool:
    return all(holds(rule, t, fact) for t in tests)
