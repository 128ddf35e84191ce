"""Tooling for policy experts: lint rule files, explain a decision, diff two rule sets.

(Running the test cases is `testing.py`.)"""

import re
import types
import typing
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import AwareDatetime, BaseModel, ValidationError

from services.rules.core.compiler import CompileError, compile_rule
from services.rules.core.facts import (
    ANNOTATED,
    COMPUTED,
    LINKS,
    PARENT_KEYS,
    PARTS,
    PRIOR_PARTS,
    PROJECTIONS,
)
from services.rules.core.language import (
    INSTRUMENTS,
    Duration,
    Param,
    Ref,
    RuleFile,
    RuleSpec,
    all_conditions,
    conditions,
)
from services.rules.factory import rule_files
from services.shared.contracts import PlanSubmission

COMMON_FIELDS = frozenset({"kind", "pointer", "as_of", "as_of_day", "covenant"})
REFERENCE_FIELDS: dict[str, frozenset[str]] = {
    "country": frozenset({"country", "ituc_rating", "tip_tier", "wgi_rule_of_law_pct",
                          "conflict_affected", "hr_freedom_of_association", "hr_child_labour",
                          "hr_forced_labour", "hr_general", "hr_any", "languages"}),
    "dol_good": frozenset({"country", "good", "child_labour", "forced_labour", "edition"}),
    "calendar": frozenset({"covenant", "reporting_year", "due_on", "grace_days", "days_late"}),
    "nace_chain": frozenset({"financing_id", "nace", "client_ref", "value_chain"}),
    "measure": frozenset({"rule", "value", "count", "group"}),
    "covenant_theme": frozenset({"theme"}),
    "chain_exposure": frozenset({"value_chain", "exposure_eur"}),
    "kpi_theme": frozenset({"kpi_id", "action_id", "theme"}),
    "action_theme": frozenset({"action_id", "type", "theme"}),
    "history": frozenset({"accepted_plans"}),
    "same_year": frozenset({"submission_id"}),
    "prev_finding": frozenset({"finding_id", "rule_id", "severity"}),
    "signal": frozenset({"signal_ref", "forwarded_on"}),
    "rule_outcome": frozenset({"rule_id", "fails"}),
    "free_text": frozenset({"field", "text"}),
}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")


# --- lint ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class LintError:
    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def lint(rules_dir: Path) -> list[LintError]:
    errors: list[LintError] = []
    seen: dict[str, tuple[Path, int]] = {}
    for path in rule_files(rules_dir):
        errors += _lint_file(path, seen)
    return errors


def _lint_file(path: Path, seen: dict[str, tuple[Path, int]]) -> list[LintError]:
    text = path.read_text(encoding="utf-8")
    try:
        tree = yaml.compose(text)
        document = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        return [LintError(path, mark.line + 1 if mark else 1, f"not valid YAML: {e}")]
    try:
        rules = RuleFile.model_validate(document).rules
    except ValidationError as e:
        return [LintError(path, _line(tree, err["loc"]), f"{'/'.join(map(str, err['loc']))}: "
                          f"{err['msg']}") for err in e.errors()]
    errors = [LintError(path, line, f"'{key}' is given twice in one place (YAML keeps only the "
                        "last)") for key, line in _repeated_keys(tree)]
    for i, rule in enumerate(rules):
        line = _line(tree, ("rules", i))
        if rule.id in seen:
            first = seen[rule.id]
            errors.append(LintError(path, line, f"{rule.id}: duplicate id (first at "
                                                f"{first[0].name}:{first[1]})"))
        seen.setdefault(rule.id, (path, line))
        errors += [LintError(path, line, f"{rule.id}: {m}") for m in lint_rule(rule)]
    return errors


def _repeated_keys(node: yaml.Node | None) -> list[tuple[str, int]]:
    """(key, line) of each key that a mapping in the tree holds more than once."""
    found: list[tuple[str, int]] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                found.append((key.value, key.start_mark.line + 1))
            seen.add(key.value)
            found += _repeated_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            found += _repeated_keys(item)
    return found


def lint_rule(rule: RuleSpec) -> list[str]:
    problems = []
    for ref in rule.references:
        if ref.instrument not in INSTRUMENTS:
            problems.append(f"unknown reference instrument '{ref.instrument}' (known: "
                            f"{', '.join(sorted(INSTRUMENTS))})")
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
    problems += _unknown_fields(rule)
    problems += _type_problems(rule)
    problems += _unknown_placeholders(rule)
    problems += _unused_parameters(rule)
    try:
        compile_rule(rule)
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


# the types a comparison can mix up: a date is not a number
SUBMISSION_TYPES = {"as_of": "date", "submitted_at": "date", "plan_period.start": "date",
                    "plan_period.end": "date", "reporting_year": "number"}
COMPUTED_TYPES = {"severity_score": "number", "start_year": "number", "end_year": "number",
                  "evidence_missing": "number", "value": "number", "count": "number",
                  "days_late": "number", "exposure_eur": "number", "ituc_rating": "number"}
AGE_OPS = frozenset({"older_than", "within", "in_future"})


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
                theirs = (SUBMISSION_TYPES.get(rest) if head == "submission" else
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


def field_type(kind: str, dotted: str) -> str | None:
    """"date", "number", "text", "flag" or "list" for a field of a kind; None when unknown."""
    if dotted in COMPUTED_TYPES:
        return COMPUTED_TYPES[dotted]
    if kind in PRIOR_PARTS:
        return field_type(PRIOR_PARTS[kind], dotted)
    if kind in LINKS:
        parent, _, single = LINKS[kind]
        return None if dotted == single else field_type(parent, dotted)
    model: Any = model_of(kind)
    for step in dotted.split("."):
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or \
                step not in model.model_fields:
            return None
        annotation = model.model_fields[step].annotation
        if typing.get_origin(_optional(annotation)) is list:
            return "list"
        model = _inner(annotation)
    if model is AwareDatetime:  # pydantic's marker class for a timestamp with its offset
        return "date"
    return next((name for base, name in _TYPES if isinstance(model, type)
                 and issubclass(model, base)), None)


def _optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


_TYPES = ((bool, "flag"), (date, "date"), (int, "number"), (float, "number"), (str, "text"))


def _alias_part(rule: RuleSpec, alias: str) -> str | None:
    return next((j.part for w in rule.matches for j in w.with_ if j.alias == alias), None)


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
    used |= {c.value.plus.param for _, c in all_conditions(rule)
             if isinstance(c.value, Ref) and isinstance(c.value.plus, Param)}
    used |= {n.removeprefix("param.") for text in _messages(rule)
             for n in _PLACEHOLDER.findall(text.en) if n.startswith("param.")}
    return [f"parameter '{p}' is not used" for p in sorted(set(rule.parameters) - used)]


def field_exists(kind: str, dotted: str) -> bool:
    """Whether facts of this kind can carry the (dotted) field: the submission schema for plan
    parts, the loader's fields for reference data."""
    head = dotted.split(".")[0]
    if head in COMMON_FIELDS or dotted in COMMON_FIELDS:
        return True
    if dotted in COMPUTED.get(kind, {}) or dotted in ANNOTATED.get(kind, ()):
        return True
    if kind in REFERENCE_FIELDS:
        return dotted in REFERENCE_FIELDS[kind]
    if kind in PRIOR_PARTS:
        return field_exists(PRIOR_PARTS[kind], dotted)
    if kind in LINKS:
        parent, field, single = LINKS[kind]
        return dotted == single or (head != field and field_exists(parent, dotted))
    if kind in PARENT_KEYS and dotted == PARENT_KEYS[kind][1]:
        return True
    if dotted in PROJECTIONS.get(kind, {}):
        return True
    model = model_of(kind)
    return model is not None and _model_has(model, dotted.split("."))


def model_of(kind: str) -> type[BaseModel] | None:
    pattern = PARTS.get(kind)
    if pattern is None:
        return None
    model: Any = PlanSubmission
    for step in pattern.split("/"):
        if step == "*":
            continue
        model = _inner(model.model_fields[step].annotation)
    return model


def _model_has(model: type[BaseModel], path: list[str]) -> bool:
    field = model.model_fields.get(path[0])
    if field is None:
        return False
    if len(path) == 1:
        return True
    inner = _inner(field.annotation)
    return isinstance(inner, type) and issubclass(inner, BaseModel) and _model_has(inner, path[1:])


def _inner(annotation: Any) -> Any:
    """list[X] -> X, X | None -> X, Annotated[X, ...] -> X."""
    while True:
        origin = typing.get_origin(annotation)
        if origin in (list, typing.Annotated):
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        else:
            return annotation


def _line(tree: yaml.Node | None, loc: tuple[Any, ...]) -> int:
    node, line = tree, 1
    for step in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == step), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) \
                and step < len(node.value):
            node = node.value[step]
        else:
            node = None
    return node.start_mark.line + 1 if node is not None else line
