"""Compiles rules to durable-rules JSON rulesets (pure; no engine import).

Every rule becomes one engine rule named by its id. The matched part is bound as `fact`, each
`with` part under its alias, each `without` part as a negation (`<alias>_<i>$not`). Dates
relative to the submission compile to comparisons on the precomputed `<field>__age_days`;
the effective window to comparisons on `as_of_day`. Rules are split into rulesets of at most
MAX_RULES_PER_RULESET (the engine fails beyond 64 pending matches per fact), and each ruleset
knows which fact kinds it needs and which of them must be asserted first (negation is decided
when the positive fact arrives).
"""

from dataclasses import dataclass
from typing import Any

from services.shared.contracts import Covenant

from .language import AllOf, AnyOf, Condition, Duration, Join, RuleSpec, Test

MAX_RULES_PER_RULESET = 24
MATCHED = "fact"
# Every ruleset handles one sentinel fact per evaluation. durable-rules keeps state for a sid
# even when none of its facts was handled (1,025 such sids: MemoryError), and deleting that
# state kills the process (free(): invalid pointer); with one handled fact both are fine.
SENTINEL_RULE = "_evaluation"
SENTINEL_KIND = "evaluation"
AGE = "__age_days"

_COMPARISONS = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}


class CompileError(ValueError):
    pass


@dataclass(frozen=True)
class CompiledRuleset:
    name: str
    rules: dict[str, dict[str, Any]]  # rule id -> {"all": [...]}
    order: tuple[str, ...]  # the fact kinds its rules read, in the order to assert them

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(self.order)


def compile_rulesets(covenant: Covenant, rules: list[RuleSpec]) -> list[CompiledRuleset]:
    chunks = [rules[i:i + MAX_RULES_PER_RULESET]
              for i in range(0, len(rules), MAX_RULES_PER_RULESET)]
    return [_ruleset(f"{covenant.value}-{i}", chunk) for i, chunk in enumerate(chunks)]


def _ruleset(name: str, rules: list[RuleSpec]) -> CompiledRuleset:
    compiled = {SENTINEL_RULE: {"all": [{MATCHED: {"kind": SENTINEL_KIND}}]}}
    compiled.update({r.id: compile_rule(r) for r in rules})
    return CompiledRuleset(name, compiled, (SENTINEL_KIND, *assertion_order(rules)))


def assertion_order(rules: list[RuleSpec]) -> tuple[str, ...]:
    """Every kind the rules read, each rule's negated kinds before its positive ones (the
    engine decides a negation when the positive facts are complete). Ties by name."""
    before: dict[str, set[str]] = {}  # kind -> kinds that must come earlier
    for rule in rules:
        positive = [rule.match.subject, *(j.part for j in rule.match.with_)]
        negated = [j.part for j in rule.match.without]
        for kind in positive + negated:
            before.setdefault(kind, set())
        for kind in positive:
            before[kind].update(negated)
    order: list[str] = []
    while before:
        ready = sorted(k for k, deps in before.items() if not deps - set(order))
        if not ready:
            raise CompileError("rules negate each other's parts in a cycle ("
                               + ", ".join(sorted(before)) + "); move one to another file")
        order.append(ready[0])
        del before[ready[0]]
    return tuple(order)


def compile_rule(rule: RuleSpec) -> dict[str, Any]:
    when = rule.match
    subject = [{"kind": when.subject}]
    if when.measure:
        subject.append({"rule": rule.id})
    subject += _effective(rule) + [_test(rule, t) for t in when.where]
    patterns: list[dict[str, Any]] = [{MATCHED: _and(subject)}]
    patterns += [{j.alias: _join(rule, j)} for j in when.with_]
    patterns += [{f"{j.alias}_{i}$not": _join(rule, j)} for i, j in enumerate(when.without)]
    return {"all": patterns}


def _effective(rule: RuleSpec) -> list[dict[str, Any]]:
    window = []
    if rule.effective_from:
        window.append({"$gte": {"as_of_day": rule.effective_from.toordinal()}})
    if rule.effective_to:
        window.append({"$lte": {"as_of_day": rule.effective_to.toordinal()}})
    return window


def _join(rule: RuleSpec, join: Join) -> dict[str, Any]:
    terms: list[dict[str, Any]] = [{"kind": join.part}]
    for theirs, ours in sorted(join.join.items()):
        alias, _, field = ours.rpartition(".") if "." in ours else (MATCHED, "", ours)
        terms.append({theirs: {alias: field}})
    return _and(terms + [_test(rule, t) for t in join.where])


def _and(terms: list[dict[str, Any]]) -> dict[str, Any]:
    return terms[0] if len(terms) == 1 else {"$and": terms}


def _or(terms: list[dict[str, Any]]) -> dict[str, Any]:
    return terms[0] if len(terms) == 1 else {"$or": terms}


def _test(rule: RuleSpec, test: Test) -> dict[str, Any]:
    match test:
        case AllOf(all=tests):
            return _and([_test(rule, t) for t in tests])
        case AnyOf(any=tests):
            return _or([_test(rule, t) for t in tests])
        case Condition():
            return _condition(test, rule.value(test.value))
    raise CompileError(f"{rule.id}: unknown test {test!r}")


def _missing(field: str) -> dict[str, Any]:
    return {"$nex": {field: 1}}


def _condition(c: Condition, value: Any) -> dict[str, Any]:
    f = c.field
    match c.op:
        case "==":
            return {f: value}
        case "!=":  # a missing field is "not equal" too; the engine's $neq alone skips it
            return _or([{"$neq": {f: value}}, _missing(f)])
        case "<" | "<=" | ">" | ">=":
            return {_COMPARISONS[c.op]: {f: value}}
        case "in":
            return _or([{f: v} for v in _values(c, value)])
        case "not_in":
            return _or([_and([{"$neq": {f: v}} for v in _values(c, value)]), _missing(f)])
        case "missing":
            return _missing(f)
        case "present":
            return {"$ex": {f: 1}}
        case "contains":
            return {"$iany": {f: {"$i": value}}}
        case "lacks":
            return _or([_missing(f), {"$iall": {f: {"$neq": {"$i": value}}}}])
        case "lacks_any":
            return _or([_missing(f), *({"$iall": {f: {"$neq": {"$i": v}}}}
                                       for v in _values(c, value))])
        case "matches":
            return {"$mt": {f: value}}
        case "older_than":
            return {"$gt": {f + AGE: _days(c, value)}}
        case "within":
            return _and([{"$gte": {f + AGE: 0}}, {"$lte": {f + AGE: _days(c, value)}}])
        case "in_future":
            return {"$lt": {f + AGE: 0}}
    raise CompileError(f"unknown operator {c.op}")


def _values(c: Condition, value: Any) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise CompileError(f"'{c.op}' on {c.field} needs a non-empty list of values")
    return value


def _days(c: Condition, value: Any) -> int:
    try:
        return Duration.model_validate(value).in_days()
    except ValueError:
        raise CompileError(f"'older_than' on {c.field} needs days, months or years") from None
