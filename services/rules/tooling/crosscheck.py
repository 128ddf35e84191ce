"""The engine cross-check: the findings a plan should get, computed without durable-rules.

`plain_findings` reads the rules as written (the rule language, not the compiled engine
conditions) and applies them to the same facts the engine is given: a rule matches each subject
fact that is inside the rule's effective window and passes `where`, once for every combination
of `with` partners, when no `without` part exists. It shares the fact builder and the meaning of
one condition (`evaluator.py`) with the rest of the service, and nothing else: a disagreement
with the engine is a fault in the compiler, in the engine or in the assertion order.

`generated_plans` builds varied plans from the rule test cases: each one a fixture with the
patches of several cases of that fixture applied together, so that rules meet combinations of
faults the hand-written cases never show them, and then a few random changes to single values
(a field removed, a date or a number moved across a boundary, a flag flipped, a list shortened)
so that conditions meet missing fields and edge values.
"""

import copy
import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from services.rules.core.compiler import reads_outcomes
from services.rules.core.domain import Match, as_of, finding_of, ordered, owner_of
from services.rules.core.evaluator import all_hold
from services.rules.core.facts import Fact, grouped, submission_values
from services.rules.core.language import RuleSpec
from services.rules.core.prior import Prior
from services.rules.core.values import Duration
from services.rules.core.vocabulary import parts_of
from services.rules.factory import TESTS_SUFFIX
from services.rules.ports import RuleEngine
from services.rules.tooling.explain import partners, subjects
from services.rules.tooling.testing import (
    Case,
    PlanSource,
    apply,
    case_plan,
    case_prior,
    read_cases,
)
from services.shared.contracts import Finding, PlanInvalid, PlanSubmission, validate_plan
from services.shared.yamlfile import load_yaml


@dataclass
class CrossCheck:
    plans: int = 0
    findings: int = 0  # by the engine
    fired: Counter[str] = field(default_factory=Counter)  # rule id -> findings
    # (submission id, [(rule id, pointers, "engine only" | "reading only")])
    disagreements: list[tuple[str, list[tuple[str, tuple[str, ...], str]]]] = field(
        default_factory=list)


def cross_check(engine: RuleEngine,
                plans: Iterable[tuple[PlanSubmission, Prior]]) -> CrossCheck:
    """Evaluate every plan both ways and record where the findings differ."""
    report = CrossCheck()
    for plan, prior in plans:
        # a finding is the same when its id (company, rule, parts), its places, its message
        # and its severity are
        by_engine = {_same(f): f for f in engine.evaluate(plan, prior)}
        by_reading = {_same(f): f for f in plain_findings(engine, plan, prior)}
        report.plans += 1
        report.findings += len(by_engine)
        report.fired.update(f.rule_id for f in by_engine.values())
        if by_engine.keys() != by_reading.keys():
            report.disagreements.append((plan.submission.submission_id, sorted(
                (f.rule_id, tuple(f.pointers), f"engine only ({f.severity.value})"
                 if i in by_engine else f"reading only ({f.severity.value})")
                for i, f in {**by_engine, **by_reading}.items()
                if (i in by_engine) != (i in by_reading))))
    return report


def _same(f: Finding) -> tuple[str, tuple[str, ...], str, str]:
    return (f.finding_id, tuple(f.pointers), f.message.en, f.severity.value)


def case_plans(rules_dir: Path) -> Iterator[tuple[PlanSubmission, Prior]]:
    """The plan and history of every rule test case."""
    for path in sorted(rules_dir.glob(f"*{TESTS_SUFFIX}")):
        for case in read_cases(path):
            yield validate_plan(case_plan(rules_dir, path, case)), case_prior(rules_dir, path, case)


def plain_findings(engine: RuleEngine, plan: PlanSubmission,
                   prior: Prior | None = None) -> list[Finding]:
    facts = engine.facts(plan, prior)
    rules = [r for r in engine.rulebook.in_scope(plan.covenant) if r.in_force(as_of(plan))]
    with parts_of(plan.covenant):  # its parts as its covenant declares them
        first = _read(plan, [r for r in rules if not reads_outcomes(r)], grouped(facts))
        then = _read(plan, [r for r in rules if reads_outcomes(r)],
                     grouped(facts + engine.outcome_facts(plan, first)))
    return ordered(first + then)


def _read(plan: PlanSubmission, rules: list[RuleSpec],
          by_kind: dict[str, list[Fact]]) -> list[Finding]:
    """The findings of the rules, read plainly on the facts."""
    submission = submission_values(plan)
    found = []
    for rule in rules:
        for k, when in enumerate(rule.matches):
            for fact in subjects(rule, by_kind, k):
                env = {"submission": submission, when.subject: fact}
                if not all_hold(rule, when.where, fact, env):
                    continue
                for joined in _combinations(rule, k, fact, by_kind, when.with_, submission):
                    if any(partners(rule, j, fact, joined, by_kind, submission, k)
                           for j in when.without):
                        continue
                    raised = _escalation(rule, k, fact, joined, by_kind, submission)
                    found.append(finding_of(Match(rule, fact, joined, raised, k),
                                            owner_of(plan)))
    return found


def _escalation(rule: RuleSpec, k: int, fact: Fact, joined: dict[str, Fact],
                by_kind: dict[str, list[Fact]], submission: dict[str, Any]) -> Any:
    """The first escalation whose conditions hold for the match, or None."""
    for escalation in rule.escalate:
        env = {"submission": submission, rule.matches[k].subject: fact}
        if all_hold(rule, escalation.where, fact, env) and any(
                True for _ in _combinations(rule, k, fact, by_kind, escalation.with_,
                                            submission, joined)):
            return escalation
    return None


def _combinations(rule: RuleSpec, k: int, fact: Fact, by_kind: dict[str, list[Fact]],
                  joins: list[Any], submission: dict[str, Any],
                  start: dict[str, Fact] | None = None) -> Iterator[dict[str, Fact]]:
    """Every assignment of partners to the joins' aliases, in order (a later join may refer
    to an earlier alias)."""

    def extend(joined: dict[str, Fact], rest: list) -> Iterator[dict[str, Fact]]:
        if not rest:
            yield joined
            return
        join, *others = rest
        for partner in partners(rule, join, fact, joined, by_kind, submission, k):
            yield from extend({**joined, join.alias: partner}, others)

    yield from extend(dict(start or {}), list(joins))


def generated_plans(rules_dir: Path, count: int, seed: int, most_patches: int = 4,
                    most_changes: int = 3) -> Iterator[tuple[PlanSubmission, Prior]]:
    """`count` valid plans, each a fixture with the patches of 1..most_patches cases of that
    fixture and 0..most_changes random changes, with the history of one of those cases. Plans
    that do not build or do not validate are skipped; the same seed gives the same plans."""
    by_base: dict[str, list[tuple[Path, Case]]] = {}
    for path in sorted(rules_dir.glob(f"*{TESTS_SUFFIX}")):
        for case in read_cases(path):
            if case.base:
                by_base.setdefault(case.base, []).append((path, case))
    rng = random.Random(seed)
    lengths = windows(rules_dir)
    bases = sorted(by_base)
    fixtures = {base: case_plan(rules_dir, by_base[base][0][0], PlanSource(base=base))
                for base in bases}
    made = 0
    for _ in range(count * 50):
        base = rng.choice(bases)
        chosen = rng.sample(by_base[base], k=min(len(by_base[base]),
                                                 rng.randint(1, most_patches)))
        try:
            document = copy.deepcopy(fixtures[base])
            for _path, case in chosen:
                for pointer, value in case.patch.items():
                    apply(document, pointer, value)
            for _change in range(rng.randint(0, most_changes)):
                change(document, rng, lengths)
            plan = validate_plan(document)
            path, case = rng.choice(chosen)
            prior = case_prior(rules_dir, path, case)
        except (PlanInvalid, KeyError, IndexError, ValueError, TypeError):
            continue
        made += 1
        yield plan, prior
        if made == count:
            return
    raise ValueError(f"only {made} of {count} combinations of the cases' patches gave a valid plan")


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SHIFTS = (-400, -366, -31, -1, 1, 31, 366, 400)


def windows(rules_dir: Path) -> list[Duration]:
    """Every length of time the rule files name (a parameter's default, a condition's value,
    a reference threshold): the windows whose edges the changed dates are moved onto."""
    found: set[Duration] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node and set(node) <= {"days", "months", "years"} and all(
                    isinstance(v, int) for v in node.values()) and any(node.values()):
                found.add(Duration.model_validate(node))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in sorted(rules_dir.rglob("*.yaml")):
        if not path.name.endswith(TESTS_SUFFIX):
            walk(load_yaml(path.read_bytes()))
    return sorted(found, key=lambda d: (d.calendar, d.days, d.in_months))


def change(document: Any, rng: random.Random, lengths: list[Duration]) -> None:
    """One random change to one value of the plan (never to its `submission` header): a value
    removed, a flag flipped, a number moved by one or to 0, a list shortened, or a date moved,
    often onto a boundary of the rules: the submission date, the day after it, or exactly one
    of the rules' windows (`lengths`) before it and the day before that."""
    slots = [s for s in _slots(document) if s[2] != "submission"]
    parent, key, _ = rng.choice(slots)
    value = parent[key]
    if isinstance(parent, dict) and rng.random() < 0.15:
        del parent[key]
    elif isinstance(value, bool):
        parent[key] = not value
    elif isinstance(value, int | float):
        parent[key] = rng.choice([0, value - 1, value + 1, value * 2])
    elif isinstance(value, str) and _DATE.fullmatch(value):
        parent[key] = rng.choice(_moved(value, _as_of(document), lengths)).isoformat()
    elif isinstance(value, list) and value:
        del value[rng.randrange(len(value))]
    elif isinstance(parent, dict):
        del parent[key]


def _as_of(document: Any) -> date:
    return date.fromisoformat(document["submission"]["submitted_at"][:10])


def _moved(value: str, as_of: date, lengths: list[Duration]) -> list[date]:
    day = date.fromisoformat(value)
    boundaries = [as_of, as_of + timedelta(1)]
    for length in lengths:
        edge = Duration(days=-length.days, months=-length.in_months).after(as_of)
        boundaries += [edge, edge - timedelta(1)]
    return list(dict.fromkeys([day + timedelta(shift) for shift in _SHIFTS] + boundaries))


def _slots(node: Any, top: str = "") -> Iterator[tuple[Any, Any, str]]:
    """(container, key, top-level field) for every value under the document."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        where = top or str(key)
        yield node, key, where
        if isinstance(value, dict | list):
            yield from _slots(value, where)
