"""Rule test cases, as policy experts write them beside each rule file (`X.tests.yaml`).

    cases:
      - note: a policy that was never adopted
        rule: DD1-POLICY-EXISTS            # the rule the case is about
        base: compliant-textile            # fixtures/<base>.json, a plan with no findings
        patch:                             # JSON pointer -> new value; "$delete" removes;
          /policy/exists: false            # a pointer ending in /- appends to a list
        expect:                            # exactly these findings (rule, primary pointer)
          - {rule: DD1-POLICY-EXISTS, pointer: /policy}

A case evaluates the whole rule set, so it also proves the change breaks nothing else. Every
rule needs a case where it fires and a case about it where it does not; a run that finds no
cases fails.
"""

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from services.shared.contracts import PlanInvalid, validate_plan

from .durable_engine import DurableRulesEngine
from .rulefiles import TESTS_SUFFIX, RuleFileError, load_rulebook

DELETE = "$delete"


class Expected(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str
    pointer: str


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1)
    rule: str
    base: str | None = None
    plan: str | None = None
    patch: dict[str, Any] = Field(default_factory=dict)
    expect: list[Expected]


class CaseFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cases: list[Case] = Field(min_length=1)


@dataclass(frozen=True)
class Outcome:
    file: Path
    case: Case
    problem: str | None  # None: passed

    @property
    def passed(self) -> bool:
        return self.problem is None


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)  # enabled rule ids
    disabled: dict[str, str] = field(default_factory=dict)  # rule id -> why

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.passed]

    def coverage(self) -> dict[str, tuple[bool, bool]]:
        """rule id -> (has a firing case, has a non-firing case about it)."""
        cover = {r: (False, False) for r in self.rules}
        for o in self.outcomes:
            fires = {e.rule for e in o.case.expect}
            for r in fires & cover.keys():
                cover[r] = (True, cover[r][1])
            if o.case.rule in cover and o.case.rule not in fires:
                cover[o.case.rule] = (cover[o.case.rule][0], True)
        return cover

    def uncovered(self) -> list[str]:
        return [r for r, (fires, quiet) in self.coverage().items() if not (fires and quiet)]

    def covered_share(self) -> float:
        return 1 - len(self.uncovered()) / len(self.rules) if self.rules else 0.0


def run_cases(rules_dir: Path) -> Report:
    rulebook = load_rulebook(rules_dir)
    engine = DurableRulesEngine(rulebook)
    report = Report(rules=[r.id for r in rulebook.rules if not r.disabled],
                    disabled={r.id: r.disabled for r in rulebook.rules if r.disabled})
    known = set(rulebook.by_id())
    for path in sorted(rules_dir.glob(f"*{TESTS_SUFFIX}")):
        for case in _read(path):
            report.outcomes.append(Outcome(path, case, _run(engine, known, rules_dir, path, case)))
    return report


def _read(path: Path) -> list[Case]:
    try:
        return CaseFile.model_validate(yaml.safe_load(path.read_bytes())).cases
    except (yaml.YAMLError, ValueError) as e:
        raise RuleFileError(f"{path}: {e}") from None


def _run(engine: DurableRulesEngine, known: set[str], rules_dir: Path, path: Path,
         case: Case) -> str | None:
    unknown = {case.rule, *(e.rule for e in case.expect)} - known
    if unknown:
        return f"names unknown rule(s): {', '.join(sorted(unknown))}"
    try:
        document = case_plan(rules_dir, path, case)
        plan = validate_plan(document)
    except PlanInvalid as e:
        return "the case's plan is invalid: " + "; ".join(
            f"{err.pointer}: {err.message}" for err in e.errors[:5])
    except (OSError, ValueError, KeyError, IndexError) as e:
        return f"cannot build the case's plan: {e}"
    found = {Expected(rule=f.rule_id, pointer=f.pointers[0] if f.pointers else "")
             for f in engine.evaluate(plan)}
    expected = set(case.expect)
    if found == expected:
        return None
    missing = ", ".join(f"{e.rule} at {e.pointer}" for e in sorted(expected - found, key=str))
    extra = ", ".join(f"{e.rule} at {e.pointer}" for e in sorted(found - expected, key=str))
    return "; ".join(p for p in (f"missing: {missing}" if missing else "",
                                 f"unexpected: {extra}" if extra else "") if p)


def case_plan(rules_dir: Path, path: Path, case: Case) -> Any:
    if (case.base is None) == (case.plan is None):
        raise ValueError("give either `base` or `plan`")
    source = rules_dir / "fixtures" / f"{case.base}.json" if case.base else path.parent / str(
        case.plan)
    document = json.loads(source.read_text(encoding="utf-8"))
    for pointer, value in case.patch.items():
        apply(document, pointer, value)
    return document


def apply(document: Any, pointer: str, value: Any) -> None:
    """Set (or `$delete`, or append with a final `-`) the value at a JSON pointer."""
    *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    node = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        if last == "-":
            node.append(copy.deepcopy(value))
        elif value == DELETE:
            del node[int(last)]
        else:
            node[int(last)] = copy.deepcopy(value)
    elif value == DELETE:
        del node[last]
    else:
        node[last] = copy.deepcopy(value)
