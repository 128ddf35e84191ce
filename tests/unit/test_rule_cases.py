"""The rule test cases under rules/ pass and cover every rule; the runner can fail."""

import unicodedata
import uuid

import pytest
import yaml

from services.rules.adapters.history import SqlAssessmentHistory
from services.rules.adapters.rulefiles import RuleFileError, load_rulebook
from services.rules.tooling.testing import (
    DELETE,
    Case,
    CaseEngines,
    PlanSource,
    all_cases,
    apply,
    case_plan,
    check_case,
    read_cases,
    run_cases,
)
from services.shared.contracts import Finding, Localized, Reference, validate_plan
from tests.support import ROOT

RULES = ROOT / "rules"


CASES = all_cases(RULES)


@pytest.fixture(scope="module")
def engines():
    return CaseEngines(load_rulebook(RULES))


def _case_id(path, case) -> str:
    """ASCII, without '::': pytest escapes other characters in ids, and a test whose id it
    escaped or splits cannot be selected by id (mutmut selects tests that way)."""
    note = unicodedata.normalize("NFKD", case.note).encode("ascii", "ignore").decode()
    return f"{path.name}: {note.replace('::', ':')}"


@pytest.mark.parametrize("path, case", CASES, ids=[_case_id(p, c) for p, c in CASES])
def test_rule_case(engines, path, case):
    assert check_case(engines, RULES, path, case) is None


def test_every_rule_is_covered_by_a_firing_and_a_quiet_case():
    report = run_cases(RULES)
    assert report.uncovered() == []
    # the 78 common catalogue rows and each built covenant's own (other-covenants.md)
    own = {"NS": 8, "AU": 9, "FD": 7, "MT": 10, "INS": 9}
    assert len(report.rules) == 78 + sum(own.values())
    for prefix, count in own.items():
        assert len([r for r in report.rules if r.startswith(f"{prefix}-")]) == count


def test_a_wrong_expectation_fails_with_what_was_missing_and_unexpected(rules_copy):
    path = rules_copy / "dd3-act.tests.yaml"
    path.write_text(path.read_text().replace(
        "pointer: /risk_assessment/risks/2}]", "pointer: /risk_assessment/risks/3}]", 1))
    [failure] = run_cases(rules_copy).failed
    assert failure.problem == (
        "missing: DD3-PRIORITY-RISK-HAS-ACTION at /risk_assessment/risks/3; "
        "unexpected: DD3-PRIORITY-RISK-HAS-ACTION at /risk_assessment/risks/2")


def test_a_finding_the_case_does_not_expect_fails_it_alone(rules_copy):
    """Nothing missing, one finding too many: the case fails, naming it."""
    path = rules_copy / "dd3-act.tests.yaml"
    path.write_text(path.read_text().replace(
        "    patch: {/actions/2/status: cancelled}\n"
        "    expect: [{rule: DD3-PRIORITY-RISK-HAS-ACTION, pointer: /risk_assessment/risks/2}]",
        "    patch: {/actions/2/status: cancelled}\n    expect: []", 1))
    [failure] = run_cases(rules_copy).failed
    assert failure.problem == "unexpected: DD3-PRIORITY-RISK-HAS-ACTION at /risk_assessment/risks/2"


def test_a_rule_without_a_non_firing_case_is_uncovered(rules_copy):
    path = rules_copy / "dd4-track.tests.yaml"
    kept = path.read_text().split("  - note: a finished action is not overdue")[0] + \
        "  - note: placeholder\n    rule: DD4-EFFECTIVENESS-REVIEW-WITH-FEEDBACK\n" \
        "    base: compliant-textile\n    expect: []\n"
    path.write_text(kept)
    assert "DD4-OVERDUE-ACTIONS" in run_cases(rules_copy).uncovered()


def test_a_case_file_that_does_not_parse_is_an_error_with_each_problem_at_its_line(rules_copy):
    path = rules_copy / "dd4-track.tests.yaml"
    path.write_text("cases:\n  - note: x\n    rule: DD4-OVERDUE-ACTIONS\n    expct: []\n")
    with pytest.raises(RuleFileError) as refused:
        run_cases(rules_copy)
    assert str(refused.value).splitlines() == [  # pydantic's own text, with its links, before
        f"{path}:2: cases/0/expect: Field required",
        f"{path}:4: cases/0/expct: Extra inputs are not permitted"]


def test_every_rule_has_a_variant_of_a_compliant_plan_that_breaks_only_that_rule():
    """The cases are the example corpus: for each rule a compliant plan (rules/fixtures) changed
    so that it produces that rule's findings and nothing else. A case passes only when the
    engine's findings are exactly those it expects (none missing, none unexpected: the tests
    above), so a passing case that expects only its rule's findings shows the engine found
    nothing else."""
    report = run_cases(RULES)
    isolated = {o.case.rule for o in report.outcomes if o.passed
                and o.case.expect and {e.rule for e in o.case.expect} == {o.case.rule}}
    assert [r for r in report.rules if r not in isolated] == []


@pytest.fixture
def store(database):
    return SqlAssessmentHistory(database)


def test_the_memory_cases_pass_with_the_previous_plan_in_the_store(store):
    """The cases that state a previous plan, with that plan recorded in and read back from
    SQLite and PostgreSQL instead of handed to the engine."""
    engines = CaseEngines(load_rulebook(RULES))
    checked = 0
    for path in sorted(RULES.glob("*.tests.yaml")):
        for case in [c for c in read_cases(path) if c.previous is not None]:
            company = f"AGT-{uuid.uuid4().hex[:10]}"
            previous_document = case_plan(RULES, path, case.previous)
            renamed = {previous_document["submission"]["submission_id"]: ""}
            previous = _as_company(previous_document, company)
            renamed = {old: previous.submission.submission_id for old in renamed}
            plan = _as_company(case_plan(RULES, path, case), company, renamed)
            store.record(previous, [_finding(f) for f in case.previous.findings], "rs-case")
            found = {(f.rule_id, f.pointers[0] if f.pointers else "")
                     for f in engines.for_case(case).evaluate(plan, store.prior(plan))}
            assert found == {(e.rule, e.pointer) for e in case.expect}, case.note
            checked += 1
    assert checked >= 8


def _as_company(document, company: str, renamed: dict[str, str] | None = None):
    """The plan as one of a fresh company's, its reference to the previous plan following
    that plan's new id."""
    document["company"]["company_id"] = company
    submission = document["submission"]
    submission["submission_id"] = f"{company}-{submission['reporting_year']}"
    previous = submission.get("previous_submission_id")
    submission["previous_submission_id"] = (renamed or {}).get(previous, previous)
    return validate_plan(document)


def _finding(f) -> Finding:
    text = Localized(nl="-", en="-")
    return Finding(finding_id=f.finding_id, rule_id=f.rule, rule_version=1, severity=f.severity,
                   title=text, message=text, guidance=text,
                   references=[Reference(instrument="DDG", locator="4.1")], pointers=[])


def _problem(engines, case: str) -> str | None:
    """What the runner says of one case, written as in a tests file beside the rules."""
    return check_case(engines, RULES, RULES / "dd3-act.tests.yaml",
                      Case.model_validate(yaml.safe_load(case)))


CANCELLED = ("{note: n, rule: DD3-PRIORITY-RISK-HAS-ACTION, base: compliant-textile, "
             "patch: {/actions/2/status: cancelled}, ")


@pytest.mark.parametrize("case, problem", [
    ("{note: n, rule: NO-SUCH-RULE, base: compliant-textile, "
     "expect: [{rule: ALSO-UNKNOWN, pointer: /x}, {rule: DD3-PRIORITY-RISK-HAS-ACTION, "
     "pointer: /x}]}",
     "names unknown rule(s): ALSO-UNKNOWN, NO-SUCH-RULE"),
    ("{note: n, rule: DD4-OVERDUE-ACTIONS, base: compliant-textile, "
     "patch: {/company/size_class: huge, /company/legal_name: 7}, expect: []}",
     "the case's plan is invalid: /company/legal_name: "),
    ("{note: n, rule: DD4-OVERDUE-ACTIONS, base: compliant-textile, "
     "patch: {/actions/99/status: done}, expect: []}",
     "cannot build the case's plan: list index out of range"),
    ("{note: n, rule: DD4-OVERDUE-ACTIONS, base: compliant-textile, "
     "parameters: {NO-SUCH-RULE: {days: 1}}, expect: []}",
     "NO-SUCH-RULE has no parameter(s) days"),
    ("{note: n, rule: DD4-OVERDUE-ACTIONS, base: compliant-textile, "
     "parameters: {DD4-OVERDUE-ACTIONS: {zz: 1, aa: 2}}, expect: []}",
     "DD4-OVERDUE-ACTIONS has no parameter(s) aa, zz"),
    (CANCELLED + "expect: [{rule: DD3-PRIORITY-RISK-HAS-ACTION, "
     "pointer: /risk_assessment/risks/2, severity: low}]}",
     "wrong severity: DD3-PRIORITY-RISK-HAS-ACTION at /risk_assessment/risks/2 is "),
    (CANCELLED + "expect: [{rule: DD3-PRIORITY-RISK-HAS-ACTION, pointer: /b}, "
     "{rule: DD3-PRIORITY-RISK-HAS-ACTION, pointer: /a}]}",
     "missing: DD3-PRIORITY-RISK-HAS-ACTION at /a, DD3-PRIORITY-RISK-HAS-ACTION at /b; "
     "unexpected: DD3-PRIORITY-RISK-HAS-ACTION at /risk_assessment/risks/2"),
], ids=["unknown rules", "invalid plan", "unbuildable plan", "unknown rule's parameters",
        "unknown parameters", "wrong severity", "two missing, sorted"])
def test_the_runner_says_what_is_wrong_with_a_case(engines, case, problem):
    found = _problem(engines, case)
    assert found is not None and found.startswith(problem), found
    assert found.endswith(", not low") == ("severity: low" in case)
    assert ("; /company/size_class: " in found) == ("size_class" in case)  # every error


def test_a_case_may_name_its_plan_beside_its_file_and_check_severities(engines):
    """`plan:` is read relative to the tests file; a severity given is checked, and a right
    one passes."""
    assert _problem(engines, "{note: n, rule: DD4-OVERDUE-ACTIONS, "
                             "plan: fixtures/compliant-textile.json, expect: []}") is None
    assert _problem(engines, CANCELLED + "expect: [{rule: DD3-PRIORITY-RISK-HAS-ACTION, "
                    "pointer: /risk_assessment/risks/2}]}") is None
    severity = _problem(engines, CANCELLED + "expect: [{rule: DD3-PRIORITY-RISK-HAS-ACTION, "
                        "pointer: /risk_assessment/risks/2, severity: low}]}").split()[-3]
    assert _problem(engines, CANCELLED + "expect: [{rule: DD3-PRIORITY-RISK-HAS-ACTION, "
                    f"pointer: /risk_assessment/risks/2, severity: {severity}}}]}}") is None


def test_every_finding_wrong_is_named_once_in_order(engines):
    """Two unexpected findings, two wrong severities: each named, sorted, comma-separated; an
    expected finding that is missing is missing, whatever severity it was to have."""
    two = ("{note: n, rule: DD3-PRIORITY-RISK-HAS-ACTION, base: compliant-textile, "
           "patch: {/actions/2/status: cancelled, /actions/0/status: cancelled}, ")
    rule = "DD3-PRIORITY-RISK-HAS-ACTION"
    assert _problem(engines, two + "expect: []}") == (
        f"unexpected: {rule} at /risk_assessment/risks/0, {rule} at /risk_assessment/risks/2")
    expected = [f"{{rule: {rule}, pointer: /risk_assessment/risks/{i}, severity: low}}"
                for i in (0, 2)]
    severity = _problem(engines, two + f"expect: [{', '.join(expected)}]}}").split()[-3][:-1]
    assert _problem(engines, two + f"expect: [{', '.join(expected)}]}}") == (
        f"wrong severity: {rule} at /risk_assessment/risks/0 is {severity}, not low, "
        f"{rule} at /risk_assessment/risks/2 is {severity}, not low")
    assert _problem(engines, CANCELLED + f"expect: [{{rule: {rule}, pointer: /x, "
                                         "severity: low}]}") == (
        f"missing: {rule} at /x; unexpected: {rule} at /risk_assessment/risks/2")


def test_a_cases_previous_plan_may_be_named_beside_its_file_too(engines):
    """Last year's plan, like this year's, may be a file beside the tests file (`plan:`)."""
    case = ("{note: n, rule: DD4-KPI-RESULTS-REPORTED, base: compliant-textile, "
            "previous: {plan: fixtures/compliant-textile.json, patch: {"
            "/submission/submission_id: plan-2018, /submission/reporting_year: 2018, "
            "/submission/plan_period: {start: '2018-01-01', end: '2018-12-31'}, "
            "/submission/submitted_at: '2018-03-20T10:00:00+01:00'}}, "
            "patch: {/tracking/kpi_results/2: $delete, "
            "/submission/previous_submission_id: plan-2018}, "
            "expect: [{rule: DD4-KPI-RESULTS-REPORTED, pointer: /actions/2/kpis/0}]}")
    assert _problem(engines, case) is None
    assert _problem(engines, case.replace("fixtures/compliant-textile.json", "nowhere.json")) \
        .startswith("cannot build the case's plan: ")


def test_a_cases_history_is_what_the_pipelines_history_would_give():
    """The previous plan as stored (its id, year and time), one accepted plan before it when
    the case says no more, and the signals forwarded, all at once."""
    from services.rules.core.prior import Signal
    from services.rules.tooling.testing import case_prior

    case = Case.model_validate(yaml.safe_load(
        "{note: n, rule: DD4-KPI-RESULTS-REPORTED, base: compliant-textile, "
        "previous: {base: compliant-textile, patch: {/submission/submission_id: plan-2018, "
        "/submission/reporting_year: 2018, "
        "/submission/submitted_at: '2018-03-20T10:00:00+01:00'}}, "
        "signals: [{signal_ref: SIG-1, forwarded_on: '2019-01-28'}], expect: []}"))
    prior = case_prior(RULES, RULES / "dd4-track.tests.yaml", case)
    assert prior.previous is not None and prior.known
    assert (prior.previous.submission_id, prior.previous.reporting_year,
            prior.previous.submitted_at) == ("plan-2018", 2018, "2018-03-20T10:00:00+01:00")
    assert prior.previous.plan["submission"]["submission_id"] == "plan-2018"
    assert prior.accepted_before == 1 and not prior.same_year
    assert prior.signals == (Signal("SIG-1", "2019-01-28"),)


def test_an_invalid_case_plan_is_told_by_its_first_five_errors(engines):
    found = _problem(engines, "{note: n, rule: DD4-OVERDUE-ACTIONS, base: compliant-textile, "
                              "patch: {/company/legal_name: 1, /company/size_class: huge, "
                              "/company/company_id: '', /submission/language: xx, "
                              "/submission/reporting_year: later, /covenant_extra: 1}, "
                              "expect: []}")
    assert found is not None and found.startswith("the case's plan is invalid: ")
    assert found.count("; ") == 4, found


def test_a_patch_follows_json_pointer_escapes_and_copies_what_it_writes():
    document = {"a/b": {"c~d": 1}, "list": [0, 1], "key": None}
    apply(document, "/a~1b/c~0d", 2)
    assert document["a/b"] == {"c~d": 2}
    written = {"x": [1]}
    apply(document, "/list/-", written)
    apply(document, "/list/0", written)
    apply(document, "/key", written)
    written["x"].append(2)  # the same YAML anchor may feed several patches
    assert document["list"] == [{"x": [1]}, 1, {"x": [1]}] and document["key"] == {"x": [1]}
    apply(document, "/list/1", DELETE)
    apply(document, "/key", DELETE)
    assert document == {"a/b": {"c~d": 2}, "list": [{"x": [1]}, {"x": [1]}]}


def test_a_case_gives_its_plan_one_way():
    with pytest.raises(ValueError, match=r"^give either `base` or `plan`$"):
        case_plan(RULES, RULES / "dd3-act.tests.yaml",
                  PlanSource(base="compliant-textile", plan="fixtures/compliant-textile.json"))
