"""The assessment frameworks, each in its covenant's folder
(`rules/covenants/<covenant>/framework.yaml`): loading, lint (with file and line) and their
worked examples (`framework.tests.yaml` beside it), which `covenant rules lint` and
`covenant rules test` run with the rule files."""

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.rules.core.domain import RuleBook
from services.rules.core.framework import Framework, FrameworkSpec, Standing, score
from services.shared.contracts import Severity
from services.shared.yamlfile import LintError, load_yaml, read, validation_errors
from services.shared.yamlfile import line_of as _line

FILE = "framework.yaml"  # in a covenant's folder, when it has a framework
EXAMPLES = "framework.tests.yaml"


class FrameworkError(ValueError):
    """A framework file that cannot be used; its message names the file."""


def framework_files(rules_dir: Path) -> list[Path]:
    return sorted((rules_dir / "covenants").glob(f"*/{FILE}"))


def load_frameworks(rules_dir: Path) -> dict[str, Framework]:
    """Covenant -> its framework; a covenant without a file has none."""
    found = {}
    for path in framework_files(rules_dir):
        try:
            framework = Framework.model_validate(load_yaml(path.read_bytes()))
        except (yaml.YAMLError, ValidationError) as e:
            raise FrameworkError(f"{path}: {e}") from None
        found[framework.covenant] = framework
    return found


def criteria_of(rulebook: RuleBook, covenant: str) -> dict[str, Severity]:
    """The rules in scope of the covenant, with their own severities: the criteria."""
    return {r.id: Severity(r.severity) for r in rulebook.in_scope(covenant)}


def lint_frameworks(rules_dir: Path, rulebook: RuleBook) -> list[LintError]:
    errors: list[LintError] = []
    for path in framework_files(rules_dir):
        tree, document, unreadable = read(path)
        errors += unreadable
        if tree is None and unreadable:
            continue
        try:
            spec = FrameworkSpec.model_validate(document)
        except ValidationError as e:
            errors += validation_errors(path, tree, e, "framework")
            continue
        problems = spec.problems()
        errors += [LintError(path, _line(tree, where), message) for where, message in problems]
        if problems:
            continue
        framework = Framework.model_validate(document)
        if framework.covenant not in rulebook.covenants:
            errors.append(LintError(path, _line(tree, ("covenant",)),
                                    f"unknown covenant '{framework.covenant}'"))
            continue
        if path.parent.name != framework.covenant:
            errors.append(LintError(path, _line(tree, ("covenant",)), f"the framework of "
                                    f"covenant '{framework.covenant}' belongs in its folder, "
                                    f"not in {path.parent.name}'s"))
        criteria = criteria_of(rulebook, framework.covenant)
        for rule_id in sorted(criteria):
            if framework.topic_of(rule_id) is None and not any(
                    fnmatch.fnmatchcase(rule_id, p) for p in framework.unscored):
                errors.append(LintError(path, _line(tree, ("topics",)),
                                        f"{rule_id}: in no topic and not listed as unscored"))
        places: list[tuple[tuple[Any, ...], str]] = [
            (("topics", i, "rules", j), p) for i, t in enumerate(framework.topics)
            for j, p in enumerate(t.rules)]
        places += [(("unscored", j), p) for j, p in enumerate(framework.unscored)]
        for loc, pattern in places:
            if not any(fnmatch.fnmatchcase(r, pattern) for r in criteria):
                errors.append(LintError(path, _line(tree, loc), f"'{pattern}' matches no rule "
                                        f"in scope of {framework.covenant}"))
    return errors


# --- worked examples ------------------------------------------------------------------------

class Given(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rule: str
    severity: Severity


class Expected(BaseModel):
    model_config = ConfigDict(extra="forbid")
    score: float
    category: str
    topics: dict[str, float] = Field(default_factory=dict)


class WorkedExample(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str
    membership_year: int = Field(ge=1)
    criteria: dict[str, Severity] | None = Field(
        None, description="the rules to score against, with their severities; default: the "
        "rules in scope of the covenant")
    findings: list[Given] = Field(default_factory=list)
    expect: Expected


class ExampleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cases: list[WorkedExample] = Field(min_length=1)


@dataclass(frozen=True)
class ExampleOutcome:
    file: Path
    note: str
    problem: str | None  # None: as expected

    @property
    def passed(self) -> bool:
        return self.problem is None


def run_examples(rules_dir: Path, rulebook: RuleBook) -> list[ExampleOutcome]:
    """Every worked example of every framework, scored and compared with what it expects
    (scores to 0.1)."""
    frameworks = load_frameworks(rules_dir)
    outcomes = []
    for path in sorted((rules_dir / "covenants").glob(f"*/{EXAMPLES}")):
        covenant = path.parent.name
        framework = frameworks.get(covenant)
        if framework is None:
            outcomes.append(ExampleOutcome(path, "(file)", f"no {FILE} beside it"))
            continue
        try:
            cases = ExampleFile.model_validate(
                load_yaml(path.read_bytes())).cases
        except (yaml.YAMLError, ValidationError) as e:
            outcomes.append(ExampleOutcome(path, "(file)", str(e)))
            continue
        for case in cases:
            outcomes.append(ExampleOutcome(path, case.note, _problem(framework, rulebook, case)))
    return outcomes


def _problem(framework: Framework, rulebook: RuleBook, case: WorkedExample) -> str | None:
    criteria = case.criteria if case.criteria is not None else \
        criteria_of(rulebook, framework.covenant)
    sheet = score(framework, criteria, [Standing(f.rule, f.severity) for f in case.findings],
                  case.membership_year)
    got: dict[str, Any] = {"score": sheet.score, "category": sheet.category,
                           **{f"topic {t.id}": round(t.score, 1) for t in sheet.topics}}
    wanted: dict[str, Any] = {"score": case.expect.score, "category": case.expect.category,
                              **{f"topic {k}": v for k, v in case.expect.topics.items()}}
    wrong = [f"{k}: expected {v}, got {got.get(k)}" for k, v in wanted.items()
             if (abs(got.get(k, -1) - v) > 0.05 if isinstance(v, float | int) else got.get(k)
                 != v)]
    return "; ".join(wrong) or None
