"""Compiles rule specifications to durable-rules JSON rulesets (pure; no engine import).

Every rule is one engine rule named by its id. The matched part is bound as `fact`; an absence
becomes the engine's negation `absent$not` joined to `fact` by field equality. Rules are split
into rulesets of at most MAX_RULES_PER_RULESET, well below the engine's alpha-stack limit of
64 pending matches per fact.
"""

from typing import Any

from .domain import AllOf, AnyOf, Condition, RuleSpec, Test

MAX_RULES_PER_RULESET = 24
MATCHED = "fact"
ABSENT = "absent$not"

_COMPARISONS = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}


class CompileError(ValueError):
    pass


def compile_rule(rule: RuleSpec) -> dict[str, Any]:
    patterns: list[dict[str, Any]] = [{MATCHED: _pattern(rule.when.part, rule.when.where)}]
    if rule.when.without:
        absent = rule.when.without
        joins = [{theirs: {MATCHED: ours}} for theirs, ours in sorted(absent.join.items())]
        patterns.append({ABSENT: _and([{"kind": absent.part}, *joins,
                                       *map(_test, absent.where)])})
    return {"all": patterns}


def chunks(rules: list[RuleSpec]) -> list[list[RuleSpec]]:
    return [rules[i:i + MAX_RULES_PER_RULESET] for i in range(0, len(rules), MAX_RULES_PER_RULESET)]


def negated_kinds(rules: list[RuleSpec]) -> frozenset[str]:
    return frozenset(r.when.without.part for r in rules if r.when.without)


def _pattern(kind: str, where: list[Test]) -> dict[str, Any]:
    return _and([{"kind": kind}, *map(_test, where)])


def _and(terms: list[dict[str, Any]]) -> dict[str, Any]:
    return terms[0] if len(terms) == 1 else {"$and": terms}


def _test(test: Test) -> dict[str, Any]:
    match test:
        case AllOf(all=tests):
            return _and([_test(t) for t in tests])
        case AnyOf(any=tests):
            return {"$or": [_test(t) for t in tests]}
        case Condition():
            return _condition(test)
    raise CompileError(f"unknown test {test!r}")


def _condition(c: Condition) -> dict[str, Any]:
    match c.op:
        case "==":
            return {c.field: c.value}
        case "!=":
            # a missing field is "not equal" too; the engine's $neq alone would not match it
            return {"$or": [{"$neq": {c.field: c.value}}, {"$nex": {c.field: 1}}]}
        case "<" | "<=" | ">" | ">=":
            return {_COMPARISONS[c.op]: {c.field: c.value}}
        case "in":
            return {"$or": [{c.field: v} for v in _values(c)]}
        case "not_in":
            return {"$or": [_and([{"$neq": {c.field: v}} for v in _values(c)]),
                            {"$nex": {c.field: 1}}]}
        case "missing":
            return {"$nex": {c.field: 1}}
        case "present":
            return {"$ex": {c.field: 1}}
    raise CompileError(f"unknown operator {c.op}")


def _values(c: Condition) -> list[Any]:
    if not isinstance(c.value, list) or not c.value:
        raise CompileError(f"'{c.op}' on {c.field} needs a non-empty list of values")
    return c.value


def compile_rulesets(prefix: str, rules: list[RuleSpec]) -> dict[str, dict[str, Any]]:
    """{ruleset name: {rule id: engine rule}}, split in chunks."""
    return {
        f"{prefix}-{i}": {r.id: compile_rule(r) for r in chunk}
        for i, chunk in enumerate(chunks(rules))
    }

