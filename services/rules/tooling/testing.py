"""Rule test cases, as policy experts write them beside each rule file (`X.tests.yaml`).

    cases:
      - note: a policy that was never adopted
        rule: DD1-POLICY-EXISTS            # the rule the case is about
        base: compliant-textile            # fixtures/<base>.json, a plan with no findings
        patch:                             # JSON pointer -> new value; "$delete" removes;
          /policy/exists: false            # a pointer ending in /- appends to a list
        expect:                            # exactly these findings (rule, primary pointer)
          - {rule: DD1-POLICY-EXISTS, pointer: /policy}

A case can also state the company's history: `previous` (the previous accepted plan, as
`base`/`plan` + `patch`, and `findings` on it with their ids) and `history` (`accepted_before`,
`same_year`); without either the history is unknown. Quote the plan field "on" in YAML
(`{"on": "2019-01-15"}`): unquoted, YAML reads it as `true`.

A case evaluates the whole rule set, so it also proves the change breaks nothing else. Every
rule needs a case where it fires and a case about it where it does not; a run that finds no
cases fails.
"""

import copy
import dataclasses
import json
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from services.rules.core.domain import RuleBook
from services.rules.core.prior import Prior, Signal, StoredAssessment
from services.rules.factory import TESTS_SUFFIX, RuleFileError, engine_for, load_rulebook
from services.rules.ports import RuleEngine
from services.shared.contracts import PlanInvalid, validate_plan
from services.shared.errors import did_you_mean
from services.shared.yamlfile import LintError, Tree, line_of, parse

DELETE = "$delete"


class Expected(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str
    pointer: str
    severity: str | None = Field(None, description="checked when given (escalations)")


class PriorFinding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    finding_id: str
    rule: str
    severity: str


class PlanSource(BaseModel):
    """A plan: a fixture (`base`) or a file (`plan`), with JSON-pointer patches."""

    model_config = ConfigDict(extra="forbid")

    base: str | None = None
    plan: str | None = None
    patch: dict[str, Any] = Field(default_factory=dict)


class Previous(PlanSource):
    """The previous accepted plan of the company, and the findings on it."""

    findings: list[PriorFinding] = Field(default_factory=list)


class History(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accepted_before: int = 0
    same_year: list[str] = Field(default_factory=list)


class ForwardedSignal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signal_ref: str
    forwarded_on: date


class Case(PlanSource):
    note: str = Field(min_length=1)
    rule: str
    expect: list[Expected]
    previous: Previous | None = None
    signals: list[ForwardedSignal] = Field(
        default_factory=list, description="signals the secretariat forwarded to the company")
    parameters: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="rule id -> parameters that differ from the rule's "
        "defaults in this case (a secretariat's setting, tested)")
    history: History | None = Field(
        None, description="what the history says; without it and without `previous` the "
        "history is unknown, as for a company checking its own plan")
    _place: tuple[Tree, int] | None = PrivateAttr(None)  # its file's tree, its index there

    @property
    def line(self) -> int:
        """Where the case starts in its file (1 when not read from one), as an editor shows
        it (the file's node tree is composed when a line is first asked for)."""
        if self._place is None:
            return 1
        tree, index = self._place
        return line_of(tree, ("cases", index))


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


class CaseEngines:
    """An engine per set of parameters the cases choose; the rule book's own for most."""

    def __init__(self, rulebook: RuleBook):
        self.rulebook = rulebook
        self._engines: dict[str, RuleEngine] = {"": engine_for(rulebook)}

    def for_case(self, case: Case) -> RuleEngine:
        key = json.dumps(case.parameters, sort_keys=True) if case.parameters else ""
        if key not in self._engines:
            self._engines[key] = engine_for(with_parameters(self.rulebook,
                                                                    case.parameters))
        return self._engines[key]


def with_parameters(rulebook: RuleBook, chosen: dict[str, dict[str, Any]]) -> RuleBook:
    """The rule book with some rules' parameters set otherwise; only existing parameters."""
    rules = rulebook.by_id()
    for rule_id, values in chosen.items():
        if rule_id not in rules or set(values) - set(rules[rule_id].parameters):
            raise ValueError(f"{rule_id} has no parameter(s) {', '.join(sorted(values))}")
    return dataclasses.replace(rulebook, overrides=chosen)


def run_cases(rules_dir: Path) -> Report:
    rulebook = load_rulebook(rules_dir)
    engines = CaseEngines(rulebook)
    report = Report(rules=[r.id for r in rulebook.rules if not r.disabled],
                    disabled={r.id: r.disabled for r in rulebook.rules if r.disabled})
    for path, case in all_cases(rules_dir):
        report.outcomes.append(Outcome(path, case, check_case(engines, rules_dir, path, case)))
    return report


def all_cases(rules_dir: Path) -> list[tuple[Path, Case]]:
    """Every test case of the rules folder, with its file."""
    return [(path, case) for path in sorted(rules_dir.glob(f"*{TESTS_SUFFIX}"))
            for case in read_cases(path)]


def check_case(engines: CaseEngines, rules_dir: Path, path: Path, case: Case) -> str | None:
    """What is wrong with the case's findings; None when they are exactly the expected."""
    try:
        engine = engines.for_case(case)
    except ValueError as e:
        return str(e)
    return _run(engine, set(engines.rulebook.by_id()), rules_dir, path, case)


def read_cases(path: Path) -> list[Case]:
    """The cases of one file; refused with every problem of the file, each at its line."""
    cases, problems = case_file(path)
    if problems:
        raise RuleFileError("\n".join(map(str, problems)))
    return cases


def case_file(path: Path, rules: Collection[str] | None = None) -> tuple[list[Case],
                                                                           list[LintError]]:
    """The cases of one file, and what is wrong with it (each problem at its line): its shape,
    and, given the `rules` there are, a case about or expecting a rule that is not one, or
    starting from a fixture that is not there."""
    parsed, tree, problems = parse(path, CaseFile, "cases")
    if parsed is None:
        return [], problems
    for i, case in enumerate(parsed.cases):
        case._place = (tree, i) if tree is not None else None
    fixtures = sorted(p.stem for p in (path.parent / "fixtures").glob("*.json"))
    for i, case in enumerate(parsed.cases if rules is not None else []):
        named: dict[tuple[str | int, ...], str] = {("rule",): case.rule}
        named.update({("expect", j, "rule"): e.rule for j, e in enumerate(case.expect)})
        problems += [LintError(path, line_of(tree, ("cases", i, *where)),
                               f"case '{case.note}' names rule {rule_id}, which no rule file "
                               "defines") for where, rule_id in named.items()
                     if rule_id not in (rules or ())]
        sources: dict[tuple[str, ...], PlanSource] = {(): case}
        if case.previous:
            sources[("previous",)] = case.previous
        problems += [LintError(path, line_of(tree, ("cases", i, *where, "base")),
                               f"case '{case.note}': {missing}")
                     for where, source in sources.items()
                     if (missing := _missing_base(fixtures, source))]
    return parsed.cases, problems


def _missing_base(fixtures: list[str], source: PlanSource) -> str | None:
    """What is wrong with the fixture a plan is based on (`case_plan` reads it from
    fixtures/), if it is not one of the `fixtures` there are, with those."""
    if source.base is None or source.base in fixtures:
        return None
    return f"there is no fixture '{source.base}' in fixtures/" + (
        did_you_mean(source.base, fixtures, n=1) or f"; there are {', '.join(fixtures)}")


def _run(engine: RuleEngine, known: set[str], rules_dir: Path, path: Path,
         case: Case) -> str | None:
    unknown = {case.rule, *(e.rule for e in case.expect)} - known
    if unknown:
        return f"names unknown rule(s): {', '.join(sorted(unknown))}"
    try:
        plan = validate_plan(case_plan(rules_dir, path, case))
        prior = case_prior(rules_dir, path, case)
    except PlanInvalid as e:
        return "the case's plan is invalid: " + "; ".join(
            f"{err.pointer}: {err.message}" for err in e.errors[:5])
    except (OSError, ValueError, KeyError, IndexError) as e:
        return f"cannot build the case's plan: {e}"
    findings = engine.evaluate(plan, prior)
    found = {Expected(rule=f.rule_id, pointer=f.pointers[0] if f.pointers else "")
             for f in findings}
    expected = {e.model_copy(update={"severity": None}) for e in case.expect}
    severities = {(f.rule_id, f.pointers[0] if f.pointers else ""): f.severity.value
                  for f in findings}
    wrong = [f"{e.rule} at {e.pointer} is {severities[(e.rule, e.pointer)]}, not {e.severity}"
             for e in case.expect if e.severity and e.severity != severities.get(
                 (e.rule, e.pointer), e.severity)]
    if found == expected and not wrong:
        return None
    missing = ", ".join(f"{e.rule} at {e.pointer}" for e in sorted(expected - found, key=str))
    extra = ", ".join(f"{e.rule} at {e.pointer}" for e in sorted(found - expected, key=str))
    return "; ".join(p for p in (f"missing: {missing}" if missing else "",
                                 f"unexpected: {extra}" if extra else "",
                                 f"wrong severity: {', '.join(wrong)}" if wrong else "") if p)


def case_plan(rules_dir: Path, path: Path, source: PlanSource) -> Any:
    if (source.base is None) == (source.plan is None):
        raise ValueError("give either `base` or `plan`")
    file = rules_dir / "fixtures" / f"{source.base}.json" if source.base else path.parent / str(
        source.plan)
    document = json.loads(file.read_text(encoding="utf-8"))
    for pointer, value in source.patch.items():
        apply(document, pointer, value)
    return document


def case_prior(rules_dir: Path, path: Path, case: Case) -> Prior:
    signals = tuple(Signal(s.signal_ref, s.forwarded_on.isoformat()) for s in case.signals)
    if case.previous is None and case.history is None:
        return Prior(signals=signals)
    history = case.history or History(accepted_before=1)
    previous = None
    if case.previous is not None:
        plan = validate_plan(case_plan(rules_dir, path, case.previous))
        previous = StoredAssessment(
            plan.submission.submission_id, plan.submission.reporting_year,
            plan.submission.submitted_at.isoformat(), plan.to_json_dict(),
            [{"finding_id": f.finding_id, "rule_id": f.rule, "severity": f.severity}
             for f in case.previous.findings])
    return Prior(previous, history.same_year, history.accepted_before, known=True,
                 signals=signals)


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
