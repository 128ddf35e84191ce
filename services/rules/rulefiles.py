"""Reads the rule files under `rules/` (YAML, edited by policy experts) into a RuleBook."""

import hashlib
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from .compiler import CompileError, compile_rule
from .domain import FACT_KINDS, RuleBook, RuleSpec


class RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[RuleSpec]


class RuleFileError(ValueError):
    """A rule file that cannot be used; the message names the file and what is wrong."""


def load_rulebook(directory: Path) -> RuleBook:
    files = sorted(directory.glob("**/*.yaml"))
    if not files:
        raise RuleFileError(f"no rule files (*.yaml) under {directory}")
    rules: list[RuleSpec] = []
    digest = hashlib.sha256()
    for path in files:
        content = path.read_bytes()
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0" + content + b"\0")
        rules.extend(_read(path, content))
    _check_unique(rules)
    return RuleBook(tuple(rules), f"rs-{digest.hexdigest()[:12]}")


def _read(path: Path, content: bytes) -> list[RuleSpec]:
    try:
        document = yaml.safe_load(content)
        rules = RuleFile.model_validate(document).rules
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
    parts = [rule.when.part] + ([rule.when.without.part] if rule.when.without else [])
    unknown = [p for p in parts if p not in FACT_KINDS]
    if unknown:
        raise RuleFileError(f"{path}: rule {rule.id}: unknown plan part(s) {unknown}; "
                            f"known: {', '.join(sorted(FACT_KINDS))}")
    try:
        compile_rule(rule)
    except CompileError as e:
        raise RuleFileError(f"{path}: rule {rule.id}: {e}") from None


def _check_unique(rules: list[RuleSpec]) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RuleFileError(f"rule id {rule.id} is defined twice")
        seen.add(rule.id)
