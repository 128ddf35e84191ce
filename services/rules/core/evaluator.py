"""The plain meaning of the rule language's conditions, written independently of the compiled
engine conditions: used to compute measures, to explain a decision, and to cross-check the
engine. Dates are compared as dates and moved with `language.add_months`, never through the
engine's day numbers or month keys."""

import calendar
import re
from datetime import date, datetime
from typing import Any

from services.rules.core.language import AllOf, AnyOf, Condition, Duration, Ref, RuleSpec, Test

MISSING = object()
# names a condition can refer to: "submission" -> its values, a part name or alias -> its fact
Env = dict[str, Any]


def lookup(fact: dict[str, Any], field: str) -> Any:
    """The value at a dotted path, or MISSING."""
    node: Any = fact
    for part in field.split("."):
        if not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


def as_date(value: Any) -> date | None:
    """A date written `YYYY-MM-DD` (or the local date of a timestamp), else None."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10]) if len(value) == 10 else \
            datetime.fromisoformat(value).date()
    except ValueError:
        return None


def month_key(day: date, end_of_month: bool = False) -> int:
    """(12 * year + month) * 32 + day, the last day of a month counting as 31 when asked: the
    engine's representation of dates for calendar-month comparisons (see compiler.py)."""
    last = calendar.monthrange(day.year, day.month)[1] == day.day
    return (day.year * 12 + day.month) * 32 + (31 if end_of_month and last else day.day)


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
    present = v is not MISSING
    if isinstance(value, Ref):
        return _against_field(c, v, resolve(value, fact, env))
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
        case "intersects":
            return present and isinstance(v, list) and bool(set(v) & set(value))
        case "disjoint":
            return not present or (isinstance(v, list) and not set(v) & set(value))
        case "subset_of":
            return not present or (isinstance(v, list) and set(v) <= set(value))
        case "superset_of":
            return present and isinstance(v, list) and set(v) >= set(value)
        case "matches":
            return present and isinstance(v, str) and re.fullmatch(value, v) is not None
        case "older_than" | "within" | "in_future":
            return _against_submission(c.op, as_date(v), value, date.fromisoformat(
                fact["as_of"]))
    raise ValueError(c.op)


def _against_submission(op: str, day: date | None, value: Any, as_of: date) -> bool:
    if day is None:
        return False
    if op == "in_future":
        return day > as_of
    limit = Duration.model_validate(value).after(day)
    return as_of > limit if op == "older_than" else day <= as_of <= limit


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
    return _compare(c.op, mine, theirs)


def _comparable(value: Any) -> date | float | None:
    """A date (from a date or its text) or a number; None for anything else."""
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return as_date(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return None


def _compare(op: str, a: Any, b: Any) -> bool:
    try:
        return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op])
    except TypeError:
        return False


def all_hold(rule: RuleSpec, tests: list[Test], fact: dict[str, Any],
             env: Env | None = None) -> bool:
    return all(holds(rule, t, fact, env) for t in tests)
