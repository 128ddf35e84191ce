"""covenant rules lint / explain / diff."""

from pathlib import Path

import pytest

from services.cli import main
from services.rules.adapters.rulefiles import load_rulebook
from services.rules.core.vocabulary import unknown_parts
from services.rules.factory import engine_from_folder
from services.rules.tooling.diff import diff
from services.rules.tooling.explain import explain
from services.rules.tooling.lint import lint
from services.rules.tooling.testing import Case, Expected, Outcome, Report
from services.shared import i18n
from services.shared.contracts import parse_plan
from services.shared.errors import ConfigError
from tests.support import EXAMPLES, ROOT, TEXTILE, example

RULES = ROOT / "rules"


def test_the_bundled_rules_lint_clean():
    assert [str(e) for e in lint(RULES)] == []


def line_of(path, rule_id: str) -> int:
    """The line where the rule starts, as an editor shows it."""
    return path.read_text().splitlines().index(f"  - id: {rule_id}") + 1


def test_lint_names_file_line_and_problem(rules_copy):
    path = rules_copy / "dd6-remedy.yaml"
    text = path.read_text()
    text = text.replace('{instrument: UNGP, locator: "15(c)"}',
                        '{instrument: UNGPX, locator: "15(c)"}', 1)
    text = text.replace('{field: exists, op: "!=", value: true}',
                        '{field: existz, op: "!=", value: true}', 1)
    text = text.replace("min_coverage_pct: 80", "min_coverage_pct: 80\n      spare: 3", 1)
    text = text.replace('en: "Risk {risk_id} is an actual', 'en: "Risk {risk_idd} is an actual')
    path.write_text(text)
    available, reaches, remedy = (line_of(path, r) for r in (
        "DD6-GM-AVAILABLE", "DD6-GM-REACHES-SUPPLY-CHAIN-WORKERS",
        "DD6-REMEDY-WHERE-CAUSED-OR-CONTRIBUTED"))
    problems = [(e.file.name, e.line, e.message) for e in lint(rules_copy)]
    assert problems == [
        ("dd6-remedy.yaml", available, "DD6-GM-AVAILABLE: unknown reference instrument 'UNGPX' "
         f"(known: {', '.join(sorted(i18n.instruments()))})"),
        ("dd6-remedy.yaml", available, "DD6-GM-AVAILABLE: mechanism: unknown field 'existz'"),
        ("dd6-remedy.yaml", reaches,
         "DD6-GM-REACHES-SUPPLY-CHAIN-WORKERS: parameter 'spare' is not used"),
        ("dd6-remedy.yaml", remedy, "DD6-REMEDY-WHERE-CAUSED-OR-CONTRIBUTED: the Dutch and "
         "English messages use different placeholders"),
        ("dd6-remedy.yaml", remedy, "DD6-REMEDY-WHERE-CAUSED-OR-CONTRIBUTED: "
         "placeholder {risk_idd} names nothing alternative 1 matches"),
    ]


def test_lint_refuses_a_date_compared_with_a_number_and_date_operators_on_text(rules_copy):
    path = rules_copy / "dd1-policy.yaml"
    text = path.read_text()
    text = text.replace("{field: year, op: \">=\", value: {field: submission.reporting_year, "
                        "plus: -1}}", "{field: year, op: \">=\", value: {field: "
                        "submission.as_of, plus: -1}}", 1)
    text = text.replace("{field: last_reviewed_on, op: older_than,",
                        "{field: approved_by, op: older_than,", 1)
    path.write_text(text)
    problems = [(e.line, e.message) for e in lint(rules_copy)]
    assert problems == [
        (line_of(path, "DD1-POLICY-REVIEW-CYCLE"), "DD1-POLICY-REVIEW-CYCLE: policy: "
         "'older_than' needs a date, and approved_by is a text"),
        (line_of(path, "DD1-BUYER-TRAINING"), "DD1-BUYER-TRAINING: training: year (a number) "
         "cannot be compared with submission.as_of (a date)"),
    ]


def test_lint_names_a_key_given_twice(rules_copy):
    path = rules_copy / "dd2-identify.yaml"
    text = path.read_text().replace("      min_share_project_finance: 1.0\n",
                                    "      min_share_project_finance: 1.0\n    parameters: {}\n", 1)
    path.write_text(text)
    line = text.splitlines().index("    parameters: {}") + 1
    problems = [(e.line, e.message) for e in lint(rules_copy)]
    assert problems[0] == (
        line, "'parameters' is given twice in one place (YAML keeps only the last)")
    assert any("min_share" in message for _, message in problems[1:])  # and what it lost


def test_lint_reports_schema_errors_and_duplicate_ids_with_lines(rules_copy):
    (rules_copy / "extra.yaml").write_text((rules_copy / "dd6-remedy.yaml").read_text())
    (rules_copy / "zz-broken.yaml").write_text("rules:\n  - id: X-1\n    version: zero\n")
    messages = [f"{e.file.name}:{e.line}: {e.message}" for e in lint(rules_copy)]
    n = line_of(rules_copy / "dd6-remedy.yaml", "DD6-GM-AVAILABLE")
    assert f"extra.yaml:{n}: DD6-GM-AVAILABLE: duplicate id (first at dd6-remedy.yaml:{n})" \
        in messages
    assert any(m.startswith("zz-broken.yaml:3: rules/0/version:") for m in messages)


def test_explain_names_the_condition_that_decided():
    engine = engine_from_folder(RULES)
    lines = explain(engine, parse_plan(example(TEXTILE)), "DD3-PRIORITY-RISK-HAS-ACTION")
    assert lines == [
        "/risk_assessment/risks/0: not fired: `without` 1 finds action_risk at "
        "/actions/0/risk_ids/0",
        "/risk_assessment/risks/1: not fired: `without` 1 finds action_risk at "
        "/actions/1/risk_ids/0",
        "/risk_assessment/risks/2: FIRES (every condition holds, every absence confirmed)",
        "/risk_assessment/risks/3: not fired: `where` condition 1 is false: "
        "prioritised == true (here: false)",  # as a rule file writes it
        "the engine reported 1 finding(s) for DD3-PRIORITY-RISK-HAS-ACTION",
    ]


def test_explain_says_when_a_rule_is_out_of_scope_or_unknown():
    engine = engine_from_folder(RULES)
    plan = parse_plan(example(TEXTILE))
    assert explain(engine, plan, "DD2-CLIENT-PERIODIC-REVIEW") == [
        "DD2-CLIENT-PERIODIC-REVIEW does not apply to the textile covenant (scope: banking)"]
    assert explain(engine, plan, "NOPE-1") == ["there is no rule NOPE-1"]
    assert explain(engine, plan, "DD1-POLICY-EXIST") == [
        "there is no rule DD1-POLICY-EXIST (did you mean DD1-POLICY-EXISTS or DD1-POLICY-PUBLIC "
        "or DD1-POLICY-STANDARDS?)"]


def test_diff_shows_findings_that_appear_when_a_threshold_tightens(rules_copy):
    path = rules_copy / "dd6-remedy.yaml"
    path.write_text(path.read_text().replace("min_coverage_pct: 80", "min_coverage_pct: 86"))
    [change] = [d for d in diff(load_rulebook(RULES), load_rulebook(rules_copy),
                                [EXAMPLES / TEXTILE]) if d.appeared or d.disappeared]
    assert change.appeared == ["[high] DD6-GM-REACHES-SUPPLY-CHAIN-WORKERS /grievance/mechanism"]
    assert change.disappeared == []


def test_rules_test_with_coverage_passes_on_the_bundled_rules(capsys):
    assert main(["rules", "test", "--coverage"]) == 0
    assert "coverage: 100% of" in capsys.readouterr().out


def test_rules_test_names_a_failing_case_by_its_file_and_line(rules_copy, monkeypatch,
                                                               capsys):
    path = rules_copy / "dd1-policy.tests.yaml"
    path.write_text(path.read_text().replace("patch: {/policy/exists: false}",
                                             "patch: {/policy/exists: true}", 1))
    monkeypatch.setenv("RULES_DIR", str(rules_copy))
    assert main(["rules", "test"]) == 1
    out = capsys.readouterr().out.splitlines()
    failed = out.index("FAIL dd1-policy.tests.yaml:2: DD1-POLICY-EXISTS: a policy that was "
                       "never adopted")
    assert out[failed + 1] == "       missing: DD1-POLICY-EXISTS at /policy"
    assert path.read_text().splitlines()[1] == "  - note: a policy that was never adopted"
    assert "ok   dd1-policy.tests.yaml:7: DD1-POLICY-EXISTS: the policy document may be an " \
        "https link instead of an attachment" in out


def test_rules_test_fails_when_there_are_no_cases(rules_copy, monkeypatch, capsys):
    for path in rules_copy.glob("*.tests.yaml"):
        path.unlink()
    monkeypatch.setenv("RULES_DIR", str(rules_copy))
    assert main(["rules", "test"]) == 1
    assert "no test cases found" in capsys.readouterr().out


def test_lint_refuses_another_covenants_instrument_untranslated_locators_and_units_twice(
        rules_copy):
    path = rules_copy / "dd6-remedy.yaml"
    text = path.read_text()
    # DD6-GM-AVAILABLE serves both covenants; made a textile rule, it may not cite the DBA
    text = text.replace("    scope: [textile, banking, natural_stone, gold, food, metals, "
                        "insurance]\n    severity: high\n"
                        "    references:\n      - {instrument: UNGP, locator: \"15(c)\"}",
                        "    scope: [textile]\n    severity: high\n    references:\n"
                        "      - {instrument: UNGP, locator: \"15(c)\"}", 1)
    text = text.replace('{instrument: UNGP, locator: "29"}',
                        '{instrument: UNGP, locator: "operational-level mechanisms"}', 1)
    text = text.replace("({coverage_pct_locations})", "({coverage_pct_locations} %)", 1)
    path.write_text(text)
    problems = [(e.line, e.message) for e in lint(rules_copy)]
    available, reaches = (line_of(path, r) for r in (
        "DD6-GM-AVAILABLE", "DD6-GM-REACHES-SUPPLY-CHAIN-WORKERS"))
    assert problems == [
        (available, "DD6-GM-AVAILABLE: reference UNGP operational-level mechanisms: the "
         "locator 'operational-level mechanisms' is in words but has no Dutch and English in "
         "services/shared/i18n/instruments.yaml (locators)"),
        (available, "DD6-GM-AVAILABLE: reference DBA §7 belongs to the banking covenant, which "
         "is not in the rule's scope"),
        (reaches, "DD6-GM-REACHES-SUPPLY-CHAIN-WORKERS: placeholder {coverage_pct_locations} is "
         "shown as a percentage with its unit: leave out the unit beside it"),
    ]


def test_coverage_counts_a_rule_covered_with_a_firing_and_a_quiet_case():
    def outcome(rule: str, fires: bool) -> Outcome:
        expect = [Expected(rule=rule, pointer="/x")] if fires else []
        return Outcome(Path("t.tests.yaml"), Case(note="n", rule=rule, base="b", expect=expect),
                       None)

    report = Report([outcome("A", True), outcome("A", False), outcome("B", True),
                     outcome("C", False)], rules=["A", "B", "C", "D"])
    assert report.coverage() == {"A": (True, True), "B": (True, False), "C": (False, True),
                                 "D": (False, False)}
    assert report.uncovered() == ["B", "C", "D"]
    assert report.covered_share() == 0.25
    assert Report([], rules=[]).covered_share() == 0.0


def test_lint_refuses_a_rule_that_joins_a_part_and_asks_it_absent(rules_copy):
    """The engine decides an absence once the part's facts are in; a rule that joins a part
    and asks for one to be absent can never be compiled with the others, so lint says so at
    its line instead of the engine failing at start."""
    path = rules_copy / "zz-cycle.yaml"
    path.write_text(
        "rules:\n"
        "  - id: ZZ-CYCLE\n"
        "    version: 1\n"
        "    title: {nl: Kringloop, en: Cycle}\n"
        "    scope: [food]\n"
        "    severity: low\n"
        "    references: [{instrument: DDG, locator: \"2.1\"}]\n"
        "    when:\n"
        "      part: self_assessment\n"
        "      with: [{part: submission}]\n"
        "      without: [{part: submission, as: other, join: {reporting_year: completed_year}}]\n"
        "    message: {nl: Kringloop., en: Cycle.}\n"
        "    guidance: {nl: Herschrijf de regel., en: Rewrite the rule.}\n")
    problems = [(e.file.name, e.line, e.message) for e in lint(rules_copy)]
    assert [(f, n, m) for f, n, m in problems if "present and as absent" in m] == [
        ("zz-cycle.yaml", line_of(path, "ZZ-CYCLE"), "ZZ-CYCLE: does not compile: parts read "
         "as present and as absent in a cycle (self_assessment, submission): a part a rule "
         "joins cannot also be one it asks to be absent, in it or in another rule")], problems


@pytest.mark.parametrize("op, written", [
    ("within", "{field: identified_on, op: within, value: {weeks: 2}}"),
    ("older_than", "{field: identified_on, op: older_than, value: {weeks: 2}}"),
])
def test_lint_names_the_age_operator_whose_value_is_no_duration(rules_copy, op, written):
    path = rules_copy / "dd2-identify.yaml"
    path.write_text(path.read_text().replace(
        "{field: identified_on, op: within, value: {param: max_age}}", written, 1))
    messages = [e.message for e in lint(rules_copy)]
    assert any(f"'{op}' on identified_on needs days, months or years" in m
               for m in messages), messages


@pytest.mark.parametrize("file, written, now, said", [
    ("au-gold.yaml", "{field: theme, op: in, value: [conflict_financing, serious_abuses]}",
     "{field: theme, op: in, value: []}",
     "AU-CAHRA-RED-FLAG: does not compile: the condition on theme needs a non-empty list of "
     "values"),
    # a parameter is checked only once it is resolved: here a single value, not a list
    ("dd2-identify.yaml", "affected: [trade_union, workers, worker_representative, "
     "affected_community, ngo]", "affected: trade_union",
     "DD2-STAKEHOLDERS-CONSULTED: does not compile: the condition on stakeholder_type needs a "
     "non-empty list of values"),
])
def test_lint_refuses_in_without_a_list_of_values(rules_copy, file, written, now, said):
    path = rules_copy / file
    assert written in path.read_text()
    path.write_text(path.read_text().replace(written, now, 1))
    assert [e.message for e in lint(rules_copy)] == [said]


@pytest.mark.parametrize("file, written, now, said", [
    ("au-gold.yaml", "{field: theme, op: in, value: [conflict_financing, serious_abuses]}",
     "{field: theme, op: in, value: conflict_financing}",
     "rules/3/when/0/without/0/where/0: 'in' needs a list of values (or a parameter)"),
    ("dd1-policy.yaml", "{field: document_ref, op: missing}",
     "{field: document_ref, op: missing, value: true}",
     "rules/0/when/where/0/any/1: 'missing' takes no value"),
    ("dd1-policy.yaml", '{field: exists, op: "!=", value: true}', "{field: exists, value: true}",
     "rules/0/when/where/0/any/0/op: Field required"),
    ("dd1-policy.yaml", "{field: submission.reporting_year, plus: -1}",
     "{field: submission.reporting_year, plus: one}",
     "rules/13/when/without/0/where/1/plus: give a number, a duration ({months: 3}) or a "
     "parameter ({param: name})"),
    ("dd5-communicate.yaml", "plus: {param: report_owed_after}", "plus: {param: 3}",
     "rules/4/when/where/0/plus/param: Input should be a valid string"),
    ("dd5-communicate.yaml", "plus: {param: report_owed_after}", "plus: {weeks: 2}",
     "rules/4/when/where/0/plus: a duration is given in days, months or years, not in weeks"),
    ("dd1-policy.yaml", "{field: submission.reporting_year, plus: -1}",
     "{field: submission.reporting_year, minus: {years: 1}}",
     "rules/13/when/without/0/where/1: `minus` takes a number or a parameter; for a date "
     "earlier by a duration, compare the other way round with `plus`"),
])
def test_lint_says_once_and_at_its_line_what_is_wrong_with_a_condition(
        rules_copy, file, written, now, said):
    # pydantic tried every kind of test and of `when` and reported each failure: ten lines
    # or more for one mistake, at the rule's first line, with its models' inner names
    path = rules_copy / file
    path.write_text(path.read_text().replace(written, now, 1))
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if now in text)
    assert [(e.file.name, e.line, e.message) for e in lint(rules_copy)] == [(file, line, said)]


def test_lint_names_an_unknown_part_with_the_parts_it_is_close_to_or_all_of_them(rules_copy):
    # it used to report each of the rule's conditions as an unknown field of that part
    path = rules_copy / "dd1-policy.yaml"
    text = path.read_text()
    path.write_text(text.replace("part: policy", "part: polcy", 1))
    assert [(e.line, e.message) for e in lint(rules_copy)] == [
        (line_of(path, "DD1-POLICY-EXISTS"), "DD1-POLICY-EXISTS: unknown part 'polcy' (did you "
         "mean policy or esg_policy?)")]
    path.write_text(text.replace("part: policy", "part: zzqx", 1))
    [problem] = [e.message for e in lint(rules_copy)]
    known = problem.removeprefix("DD1-POLICY-EXISTS: unknown part 'zzqx'; the parts a rule can "
                                 "name: ").split(", ")
    assert "policy" in known and "location" in known and known == sorted(known), problem
    # two at once: each with its close ones; the whole list once, as one has none
    said = unknown_parts(["polcy", "zzqx", "policy"])
    assert said is not None and said.startswith(
        "unknown part 'polcy' (did you mean policy or esg_policy?); unknown part 'zzqx'; the "
        "parts a rule can name: action, "), said
    assert unknown_parts(["policy", "location"]) is None


def test_lint_names_an_unknown_parameter_with_the_rules_own(rules_copy):
    path = rules_copy / "dd2-identify.yaml"
    path.write_text(path.read_text().replace(
        "{field: identified_on, op: within, value: {param: max_age}}",
        "{field: identified_on, op: within, value: {param: max_ag}}", 1))
    assert [e.message for e in lint(rules_copy)] == [
        "DD2-HIGH-RISK-LOCATIONS-ASSESSED: does not compile: unknown parameter 'max_ag' (the "
        "rule's parameters: max_age)"]  # it said only "'max_ag'"


def test_lint_checks_the_test_cases_beside_the_rules(rules_copy):
    # it read the rule files only: a case file `covenant rules test` refuses linted clean
    path = rules_copy / "dd1-policy.tests.yaml"
    text = path.read_text()
    path.write_text(text.replace("    expect: []", "    expct: []", 1))
    lines = path.read_text().splitlines()
    assert [(e.file.name, e.line, e.message) for e in lint(rules_copy)] == [
        ("dd1-policy.tests.yaml", 7, "cases/1/expect: Field required"),
        ("dd1-policy.tests.yaml", 11, "cases/1/expct: Extra inputs are not permitted")]
    assert lines[6] == "  - note: the policy document may be an https link instead of an " \
        "attachment" and lines[10] == "    expct: []"
    path.write_text(text.replace("expect: [{rule: DD1-POLICY-EXISTS, pointer: /policy}]",
                                 "expect: [{rule: DD1-POLICY-EXIST, pointer: /policy}]", 1))
    assert [(e.file.name, e.line, e.message) for e in lint(rules_copy)] == [
        ("dd1-policy.tests.yaml", 6, "case 'a policy that was never adopted' names rule "
         "DD1-POLICY-EXIST, which no rule file defines")]
    # a fixture that is not there, for the plan or for the previous one
    path.write_text(text.replace("base: compliant-textile", "base: compliant-textil", 1))
    memory = rules_copy / "xy-memory.tests.yaml"
    memory.write_text(memory.read_text().replace("    previous: &previous_with_findings\n"
                                                 "      base: compliant-textile",
                                                 "    previous: &previous_with_findings\n"
                                                 "      base: textile", 1))
    problems = [(e.file.name, e.line, e.message) for e in lint(rules_copy)]
    assert problems[0] == ("dd1-policy.tests.yaml", 4, "case 'a policy that was never adopted': "
                           "there is no fixture 'compliant-textil' in fixtures/ (did you mean "
                           "compliant-textile?)")
    assert problems[1:] and {(f, n) for f, n, _ in problems[1:]} == {("xy-memory.tests.yaml", 32)}
    fixtures = sorted(p.stem for p in (rules_copy / "fixtures").glob("*.json"))
    assert "compliant-banking" in fixtures and problems[1][2].endswith(
        f": there is no fixture 'textile' in fixtures/; there are {', '.join(fixtures)}"), \
        problems[1]


@pytest.mark.parametrize("file, written, now, said", [
    ("fd-food.yaml", "effective_from: 2025-12-30", "effective_from: 2025-02-30",
     "2025-02-30 is no date (day is out of range for month)"),
    ("covenants/textile/covenant.yaml", "signed_on: 2016-07-04", "signed_on: 2016-17-04",
     "2016-17-04 is no date (month must be in 1..12)"),
])
def test_an_impossible_date_is_invalid_yaml_at_its_line_not_a_crash(rules_copy, file, written,
                                                                      now, said):
    # PyYAML raised a bare ValueError: lint and the rules service ended in a traceback
    path = rules_copy / file
    path.write_text(path.read_text().replace(written, now, 1))
    line = path.read_text().splitlines().index(next(
        text for text in path.read_text().splitlines() if now in text)) + 1
    assert [(e.file, e.line, e.message) for e in lint(rules_copy)] == [
        (path, line, f"not valid YAML: {said}")]
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_rulebook(rules_copy)


def test_lint_refuses_in_against_a_list_of_the_parts_own(rules_copy):
    path = rules_copy / "dd1-policy.yaml"
    path.write_text(path.read_text().replace(
        "{field: language, op: in, value: {field: country.languages}}",
        "{field: language, op: in, value: {field: languages}}", 1))
    messages = [e.message for e in lint(rules_copy)]
    assert any("'in' on language compares with a list of another part (`alias.field`), not of "
               "its own" in m for m in messages), messages


def test_lint_names_the_values_of_the_submission_a_rule_may_compare_with(rules_copy):
    path = rules_copy / "dd4-track.yaml"
    path.write_text(path.read_text().replace(
        '{field: target.on, op: "<=", value: {field: submission.as_of}}',
        '{field: target.on, op: "<=", value: {field: submission.due}}', 1))
    messages = [m.split(": ", 1)[1] for e in lint(rules_copy) if "submission" in (m := e.message)]
    assert messages == ["does not compile: 'submission.due': the submission offers as_of, "
                        "plan_period.end, plan_period.start, reporting_year, submitted_at"]


def test_lint_refuses_another_field_as_the_value_of_an_operator_that_cannot_take_one(
        rules_copy):
    path = rules_copy / "dd1-policy.yaml"
    path.write_text(path.read_text().replace(
        "{field: language, op: in, value: {field: country.languages}}",
        "{field: language, op: matches, value: {field: country.languages}}", 1))
    messages = [e.message for e in lint(rules_copy)]
    assert "DD1-POLICY-COMMUNICATED: does not compile: 'matches' on language cannot take " \
           "another field as its value (comparisons and 'in' can)" in messages, messages
