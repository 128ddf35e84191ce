"""Compiles rules to durable-rules JSON rulesets (pure; no engine import).

Every alternative of a rule becomes one engine rule, named by the rule id (`<id>|<k>` for the
k-th alternative after the first), and one more per escalation (`...^<n>`). The matched part is
bound as `fact`, each `with` part under its alias, each `without` part as a negation
(`<alias>_<i>$not`). Rules are split into rulesets of at most MAX_RULES_PER_RULESET (the
engine fails beyond 64 pending matches per fact), those that read the other rules' outcomes
into rulesets evaluated last; each ruleset knows which fact kinds it needs, which of them must
be asserted first (negation is decided when the positive fact arrives), and which derived
fields its conditions read.

Derived fields are how the engine compares what it cannot compare itself: the fact builder
adds them, only where a compiled rule asks (`CompiledRuleset.derived`):

- `<field>__age_days`, `<field>__age_mk`: a date's age at the submission date, in days and in
  month keys (below); `older_than`, `within` and `in_future` compare them with constants;
- `<field>__n`: a number, or a date as a day number; `<field>__mk` / `<field>__mke`: a date as
  a month key, `(12 * year + month) * 32 + day`, where `__mke` counts the last day of a
  month as day 31. With them "D1 <= D2 + N months" is "D1__mk <= D2__mk + 32 N" under the
  end-of-month rule (`language.add_months`), and "D1 >= D2 + N months" is
  "D1__mke >= D2__mk + 32 N"; `tests/unit/test_calendar.py` checks both at every boundary;
- `<field>__<conversion>__lo` / `__hi`: the same for a field that another pattern refers to,
  never missing (the engine fails on a reference to a missing field): a missing value is
  -10^12 (`__lo`, for `<` and `<=`) or +10^12 (`__hi`, for `>` and `>=`), so the comparison is
  false, as a comparison with a missing value is;
- `s__<name>__<conversion>`: a value of the submission (`submission.reporting_year`), copied
  onto the facts that compare with it;
- `<field>__k`: a join key, never missing (a sentinel that equals nothing);
- `<field>__<i>`: the i-th value of a reference-data list (slots), padded with the sentinel;
  `x in country.languages` is an equality with any slot (the engine's own list operators fail
  on references to another fact: see `tests/unit/test_rules_engine.py`).

(The names above are how they appear in the engine; `Derived` declares each once: the compiler
asks for them, `facts.derive` adds them, and a dot in a field's name becomes `·`.)
"""

import functools
from dataclasses import dataclass, field
from typing import Any

from services.rules.core.language import (
    AllOf,
    AnyOf,
    Condition,
    Duration,
    Join,
    Match,
    Ref,
    RuleSpec,
    Test,
    measure_name,
    parse_own_name,
)
from services.rules.core.operators import (
    COMPARISONS,
    ENGINE_COMPARISONS,
    MONTH,
    OPERATORS,
    CompileError,
    all_of,
    any_of,
    missing,
)

MAX_RULES_PER_RULESET = 24
MATCHED = "fact"
# Every ruleset handles one sentinel fact per evaluation. durable-rules keeps state for a sid
# even when none of its facts was handled (1,025 such sids: MemoryError), and deleting that
# state kills the process (free(): invalid pointer); with one handled fact both are fine.
SENTINEL_RULE = "_evaluation"
SENTINEL_KIND = "evaluation"
FAR = 10**12  # stands for a missing value in a comparison with another field
NOTHING = "\u0001"  # stands for a missing join key or an empty list slot: equals no value
LIST_SLOTS = 8  # CLDR gives a country at most 4 main languages; the engine refuses a pattern
# with 32 references to another fact (error 113 on registering it), 16 pass
SUBMISSION = "submission"
SUBMISSION_FIELDS = frozenset({"as_of", "reporting_year", "submitted_at", "plan_period.start",
                               "plan_period.end"})
ESCALATION = "^"
OUTCOME_KIND = "rule_outcome"  # whether each rule in force found something in this plan


def flat(name: str) -> str:
    """A derived field's name in the engine: at the top of the fact (the engine reads a dotted
    name as a path into nested objects)."""
    return name.replace(".", "\u00b7")



@dataclass(frozen=True)
class Derived:
    """A field the fact builder adds to facts for the engine (see this module's docstring):
    `form` of the value at `field` (of the fact, or of the submission), with a stand-in on the
    `missing` side ("lo" or "hi") when there is no value."""

    field: str
    form: str
    missing: str = ""
    of_submission: bool = False

    @functools.cached_property
    def name(self) -> str:
        """Its name in the engine."""
        prefix = "s__" if self.of_submission else ""
        suffix = f"__{self.missing}" if self.missing else ""
        return flat(f"{prefix}{self.field}__{self.form}{suffix}")

    def slot(self, i: int) -> str:
        """The name of the i-th value of a list (form `slots`)."""
        return flat(f"{self.field}__{i}")


@dataclass(frozen=True)
class CompiledRuleset:
    name: str
    rules: dict[str, dict[str, Any]]  # engine rule name -> {"all": [...]}
    order: tuple[str, ...]  # the fact kinds its rules read, in the order to assert them
    derived: dict[str, frozenset["Derived"]] = field(default_factory=dict)  # kind -> fields
    late: bool = False  # its rules read the other rules' outcomes: evaluated after them

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(self.order)


def engine_rule(name: str) -> tuple[str, int, int | None]:
    """(rule id, alternative, escalation index or None) of an engine rule name."""
    name, _, index = name.partition(ESCALATION)
    rule_id, alternative = parse_own_name(name)
    return rule_id, alternative, int(index) if index else None


def reads_outcomes(rule: RuleSpec) -> bool:
    """Whether the rule reads this year's outcomes of the other rules (`rule_outcome`): it is
    evaluated after them."""
    return any(kind == OUTCOME_KIND for when in rule.matches
               for kind in (when.subject, *(j.part for j in [*when.with_, *when.without])))


def compile_rulesets(covenant: str, rules: list[RuleSpec]) -> list[CompiledRuleset]:
    """The rulesets of a covenant: first those of the rules that read plan and reference data,
    then those of the rules that read the others' outcomes (`CompiledRuleset.late`)."""
    found = []
    for late in (False, True):
        phase = [r for r in rules if reads_outcomes(r) == late]
        chunks = [phase[i:i + MAX_RULES_PER_RULESET]
                  for i in range(0, len(phase), MAX_RULES_PER_RULESET)]
        prefix = f"{covenant}-late" if late else covenant
        found += [_ruleset(f"{prefix}-{i}", chunk, late) for i, chunk in enumerate(chunks)]
    return found


def _ruleset(name: str, rules: list[RuleSpec], late: bool) -> CompiledRuleset:
    compiled: dict[str, dict[str, Any]] = {
        SENTINEL_RULE: {"all": [{MATCHED: {"kind": SENTINEL_KIND}}]}}
    needs: dict[str, set[Derived]] = {}
    for rule in rules:
        for engine_name, definition in compile_rule(rule, needs).items():
            compiled[engine_name] = definition
    derived = {kind: frozenset(names) for kind, names in needs.items()}
    return CompiledRuleset(name, compiled, (SENTINEL_KIND, *assertion_order(rules)), derived,
                           late)


def assertion_order(rules: list[RuleSpec]) -> tuple[str, ...]:
    """Every kind the rules read, each rule's negated kinds before its positive ones (the
    engine decides a negation when the positive facts are complete). Ties by name."""
    before: dict[str, set[str]] = {}  # kind -> kinds that must come earlier
    for rule in rules:
        for when in rule.matches:
            joins = [*when.with_, *(j for e in rule.escalate for j in e.with_)]
            positive = [when.subject, *(j.part for j in joins)]
            negated = [j.part for j in when.without]
            for kind in positive + negated:
                before.setdefault(kind, set())
            for kind in positive:
                before[kind].update(negated)
    order: list[str] = []
    while before:
        ready = sorted(k for k, deps in before.items() if not deps - set(order))
        if not ready:
            raise CompileError("parts read as present and as absent in a cycle ("
                               + ", ".join(sorted(before)) + "): a part a rule joins cannot "
                               "also be one it asks to be absent, in it or in another rule")
        order.append(ready[0])
        del before[ready[0]]
    return tuple(order)


# --- one rule -------------------------------------------------------------------------------

@dataclass
class _Scope:
    """What a pattern can refer to: the aliases bound before it, by the names a rule uses."""

    rule: RuleSpec
    needs: dict[str, set[Derived]]
    own: str = ""  # the engine rule's name without escalation: names its measures
    bound: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (alias, kind)
    current: str = MATCHED  # the alias of the pattern being compiled

    @property
    def subject(self) -> str:
        """The kind of the matched part."""
        return next(kind for alias, kind in self.bound.values() if alias == MATCHED)

    def need(self, kind: str, derived: Derived) -> str:
        """Asks for a derived field on the facts of a kind; returns its name in the engine."""
        self.needs.setdefault(kind, set()).add(derived)
        return derived.name

    def bind(self, name: str, alias: str, kind: str) -> None:
        self.bound[name] = (alias, kind)


def compile_rule(rule: RuleSpec, needs: dict[str, set[Derived]] | None = None
                 ) -> dict[str, dict[str, Any]]:
    """The engine rules of one rule: the rule itself and one per escalation."""
    needs = {} if needs is None else needs
    compiled = {}
    for k, when in enumerate(rule.matches):
        name = rule.own_name(k)
        compiled[name] = {"all": _patterns(rule, name, when, needs, [], [])}
        for i, escalation in enumerate(rule.escalate):
            compiled[f"{name}{ESCALATION}{i}"] = {
                "all": _patterns(rule, name, when, needs, escalation.where, escalation.with_)}
    return compiled


def _patterns(rule: RuleSpec, own: str, when: Match, needs: dict[str, set[Derived]],
              extra_where: list[Test], extra_with: list[Join]) -> list[dict[str, Any]]:
    scope = _Scope(rule, needs, own=own)
    subject = when.subject
    scope.bind(subject, MATCHED, subject)
    terms: list[dict[str, Any]] = [{"kind": subject}]
    if when.measure:
        terms.append({"rule": own})
    terms += _effective(rule)
    terms += [_test(scope, subject, t) for t in [*when.where, *extra_where]]
    patterns: list[dict[str, Any]] = [{MATCHED: all_of(terms)}]
    for join in [*when.with_, *extra_with]:
        scope.current = join.alias
        patterns.append({join.alias: _join(scope, join)})
        scope.bind(join.alias, join.alias, join.part)
    for i, join in enumerate(when.without):
        scope.current = f"{join.alias}_{i}$not"
        patterns.append({scope.current: _join(scope, join)})
    return patterns


def _effective(rule: RuleSpec) -> list[dict[str, Any]]:
    window = []
    if rule.effective_from:
        window.append({"$gte": {"as_of_day": rule.effective_from.toordinal()}})
    if rule.effective_to:
        window.append({"$lte": {"as_of_day": rule.effective_to.toordinal()}})
    return window


def _join(scope: _Scope, join: Join) -> dict[str, Any]:
    terms: list[dict[str, Any]] = [{"kind": join.part}]
    if join.measure:
        terms.append({"rule": measure_name(scope.own, join.alias)})
    for theirs, ours in sorted(join.join.items()):
        alias, kind, name = _other(scope, ours) or (MATCHED, scope.subject, ours)
        terms.append({theirs: {alias: scope.need(kind, Derived(name, "k"))}})
    pattern = _references_first(scope, all_of(terms + [_test(scope, join.part, t)
                                                      for t in join.where]))
    _check_or(scope, pattern)
    return pattern


def _references_first(scope: _Scope, pattern: dict[str, Any]) -> dict[str, Any]:
    """The pattern's terms with no reference to another part's field after any `any`: the
    engine ignores every such reference that follows an `any` in the same pattern (it then
    matches every such part: tests/unit/test_rules_engine.py). In order: the terms with
    neither (the part's kind first, as written), those with a reference, the one with both,
    those with an `any` alone. Two terms that both read another part and hold an `any`
    cannot be put in such an order: CompileError."""
    terms = pattern.get("$and")
    if terms is None:
        return pattern
    reads = [_refers_to_another_part(scope, t) for t in terms]
    branches = [_has_any(t) for t in terms]
    if sum(r and b for r, b in zip(reads, branches, strict=True)) > 1:
        raise CompileError("two conditions of a part read another part's field and each "
                           "holds an `any` (an `in` against another part's list is one): the "
                           "engine would read only the first; make one an alternative of the "
                           "rule")
    rank = {(False, False): 0, (True, False): 1, (True, True): 2, (False, True): 3}
    order = sorted(range(len(terms)), key=lambda i: rank[reads[i], branches[i]])
    return {"$and": [terms[i] for i in order]}


def _has_any(expression: Any) -> bool:
    if isinstance(expression, dict):
        return "$or" in expression or any(_has_any(v) for v in expression.values())
    if isinstance(expression, list):
        return any(_has_any(item) for item in expression)
    return False


_ORDERINGS = frozenset({"$lt", "$lte", "$gt", "$gte", "$neq"})


def _check_or(scope: _Scope, expression: Any, inside_or: bool = False) -> None:
    """Refuses a comparison with another part's field inside an `any`: the engine then
    ignores the other branches (tests/unit/test_rules_engine.py). Equality with another
    part's field (`in` a reference list, join keys) is not affected."""
    if isinstance(expression, list):
        for item in expression:
            _check_or(scope, item, inside_or)
        return
    if not isinstance(expression, dict):
        return
    for key, value in expression.items():
        if inside_or and key in _ORDERINGS and _refers_to_another_part(scope, value):
            raise CompileError("a comparison with another part's field cannot stand in an `any` "
                               "(nor be `!=`); make it an alternative of the rule instead")
        _check_or(scope, value, inside_or or key == "$or")


def _refers_to_another_part(scope: _Scope, expression: Any) -> bool:
    aliases = {alias for alias, _ in scope.bound.values()}
    if isinstance(expression, dict):
        return any((key in aliases and isinstance(value, str))
                   or _refers_to_another_part(scope, value) for key, value in expression.items())
    if isinstance(expression, list):
        return any(_refers_to_another_part(scope, item) for item in expression)
    return False


def _test(scope: _Scope, kind: str, test: Test) -> dict[str, Any]:
    match test:
        case AllOf(all=tests):
            return all_of([_test(scope, kind, t) for t in tests])
        case AnyOf(any=tests):
            return any_of([_test(scope, kind, t) for t in tests])
        case Condition():
            value = scope.rule.value(test.value)
            if isinstance(value, Ref):
                return _compare_fields(scope, kind, test, value)
            return _condition(scope, kind, test, value)
    raise CompileError(f"{scope.rule.id}: unknown test {test!r}")


@dataclass(frozen=True)
class _Site:
    """A condition's field in a pattern (operators.Site)."""

    scope: _Scope
    kind: str
    field: str

    def derived(self, form: str) -> str:
        return self.scope.need(self.kind, Derived(self.field, form))


def _condition(scope: _Scope, kind: str, c: Condition, value: Any) -> dict[str, Any]:
    return OPERATORS[c.op].compile(_Site(scope, kind, c.field), value)


# --- comparisons between two fields ----------------------------------------------------------

def _compare_fields(scope: _Scope, kind: str, c: Condition, ref: Ref) -> dict[str, Any]:
    if c.op == "in":
        return _in_slots(scope, c, ref)
    if c.op not in COMPARISONS:
        raise CompileError(f"'{c.op}' on {c.field} cannot take another field as its value "
                           "(comparisons and 'in' can)")
    offset = ref.offset
    months = offset.in_months if isinstance(offset, Duration) and offset.calendar else None
    if months is None:
        plus = offset.days if isinstance(offset, Duration) else (offset or 0)
        local = scope.need(kind, Derived(c.field, "n"))

        def side(op: str, missing_true: bool = False) -> dict[str, Any]:
            return {ENGINE_COMPARISONS[op]: {local: _ref(scope, kind, ref, "n", op, plus,
                                                   missing_true)}}
    else:
        plus = MONTH * months

        def side(op: str, missing_true: bool = False) -> dict[str, Any]:
            # D1 <= D2 + N months: D1__mk <= D2__mk + 32N; D1 >= D2 + N: D1__mke >= ...
            conv = "mk" if op in ("<=", ">") else "mke"
            local = scope.need(kind, Derived(c.field, conv))
            return {ENGINE_COMPARISONS[op]: {local: _ref(scope, kind, ref, "mk", op, plus,
                                                   missing_true)}}

    match c.op:
        case "==":
            return all_of([side("<="), side(">=")])
        case "!=":  # true when either side is missing
            return any_of([missing(scope.need(kind, Derived(c.field, "n"))), side("<", True),
                        side(">", True)])
    return side(c.op)


def _ref(scope: _Scope, kind: str, ref: Ref, conv: str, op: str, plus: float,
         missing_true: bool = False) -> Any:
    """The engine expression of the other field (+ plus), `conv`erted; missing: far away on
    the side that makes the comparison false (or true, for `!=`)."""
    bound = "lo" if (op in ("<", "<=")) != missing_true else "hi"
    if ref.head == SUBMISSION:
        name = ref.field.removeprefix(SUBMISSION + ".")
        if name not in SUBMISSION_FIELDS:
            raise CompileError(f"'{ref.field}': the submission offers "
                               f"{', '.join(sorted(SUBMISSION_FIELDS))}")
        target: Any = {"$m": scope.need(kind, Derived(name, conv, of_submission=True))}
    else:
        other = _other(scope, ref.field)
        if other is None:
            target = {"$m": scope.need(kind, Derived(_own_field(scope, ref.field), conv, bound))}
        else:
            alias, other_kind, name = other
            target = {alias: scope.need(other_kind, Derived(name, conv, bound))}
    return {"$add": {"$l": target, "$r": plus}} if plus else target


def _other(scope: _Scope, dotted: str) -> tuple[str, str, str] | None:
    """(alias, kind, field) when `dotted` names a field of a part bound before the pattern
    being compiled; None for a field of the pattern's own part."""
    head, _, rest = dotted.partition(".")
    if rest and head in scope.bound and scope.bound[head][0] != scope.current:
        alias, kind = scope.bound[head]
        return alias, kind, rest
    return None


def _own_field(scope: _Scope, dotted: str) -> str:
    """A field of the pattern's own part, named plainly or by the part's own name."""
    head, _, rest = dotted.partition(".")
    own = rest and head in scope.bound and scope.bound[head][0] == scope.current
    return rest if own else dotted


def _in_slots(scope: _Scope, c: Condition, ref: Ref) -> dict[str, Any]:
    other = _other(scope, ref.field)
    if other is None:
        raise CompileError(f"'in' on {c.field} compares with a list of another part "
                           "(`alias.field`), not of its own")
    alias, other_kind, name = other
    slots = Derived(name, "slots")
    scope.need(other_kind, slots)
    return any_of([{c.field: {alias: slots.slot(i)}} for i in range(LIST_SLOTS)])
