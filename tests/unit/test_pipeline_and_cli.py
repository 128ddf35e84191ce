import email
import json
import re
import uuid
from email import policy

import pytest

from services.cli import main
from services.pipeline import LocalPipeline, plan_files
from services.shared.contracts import parse_plan
from tests.support import BANKING, EXAMPLES, INVALID, ROOT, TEXTILE, TEXTILE_2018

STONE = "natural_stone-voorbeeld-natuursteen-2021.json"
GOLD = "gold-voorbeeld-goud-2021.json"
FOOD = "food-voorbeeld-voeding-2021.json"
METALS = "metals-voorbeeld-metaal-2023.json"
INSURANCE = "insurance-voorbeeld-verzekeraar-2021.json"


def test_the_one_process_pipeline_assesses_rejects_and_notifies(tmp_path, monkeypatch):
    monkeypatch.delenv("SMTP_URL", raising=False)
    pipeline = LocalPipeline.on_embedded_defaults(tmp_path)
    reports = {r.source.rsplit("/", 1)[-1]: r for r in pipeline.run(plan_files([EXAMPLES]))}
    assert {k: r.outcome for k, r in reports.items()} == {
        BANKING: "accepted", INVALID: "rejected", TEXTILE_2018: "accepted", TEXTILE: "accepted",
        STONE: "accepted", GOLD: "accepted", FOOD: "accepted", METALS: "accepted",
        INSURANCE: "accepted"}
    # the invalid plan's company was never accepted: only the secretariat hears of it
    assert {k: len(r.notifications) for k, r in reports.items()} == {
        BANKING: 2, INVALID: 1, TEXTILE_2018: 2, TEXTILE: 2, STONE: 2, GOLD: 2, FOOD: 2,
        METALS: 2, INSURANCE: 2}
    assert len(list(tmp_path.glob("*.eml"))) == 17
    # each covenant's findings cite its own instruments, never another's
    cited = {k: {ref.instrument for f in r.assessment.findings for ref in f.references}
             for k, r in reports.items() if r.assessment}
    assert {"TS", "TS-AF"} <= cited[STONE] and not cited[STONE] & {"AGT", "DBA", "GFG"}
    assert {"AU", "OMG"} <= cited[GOLD] and not cited[GOLD] & {"AGT", "TS", "DBA"}
    assert {"FOOD", "OFG"} <= cited[FOOD] and not cited[FOOD] & {"AGT", "TS", "AU", "DBA"}
    assert {"MET", "OMG"} <= cited[METALS] and not cited[METALS] & {"AGT", "AU", "FOOD", "DBA"}
    assert {"INS", "RBCII"} <= cited[INSURANCE] and not cited[INSURANCE] & {"DBA", "CLSU", "MET"}
    assert "AGT" in cited[TEXTILE] and not cited[TEXTILE] & {"TS", "TS-AF", "DBA"}


def test_the_one_process_pipeline_remembers_last_years_plan(tmp_path):
    pipeline = LocalPipeline.on_embedded_defaults(tmp_path)
    first, second = pipeline.run([EXAMPLES / TEXTILE_2018, EXAMPLES / TEXTILE])
    assert "XY-PRIORITY-RISKS-CARRIED-OR-CLOSED" not in rule_ids(first)
    found = [(f.rule_id, f.pointers[0]) for f in second.assessment.findings
             if f.rule_id.startswith("XY-")]
    assert ("XY-PRIORITY-RISKS-CARRIED-OR-CLOSED", "/previous/risk_assessment/risks/4") in found
    assert ("XY-OPEN-ACTIONS-CARRIED-FORWARD", "/previous/actions/3") in found
    answered = {r.finding_id for r in parse_plan((EXAMPLES / TEXTILE).read_bytes())
                .previous_findings_responses}
    failing_again = rule_ids(second)
    unanswered = {f.finding_id for f in first.assessment.findings
                  if f.severity.value in ("critical", "high", "medium")
                  and f.rule_id in failing_again} - answered  # the others are auto-resolved
    assert sum(r == "XY-PREVIOUS-FINDINGS-ADDRESSED" for r, _ in found) == len(unanswered) > 0


@pytest.mark.parametrize("name", [BANKING, STONE, GOLD, FOOD, METALS, INSURANCE])
def test_every_covenants_company_is_assessed_in_its_second_year(tmp_path, name):
    """The next year's plan is read with the first one beside it, for every covenant (a
    bank's, a food company's and an insurer's second plan were once dead-lettered)."""
    document = json.loads((EXAMPLES / name).read_bytes())
    submission = document["submission"]
    submission["submission_id"] = str(uuid.uuid4())
    submission["reporting_year"] += 1
    year = int(submission["submitted_at"][:4])
    submission["submitted_at"] = f"{year + 1}{submission['submitted_at'][4:]}"
    for end in ("start", "end"):
        period = submission["plan_period"][end]
        submission["plan_period"][end] = f"{int(period[:4]) + 1}{period[4:]}"
    later = tmp_path / f"next-{name}"
    later.write_text(json.dumps(document), encoding="utf-8")
    first, second = LocalPipeline.on_embedded_defaults(tmp_path).run([EXAMPLES / name, later])
    assert (first.outcome, second.outcome) == ("accepted", "accepted"), second.dead_letters
    assert second.assessment is not None and second.assessment.previous is not None
    assert second.assessment.previous.submission_id == first.assessment.submission_id


def rule_ids(report):
    return {f.rule_id for f in report.assessment.findings}


def test_each_company_message_holds_only_that_companys_plan(tmp_path):
    pipeline = LocalPipeline.on_embedded_defaults(tmp_path)
    pipeline.run([EXAMPLES / TEXTILE, EXAMPLES / BANKING])
    companies = {"mvo@voorbeeldmode.example": ("Voorbeeld Mode", "Voorbeeldbank"),
                 "human.rights@voorbeeldbank.example": ("Voorbeeldbank", "Voorbeeld Mode")}
    for eml in tmp_path.glob("*.eml"):
        m = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
        if m["To"] in companies:
            own, other = companies[m["To"]]
            body = m.get_body(("plain",)).get_content()
            assert own in body and other not in body


def test_an_exact_resubmission_in_one_run_is_assessed_once(tmp_path):
    pipeline = LocalPipeline.on_embedded_defaults(tmp_path)
    outcomes = [r.outcome for r in pipeline.run([EXAMPLES / TEXTILE, EXAMPLES / TEXTILE])]
    assert sorted(outcomes) == ["accepted", "duplicate"]


def test_run_prints_a_summary_per_plan(capsys, tmp_path):
    assert main(["run", "--outbox", str(tmp_path), str(EXAMPLES / BANKING)]) == 0
    out = capsys.readouterr().out
    assert "accepted" in out and "(rule DD3-PRIORITY-RISK-HAS-ACTION; " in out  # in English
    assert "notified: company (outbox), secretariat (outbox)" in out


def test_check_exits_2_on_an_invalid_plan_and_prints_every_pointer(capsys):
    assert main(["check", str(EXAMPLES / INVALID)]) == 2
    out = capsys.readouterr().out  # the plan is in Dutch: so is the report
    assert "invalid-plan-errors.json: ongeldig, 11 fouten" in out
    assert "  * Actie 1, risico's, nr. 1: Er is geen onderdeel met id 'R-404' in dit plan.\n" \
           "    (/actions/0/risk_ids/0, dangling_reference)" in out


def test_check_exits_1_when_something_high_or_critical_is_found(capsys):
    assert main(["check", "--format", "json", str(EXAMPLES / BANKING)]) == 1
    [result] = json.loads(capsys.readouterr().out)
    assert result["valid"] and result["findings"][0]["severity"] == "critical"


def test_check_exits_0_when_nothing_high_or_critical_is_found(tmp_path, capsys):
    plan = json.loads((ROOT / "rules" / "fixtures" / "compliant-textile.json").read_text())
    plan["actions"][2]["due_on"] = "2019-03-01"  # overdue, its risk not severe: medium
    path = tmp_path / "medium-only.json"
    path.write_text(json.dumps(plan))
    assert main(["check", "--lang", "en", str(path)]) == 0
    out = capsys.readouterr().out
    assert "The pre-assessment found 1 issue. (1 medium)" in out
    assert "\n  MEDIUM (1)\n  * " in out and "    What you can do: " in out
    assert "(rule DD4-OVERDUE-ACTIONS; place in the plan: Action 3)" in out  # in words


def test_check_groups_by_severity_in_the_plans_language_with_pointers_in_natural_order(
        tmp_path, capsys):
    plan = json.loads((EXAMPLES / TEXTILE).read_text())
    locations = plan["textile"]["production_locations"]
    for n in range(12):  # locations 4..15 in Bangladesh, none monitored: /.../10 after /.../9
        locations.append({**locations[3], "location_id": f"L-X{n:02d}", "os_id": None,
                          "name": f"Dhaka Knit {n}"})
    path = tmp_path / "many.json"
    path.write_text(json.dumps(plan))
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    headings = [line for line in out.splitlines() if re.fullmatch(r"  [A-Z ]+ \(\d+\)", line)]
    assert [h.split(" (")[0].strip() for h in headings] == ["KRITIEK", "HOOG", "MIDDEL", "LAAG"]
    assert "    Wat u kunt doen: " in out and "What you can do" not in out
    places = [int(n) for n in re.findall(
        r"regel DD4-LOCATION-MONITORING-RECENT; plaats in het plan: Productielocatie (\d+)\)",
        out)]
    assert {10, 11, 16} <= set(places) and places == sorted(places)  # 10 before 11, not after 1
    assert main(["check", "--format", "json", str(path)]) == 1  # the same shape as before
    [result] = json.loads(capsys.readouterr().out)
    assert set(result) == {"file", "valid", "ruleset_version", "findings"}


def test_submit_to_a_broker_that_is_not_there_says_so(monkeypatch, capsys):
    from tests.support import free_port

    monkeypatch.setenv("AMQP_URL", f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F")
    assert main(["submit", str(EXAMPLES / TEXTILE)]) == 1
    err = capsys.readouterr().err
    assert "cannot reach the broker at AMQP_URL" in err and "topology" not in err


def test_check_says_in_words_when_a_valid_plan_cannot_be_assessed_and_exits_3(monkeypatch,
                                                                             capsys):
    """Ingest refuses what the engine cannot hold (`x-assessable-items`), so an engine limit
    reaches `check` only through a rule set of its own; its words, not a traceback."""
    from services.rules import factory
    from services.rules.ports import EvaluationError

    real = factory.engine_from_folder

    def limited(folder, **only):
        engine = real(folder, **only)

        def evaluate(plan, prior=None):
            raise EvaluationError("the plan gives textile-1 25,000 facts, more than the "
                                  "engine's 20,000 per state")
        monkeypatch.setattr(engine, "evaluate", evaluate)
        return engine

    monkeypatch.setattr(factory, "engine_from_folder", limited)
    textile = str(EXAMPLES / "textile-voorbeeld-mode-2019.json")
    assert main(["check", "--lang", "en", textile, str(EXAMPLES / INVALID)]) == 3
    out = capsys.readouterr().out
    assert ("textile-voorbeeld-mode-2019.json: valid, but the rules could not assess the plan "
            "(the plan gives textile-1 25,000 facts") in out
    assert "Please tell the covenant secretariat." in out
    assert "invalid-plan-errors.json: invalid, 11 errors" in out  # the other file still told
    assert main(["check", "--format", "json", textile]) == 3
    [result] = json.loads(capsys.readouterr().out)
    assert result["valid"] and result["assessed"] is False and "per state" in result["reason"]


def test_check_refuses_as_ingest_would_a_plan_the_rules_could_not_hold(tmp_path, capsys):
    """A bank with 3,800 clients: more facts than every engine state can hold beside the rest.
    Ingest refuses it (test_ingest.py); the self-check says the same, in the plan's language
    (English here) or the one asked for, with both numbers, and exits 2."""
    from bench.plans import bank_plan

    plan = bank_plan(20, clients=3_800)
    path = tmp_path / "bank.json"
    path.write_text(json.dumps(plan.to_json_dict()), encoding="utf-8")
    assert main(["check", str(path)]) == 2
    out = capsys.readouterr().out
    assert "bank.json: invalid, 1 error" in out and "too_many_shared_parts" in out
    assert "The plan has 15,282 parts and list values" in out and "at most 15,000" in out
    assert main(["check", "--lang", "nl", str(path)]) == 2
    out = capsys.readouterr().out
    assert "bank.json: ongeldig, 1 fout" in out
    assert "Het plan heeft 15.282 onderdelen en lijstwaarden" in out and "15.000" in out


def test_check_compiles_the_rules_of_the_plans_own_covenants_only(capsys):
    from services.rules.factory import engine_from_folder
    from services.rules.ports import EvaluationError

    banking_only = engine_from_folder(ROOT / "rules", only={"banking"})
    assert banking_only.evaluate(parse_plan((EXAMPLES / BANKING).read_bytes()))
    with pytest.raises(EvaluationError, match="without the rules of covenant textile"):
        banking_only.evaluate(parse_plan((EXAMPLES / TEXTILE).read_bytes()))
    # plans of two covenants in one run: each assessed by its own covenant's rules
    assert main(["check", "--format", "json", str(EXAMPLES / TEXTILE),
                 str(EXAMPLES / BANKING)]) == 1
    results = json.loads(capsys.readouterr().out)
    assert [r["valid"] and bool(r["findings"]) for r in results] == [True, True]


def test_a_check_imports_nothing_it_does_not_use(tmp_path):
    """A cold start pays for what `check` uses: not logging's structlog (nothing is logged),
    the broker's client, the metrics or the database; the command's own work is unchanged."""
    import os
    import subprocess
    import sys

    probe = ("import sys, contextlib, io\n"
             "from services.cli import main\n"
             "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
             f"    code = main(['check', {str(EXAMPLES / TEXTILE)!r}])\n"
             "print(code, 'findings' in out.getvalue() or 'bevinding' in out.getvalue())\n"
             "print(' '.join(sorted(m for m in ('structlog', 'pika', 'prometheus_client',\n"
             "    'sqlalchemy', 'asyncio', 'jinja2') if m in sys.modules)))\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "COVENANT_CACHE_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    result, imported = done.stdout.splitlines()
    assert result == "1 True"
    assert imported == ""


def test_the_command_collects_no_garbage_while_a_check_starts_and_collects_it_as_plans_are_assessed(
        tmp_path):
    """The collector is off while the engine is built (services/command.py), and on, with
    start-up's objects frozen out of its reach, when the plans are assessed."""
    import os
    import subprocess
    import sys

    probe = ("import gc, sys\n"
             "from services.rules.adapters.durable_engine import DurableRulesEngine\n"
             "seen = []\n"
             "built, evaluate = DurableRulesEngine.__init__, DurableRulesEngine.evaluate\n"
             "def init(self, *a, **k):\n"
             "    built(self, *a, **k)\n"
             "    seen.append(('built', gc.isenabled()))\n"
             "def assess(self, plan):\n"
             "    seen.append(('assessed', gc.isenabled(), gc.get_freeze_count() > 1000))\n"
             "    return evaluate(self, plan)\n"
             "DurableRulesEngine.__init__, DurableRulesEngine.evaluate = init, assess\n"
             "import os\n"
             "_exit = os._exit\n"
             "os._exit = lambda code: (print(seen, code, flush=True), _exit(code))\n"
             f"sys.argv = ['covenant', 'check', {str(EXAMPLES / TEXTILE)!r}]\n"
             "from services.command import console\n"
             "console()\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "COVENANT_CACHE_DIR": str(tmp_path)})
    assert done.stdout.splitlines()[-1] == "[('built', False), ('assessed', True, True)] 1", \
        done.stderr
