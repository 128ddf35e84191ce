"""Tooling for policy experts: lint rule files, explain a decision, diff two rule sets.

(Running the test cases is `testing.py`.)"""

import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from services.rules.core.compiler import (
    CompileError,
    assertion_order,
    compile_rule,
    compile_rulesets,
)
from services.rules.core.domain import RuleBook
from services.rules.core.language import (
    Duration,
    Ref,
    RuleFile,
    RuleSpec,
    all_conditions,
    conditions,
)
from services.rules.core.operators import AGE_OPS
from services.rules.core.presenting import presentation
from services.rules.core.vocabulary import KINDS, field_exists, field_type, parts_of, unknown_parts
from services.rules.factory import (
    TESTS_SUFFIX,
    declared_part_problems,
    engine_patterns,
    load_rulebook,
    parameter_problems,
    probe_patterns,
    rule_files,
)
from services.rules.tooling.testing import case_file
from services.shared import covenants, i18n
from services.shared.covenants import Covenants
from services.shared.yamlfile import LintError, read, validation_errors
from services.shared.yamlfile import line_of as _line

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")


# --- lint ---------------------------------------------------------------------------------

def lint(rules_dir: Path) -> list[LintError]:
    """Every problem of the rule files, the covenant definitions and the frameworks of a rules
    folder, each at its file and line."""
    files = rule_files(rules_dir)
    if not files:
        return [LintError(rules_dir, 0, "no rule files (*.yaml) here")]
    defined, errors = covenants.lint(rules_dir)
    if errors:  # the rules are read against the covenants: a broken definition would make
        return errors  # every rule in its scope wrong too, burying the one problem
    with covenants.using(defined):  # the parts and instruments the folder's covenants declare
        return _lint_folder(rules_dir, files, defined, errors)


def _lint_folder(rules_dir: Path, files: list[Path], defined: Covenants,
                 errors: list[LintError]) -> list[LintError]:
    """The rule files' problems after the covenants' (`errors`); the checks that need rules
    and covenants that load run only when there are none."""
    seen: dict[str, tuple[Path, int]] = {}
    patterns: dict[str, list[tuple[Path, int, str]]] = {}  # pattern -> where it is used
    rules: list[RuleSpec] = []
    for path in files:
        errors += _lint_file(path, seen, patterns, defined, rules)
    known = None if errors else seen  # the rules there are, once every rule file reads
    for path in sorted(rules_dir.glob(f"*{TESTS_SUFFIX}")):  # the test cases beside them
        errors += case_file(path, known)[1]
    unsafe = probe_patterns(patterns)
    errors += [LintError(path, line, f"{rule_id}: pattern '{pattern}': {why}")
               for pattern, why in unsafe.items() for path, line, rule_id in patterns[pattern]]
    if not errors:  # the covenants' parts and parameters, and the frameworks, against rules
        errors += declared_part_problems(defined) or parameter_problems(defined, rules)
    if not errors:
        from .frameworks import lint_frameworks

        rulebook = load_rulebook(rules_dir)
        errors += _ruleset_problems(rulebook) + lint_frameworks(rules_dir, rulebook)
    return errors


def _ruleset_problems(rulebook: RuleBook) -> list[LintError]:
    """What keeps the rules in a covenant's scope from compiling together (their negations
    in a cycle across rules), at the covenant's definition."""
    problems = []
    for covenant in rulebook.covenants:
        with parts_of(covenant.name):
            try:
                compile_rulesets(covenant.name, rulebook.in_scope(covenant.name))
            except CompileError as e:
                problems.append(LintError(covenant.definition, 0, f"the rules in scope of "
                                          f"{covenant.name} do not compile together: {e}"))
    return problems


def _lint_file(path: Path, seen: dict[str, tuple[Path, int]],
               patterns: dict[str, list[tuple[Path, int, str]]],
               defined: Covenants, found: list[RuleSpec]) -> list[LintError]:
    tree, document, errors = read(path)
    if tree is None and errors:
        return errors
    try:
        rules = RuleFile.model_validate(document).rules
    except ValidationError as e:
        return validation_errors(path, tree, e, "rules")
    found += rules
    for i, rule in enumerate(rules):
        line = _line(tree, ("rules", i))
        errors += [LintError(path, _line(tree, ("rules", i, "scope", j)), f"{rule.id}: scope "
                             f"names '{c}', which no covenant under {defined.folder} is")
                   for j, c in enumerate(rule.scope) if c not in defined]
        if rule.id in seen:
            first = seen[rule.id]
            errors.append(LintError(path, line, f"{rule.id}: duplicate id (first at "
                                                f"{first[0].name}:{first[1]})"))
        seen.setdefault(rule.id, (path, line))
        problems = _for_each_covenant(rule, defined)
        errors += [LintError(path, line, f"{rule.id}: {m}") for m in problems]
        if not problems and rule.when is not None:  # the engine compiles what lint passed
            for pattern in engine_patterns(compile_rule(rule)):
                patterns.setdefault(pattern, []).append((path, line, rule.id))
    return errors


def _for_each_covenant(rule: RuleSpec, defined: Covenants) -> list[str]:
    """The rule's problems with the parts of each covenant whose plans can have every part it
    names (a part may stand for another list in each covenant's section), each said once;
    as a covenant's when only some have it. A rule no covenant has every part of is linted
    with every covenant's parts."""
    scope: list[str | None] = [c for c in rule.scope if c in defined and _has_parts(rule, c)]
    found: dict[str, list[str]] = {}
    for covenant in scope or [None]:
        with parts_of(covenant):
            for problem in lint_rule(rule):
                found.setdefault(problem, []).append(covenant or "")
    return [problem if len(where) == max(len(scope), 1) else
            f"for {', '.join(where)}: {problem}" for problem, where in found.items()]


def _has_parts(rule: RuleSpec, covenant: str) -> bool:
    with parts_of(covenant):
        return set(rule.parts_named()) <= set(KINDS)


def lint_rule(rule: RuleSpec) -> list[str]:
    problems = []
    problems += _reference_problems(rule)
    for what in ("title", "message", "guidance"):
        text = getattr(rule, what)
        if not text.nl.strip() or not text.en.strip():
            problems.append(f"{what} lacks a Dutch or an English text")
    if rule.when is None:  # disabled, no condition: nothing more to check
        return problems
    texts = [("messages", t) for t in _messages(rule)] + [
        ("severity reasons", e.reason) for e in rule.escalate]
    problems += sorted({f"the Dutch and English {what} use different placeholders"
                        for what, text in texts if _placeholders_differ(text)})
    unknown = unknown_parts(rule.parts_named())
    if unknown:  # their fields, types and compilation cannot be judged
        return [*problems, unknown]
    problems += _unknown_fields(rule)
    problems += _type_problems(rule)
    problems += _unknown_placeholders(rule)
    problems += _units_twice(rule, texts)
    problems += _unused_parameters(rule)
    try:
        compile_rule(rule)
        assertion_order([rule])  # a part both joined and asked absent: never decided
    except (CompileError, KeyError) as e:
        problems.append(f"does not compile: {e}")
    return problems


def _unknown_fields(rule: RuleSpec) -> list[str]:
    problems = [f"{part}: unknown field '{c.field}'" for part, c in all_conditions(rule)
                if not field_exists(part, c.field)]
    for when in rule.matches:
        aliases = {j.alias: j.part for j in [*when.with_,
                                             *(j for e in rule.escalate for j in e.with_)]}
        for join in [*when.with_, *when.without, *(j for e in rule.escalate for j in e.with_)]:
            for theirs, ours in join.join.items():
                if not field_exists(join.part, theirs):
                    problems.append(f"{join.part}: unknown field '{theirs}' in join")
                head, _, rest = ours.partition(".")
                part, field = (aliases[head], rest) if rest and head in aliases else (
                    when.subject, ours)
                if not field_exists(part, field):
                    problems.append(f"join refers to unknown field '{ours}'")
    for _, m in rule.measures():
        for quantity in (m.sum, m.divide_by, m.min, m.max, *m.group_by):
            if quantity and not field_exists(m.of, quantity):
                problems.append(f"{m.of}: unknown field '{quantity}' in measure")
    return problems


def _type_problems(rule: RuleSpec) -> list[str]:
    """Comparisons of a date with a number (or other incompatible kinds of value), and date
    operators on fields that hold no date."""
    problems = []
    for when in rule.matches:
        bound = {when.subject: when.subject}
        places = [(when.subject, when.where)]
        for join in [*when.with_, *(j for e in rule.escalate for j in e.with_)]:
            places.append((join.part, join.where))
        places += [(j.part, j.where) for j in when.without]
        places += [(when.subject, e.where) for e in rule.escalate]
        bound |= {j.alias: j.part for j in [*when.with_,
                                              *(j for e in rule.escalate for j in e.with_)]}
        for kind, tests in places:
            for c in conditions(tests):
                mine = field_type(kind, c.field)
                if c.op in AGE_OPS and mine not in (None, "date"):
                    problems.append(f"{kind}: '{c.op}' needs a date, and {c.field} is a {mine}")
                try:
                    value = rule.value(c.value)
                except KeyError:  # an unknown parameter: reported as not compiling
                    continue
                if not isinstance(value, Ref) or c.op == "in":
                    continue
                head, _, rest = value.field.partition(".")
                theirs = (field_type("submission", rest) if head == "submission" else
                          field_type(bound[head], rest) if rest and head in bound else
                          field_type(kind, value.field))
                if mine and theirs and mine != theirs:
                    problems.append(f"{kind}: {c.field} (a {mine}) cannot be compared with "
                                    f"{value.field} (a {theirs})")
                if isinstance(value.plus, Duration) and value.plus.calendar and "date" not in (
                        mine, theirs):
                    problems.append(f"{kind}: months or years are added to {value.field}, "
                                    "which holds no date")
    return problems


def _alias_part(rule: RuleSpec, alias: str) -> str | None:
    return next((j.part for w in rule.matches for j in w.with_ if j.alias == alias), None)


def _reference_problems(rule: RuleSpec) -> list[str]:
    """Known instruments; one covenant's instrument only on rules of that covenant; a locator
    in words translated (services/shared/i18n/instruments.yaml)."""
    problems = []
    for ref in rule.references:
        if ref.instrument not in i18n.instruments():
            problems.append(f"unknown reference instrument '{ref.instrument}' (known: "
                            f"{', '.join(sorted(i18n.instruments()))})")
            continue
        covenant = ref.covenant or i18n.instrument_covenant(ref.instrument)
        if covenant and covenant not in rule.scope:
            problems.append(f"reference {ref} belongs to the {covenant} covenant, which is "
                            f"not in the rule's scope")
        if i18n.WORDS.search(ref.locator) and ref.locator not in i18n.locators():
            problems.append(f"reference {ref}: the locator '{ref.locator}' is in words but "
                            f"has no Dutch and English in services/shared/i18n/"
                            f"instruments.yaml (locators)")
    return problems


_UNIT_BESIDE = {"percent": re.compile(r"^\s?%"), "share": re.compile(r"^\s?%"),
                "euros": re.compile(r"(EUR|€)\s?$")}


def _units_twice(rule: RuleSpec, texts: list[tuple[str, Any]]) -> list[str]:
    """A placeholder shown as a percentage or an amount brings its own % or €."""
    problems = set()
    for k in range(len(rule.matches)):
        for _, text in texts:
            for words in (text.nl, text.en):
                for m in _PLACEHOLDER.finditer(words):
                    how = presentation(rule, k, m.group(1))
                    unit = _UNIT_BESIDE.get(how)
                    beside = words[m.end():] if how != "euros" else words[:m.start()]
                    if unit and unit.search(beside):
                        problems.add(f"placeholder {{{m.group(1)}}} is shown as "
                                     f"{'an amount in euros' if how == 'euros' else 'a percentage'}"
                                     f" with its unit: leave out the unit beside it")
    return sorted(problems)


def _placeholders_differ(text: Any) -> bool:
    return set(_PLACEHOLDER.findall(text.nl)) != set(_PLACEHOLDER.findall(text.en))


def _messages(rule: RuleSpec) -> list[Any]:
    return [rule.message_of(k) for k in range(len(rule.matches))]


def _unknown_placeholders(rule: RuleSpec) -> list[str]:
    """Every placeholder of each alternative's message names a field that alternative matches
    (an escalation's reason may also name the parts it joins)."""
    problems = []
    for k, when in enumerate(rule.matches):
        base = {j.alias: j.part for j in when.with_}
        texts = [(rule.message_of(k), base)] + [
            (e.reason, {**base, **{j.alias: j.part for j in e.with_}}) for e in rule.escalate]
        for text, aliases in texts:
            for name in sorted(set(_PLACEHOLDER.findall(text.en))):
                head, _, rest = name.partition(".")
                if head == "param":
                    ok = rest in rule.parameters
                elif head in aliases and rest:
                    ok = field_exists(aliases[head], rest)
                else:
                    ok = field_exists(when.subject, name)
                if not ok:
                    problems.append(f"placeholder {{{name}}} names nothing alternative "
                                    f"{k + 1} matches")
    return sorted(set(problems))


def _unused_parameters(rule: RuleSpec) -> list[str]:
    used = {c.value["param"] for _, c in all_conditions(rule)
            if isinstance(c.value, dict) and "param" in c.value}
    used |= {c.value.moved_by.param for _, c in all_conditions(rule)
             if isinstance(c.value, Ref) and c.value.moved_by is not None}
    used |= {n.removeprefix("param.") for text in _messages(rule)
             for n in _PLACEHOLDER.findall(text.en) if n.startswith("param.")}
    return [f"parameter '{p}' is not used" for p in sorted(set(rule.parameters) - used)]

