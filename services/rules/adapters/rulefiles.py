"""Reads the rule set from a rules folder: the rule files (`*.yaml`, test files excepted) and
the reference data under `reference/`. The version stamped on every assessment is a hash of
both, so it changes with any edit that can change a finding."""

import hashlib
from pathlib import Path

import yaml
from pydantic import ValidationError

from services.rules.adapters.reference_files import load_reference
from services.rules.core.compiler import CompileError, compile_rule
from services.rules.core.domain import RuleBook
from services.rules.core.language import RuleFile, RuleSpec
from services.rules.core.reference import ReferenceDataError
from services.rules.core.vocabulary import FACT_KINDS
from services.shared.errors import ConfigError

TESTS_SUFFIX = ".tests.yaml"


class RuleFileError(ConfigError):
    """A rule set that cannot be used; the message names the file and what is wrong. Like a
    wrong setting, it stops a command with exit 78 and the message (cli.py)."""


def rule_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.yaml") if not p.name.endswith(TESTS_SUFFIX))


def version_of(directory: Path) -> str:
    digest = hashlib.sha256()
    reference = directory / "reference"
    files = rule_files(directory) + (sorted(p for p in reference.rglob("*") if p.is_file())
                                     if reference.is_dir() else [])
    for path in files:
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return f"rs-{digest.hexdigest()[:12]}"


def load_rulebook(directory: Path) -> RuleBook:
    files = rule_files(directory)
    if not files:
        raise RuleFileError(f"RULES_DIR: no rule files (*.yaml) under {directory}")
    rules = [rule for path in files for rule in read_rule_file(path)]
    _check_unique(rules)
    try:
        reference = load_reference(directory / "reference")
    except (OSError, KeyError, ValueError, ReferenceDataError) as e:
        raise RuleFileError(f"{directory / 'reference'}: {e}") from None
    return RuleBook(tuple(rules), version_of(directory), reference)


def read_rule_file(path: Path) -> list[RuleSpec]:
    try:
        rules = RuleFile.model_validate(yaml.safe_load(path.read_bytes())).rules
    except yaml.YAMLError as e:
        raise RuleFileError(f"{path}: not valid YAML: {e}") from None
    except ValidationError as e:
        problems = "; ".join(
            f"{'/'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors()[:10])
        raise RuleFileError(f"{path}: {problems}") from None
    for rule in rules:
        _check_rule(path, rule)
    return rules


def _check_rule(path: Path, rule: RuleSpec) -> None:
    if rule.when is None:
        return
    parts = [p for when in rule.matches for p in (
        when.subject, *(j.part for j in [*when.with_, *when.without]))]
    parts += [m.of for _, m in rule.measures()]
    unknown = [p for p in parts if p not in FACT_KINDS]
    if unknown:
        raise RuleFileError(f"{path}: rule {rule.id}: unknown plan part(s) {unknown}; "
                            f"known: {', '.join(sorted(FACT_KINDS))}")
    try:
        compile_rule(rule)
    except (CompileError, KeyError) as e:
        raise RuleFileError(f"{path}: rule {rule.id}: {e}") from None


def _check_unique(rules: list[RuleSpec]) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RuleFileError(f"rule id {rule.id} is defined twice")
        seen.add(rule.id)
