"""Reads the rule set from a rules folder: the rule files (`*.yaml`, test files excepted), the
reference data under `reference/` and the covenant definitions under `covenants/`. The version
stamped on every assessment is a hash of all three, so it changes with any edit that can change
a finding."""

import hashlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from services.rules.adapters.reference_files import load_reference
from services.rules.core.compiler import CompileError, compile_rule
from services.rules.core.domain import RuleBook, with_parameters
from services.rules.core.language import RuleFile, RuleSpec
from services.rules.core.reference import ReferenceDataError
from services.rules.core.vocabulary import part_problems, unknown_parts
from services.shared import covenants
from services.shared.covenants import Covenant, CovenantError, Covenants
from services.shared.errors import ConfigError
from services.shared.yamlfile import LintError, line_of, load_yaml, problems_of, read

TESTS_SUFFIX = ".tests.yaml"


class RuleFileError(ConfigError):
    """A rule set that cannot be used; the message names the file and what is wrong. Like a
    wrong setting, it stops a command with exit 78 and the message (cli.py)."""


def rule_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.yaml") if not p.name.endswith(TESTS_SUFFIX))


def version_of(directory: Path) -> str:
    digest = hashlib.sha256()
    files = rule_files(directory)
    for folder in (directory / "reference", directory / "covenants"):
        files += sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    for path in files:
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return f"rs-{digest.hexdigest()[:12]}"


def load_rulebook(directory: Path) -> RuleBook:
    files = rule_files(directory)
    if not files:
        raise RuleFileError(f"RULES_DIR: no rule files (*.yaml) under {directory}")
    try:
        defined = covenants.load(directory)
    except CovenantError as e:
        raise RuleFileError(str(e)) from None
    with covenants.using(defined):  # the parts and instruments the folder's covenants declare
        rules = [rule for path in files for rule in read_rule_file(path, defined)]
        _check_unique(rules)
        problems = declared_part_problems(defined) or parameter_problems(defined, rules)
    if problems:
        raise RuleFileError("; ".join(map(str, problems[:10])))
    try:
        reference = load_reference(directory / "reference")
    except (OSError, KeyError, ValueError, ReferenceDataError) as e:
        raise RuleFileError(f"{directory / 'reference'}: {e}") from None
    return RuleBook(tuple(rules), version_of(directory), reference, defined)


def read_rule_file(path: Path, defined: Covenants) -> list[RuleSpec]:
    """The rules of one file, each checked (its scope against the covenants defined)."""
    try:
        rules = RuleFile.model_validate(load_yaml(path.read_bytes())).rules
    except yaml.YAMLError as e:
        raise RuleFileError(f"{path}: not valid YAML: {e}") from None
    except ValidationError as e:
        problems = "; ".join(f"{'/'.join(map(str, loc))}: {message}"
                             for loc, message in problems_of(e)[:10])
        raise RuleFileError(f"{path}: {problems}") from None
    for rule in rules:
        _check_rule(path, rule, defined)
    return rules


def _check_rule(path: Path, rule: RuleSpec, defined: Covenants) -> None:
    unknown = [c for c in rule.scope if c not in defined]
    if unknown:
        raise RuleFileError(f"{path}: rule {rule.id}: scope names no covenant defined under "
                            f"{defined.folder}: {', '.join(unknown)}")
    if rule.when is None:
        return
    parts = unknown_parts(rule.parts_named())
    if parts:
        raise RuleFileError(f"{path}: rule {rule.id}: {parts}")
    try:
        compile_rule(rule)
    except (CompileError, KeyError) as e:
        raise RuleFileError(f"{path}: rule {rule.id}: {e}") from None


def declared_part_problems(defined: Covenants) -> list[LintError]:
    """What is wrong with the parts the covenants declare (vocabulary.part_problems), each at
    its line of the covenant's definition."""
    trees = {c.name: read(c.definition)[0] for c in defined if c.spec.parts or c.spec.links}
    return [LintError(c.definition, line_of(trees.get(c.name), where), f"{where[0]}: {message}")
            for c, where, message in part_problems(defined)]


def parameter_problems(defined: Covenants, rules: list[RuleSpec]) -> list[LintError]:
    """What is wrong with the parameters and severities the covenants set for rules: a rule
    that is not in the covenant's scope, a parameter the rule does not have, a value of
    another shape than the rule's default; each at its line of the covenant's definition."""
    by_id = {r.id: r for r in rules}
    problems = []
    for c in defined:
        if not c.spec.rules.parameters and not c.spec.rules.severities:
            continue
        tree = read(c.definition)[0]
        for rule_id in c.spec.rules.severities:
            if rule_id not in by_id or c.name not in by_id[rule_id].scope:
                problems.append(_out_of_scope(c, tree, ("rules", "severities", rule_id), by_id))
        for rule_id, values in c.spec.rules.parameters.items():
            where = ("rules", "parameters", rule_id)
            rule = by_id.get(rule_id)
            if rule is None or c.name not in rule.scope:
                problems.append(_out_of_scope(c, tree, where, by_id))
                continue
            found = len(problems)
            for name, value in values.items():
                default = rule.parameters.get(name)
                if name not in rule.parameters:
                    problems.append(LintError(c.definition, line_of(tree, (*where, name)),
                                              f"{rule_id} has no parameter '{name}' (it has: "
                                              f"{', '.join(sorted(rule.parameters)) or 'none'})"))
                elif _shape(value) != _shape(default):
                    problems.append(LintError(c.definition, line_of(tree, (*where, name)),
                                              f"{rule_id}: '{name}' is a {_shape(default)} in "
                                              f"the rule, not a {_shape(value)}"))
            if len(problems) == found:  # the rule must still compile with these values
                try:
                    compile_rule(with_parameters(rule, values))
                except (CompileError, KeyError, ValueError) as e:
                    problems.append(LintError(c.definition, line_of(tree, where),
                                              f"{rule_id}: with these parameters: {e}"))
    return problems


def _out_of_scope(c: Covenant, tree: Any, where: tuple[str, str, str],
                  by_id: dict[str, RuleSpec]) -> LintError:
    """A rule a covenant's definition sets something for that is not there or not its own."""
    rule_id = where[-1]
    return LintError(c.definition, line_of(tree, where), f"{rule_id}: " + (
        "no such rule" if rule_id not in by_id else f"not in scope of {c.name}"))


def _shape(value: Any) -> str:
    if isinstance(value, bool):
        return "yes/no"
    if isinstance(value, int | float):
        return "number"
    return next((name for kind, name in ((list, "list"), (dict, "length or mapping"),
                                         (str, "text")) if isinstance(value, kind)), "value")


def _check_unique(rules: list[RuleSpec]) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RuleFileError(f"rule id {rule.id} is defined twice")
        seen.add(rule.id)
