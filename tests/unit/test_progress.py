"""The progress report: participants, coverage against the targets, plans on time, plans meeting
the requirements (a final review's findings where there is one), findings by rule and theme,
trends; and for banking the figures that leave the secretariat, attacked by a reader who wants
one bank's figure back."""

import dataclasses
import json
from datetime import date
from typing import Any

from services.console.adapters import SqlReviews
from services.console.review import Review, confirm_rest, confirmed, finalise
from services.register import report_view
from services.register.disclosure import TOTAL, Protected, Table, recoverable
from services.register.progress import PlanSummary, report, summaries
from services.shared import covenants
from services.shared.covenants import Progress
from services.shared.db import Database
from tests.register import finding, record, site

SITE = site("L-1", "Example Garments Ltd.", "Plot 12, Example Road")
RISK = "/risk_assessment/risks/0"  # the example's child-labour risk
BANKS = [f"DBA-{n:03d}" for n in range(14)]


def _textile(market: float | None = None) -> Any:
    textile = covenants.current()["textile"]
    progress = Progress(market_eur=market, targets={2018: 0.5, 2020: 0.8})
    return dataclasses.replace(textile, spec=textile.spec.model_copy(
        update={"progress": progress}))


def test_a_textile_year_in_figures(database: Database) -> None:
    record(database, "AGT-1", 2018, [SITE], [finding("DD3-X", "high", RISK)])
    record(database, "AGT-1", 2019, [SITE], [finding("DD3-X", "high", RISK),
                                             finding("DD5-Y", "medium")])
    record(database, "AGT-2", 2019, [SITE], [finding("DD3-X", "critical", RISK)],
           submitted="2019-04-20T10:00:00+02:00")  # after the due date, 1 April
    reviewed = record(database, "AGT-3", 2019, [SITE], [finding("DD2-Z", "high", RISK)])
    # the secretariat dismissed AGT-3's only finding in a final review: it meets them
    sid = reviewed.submission.submission_id
    draft = Review(sid)
    final = finalise(confirm_rest(draft, []), [])
    SqlReviews(database).save(final, 0, "textile", "AGT-3", "sec", "finalise",
                              confirmed([], final))
    textile = _textile(market=1_000_000_000)
    plans = summaries(database, textile)
    made = report(textile, 2019, plans, covenants.current().due_on)
    assert made.participants == 3 and made.reviewed == 1
    assert made.on_time is not None and made.on_time.value == 2 / 3
    assert made.meeting.value == 1 / 3  # AGT-3 only
    assert made.turnover.value == 660_000_000  # the example's 220 million, three times
    assert made.coverage is not None and made.coverage.value == 0.66
    # 2018's target is judged on 2018's coverage (AGT-1 alone: 22%); 2020's is not known yet
    assert made.targets == [(2018, 0.5, False), (2020, 0.8, None)]
    by_rule = {r: (c.value, n.value) for r, c, n in made.by_rule}
    assert by_rule == {"DD3-X": (2 / 3, 2), "DD5-Y": (1 / 3, 1)}  # AGT-3's was dismissed
    assert dict((t, n.value) for t, n in made.by_theme) == {"child_labour": 2, None: 1}
    assert [(t.year, t.participants, t.findings.value) for t in made.trend] == [
        (2018, 1, 1), (2019, 3, 3)]
    assert not made.controlled and made.withheld == 0
    page = report_view.document(made, "nl", None)
    assert "66% " not in page and "66%" in page and "Marktdekking" in page
    assert "2 na beoordeling" not in page and "1 na beoordeling door het secretariaat" in page
    assert page.count("<svg") == 3  # drawn here: no script, nothing fetched from elsewhere
    assert "<script" not in page and "src=" not in page and "<link" not in page


def _bank(n: int, year: int, financing: dict[tuple[str, str], float],
          answers: dict[str, bool] | None = None,
          findings: tuple[tuple[str, str, str | None], ...] = ()) -> PlanSummary:
    return PlanSummary(BANKS[n], year, date(year, 3, 1), None, False, findings,
                       {"financing": financing, "engagement": {}}, answers or {})


def _banks(year: int) -> list[PlanSummary]:
    """14 banks: each finances cocoa in CI and palm oil in ID about equally; one bank alone
    finances C10 in MY; all 14 report along the UNGP framework; 9 publish a breakdown; one bank
    has a finding no other has."""
    plans = []
    for n in range(14):
        financing = {("C10", "CI"): 100.0 + n, ("A01", "ID"): 200.0 + 2 * n,
                     ("A01", "CI"): 50.0 + n}
        if n == 3:
            financing[("C10", "MY")] = 250.0
        plans.append(_bank(n, year, financing, {"ungprf_aligned": True,
                                                "breakdown_published": n < 9},
                           (("DD2-ONLY", "high", None),) if n == 3 else
                           (("DD1-ALL", "medium", "land_rights_fpic"),)))
    return plans


def test_a_single_banks_figure_cannot_be_recovered_from_the_banking_report() -> None:
    banking = covenants.current()["banking"]
    made = report(banking, 2019, _banks(2019), covenants.current().due_on)
    assert made.controlled and made.withheld > 0
    [financing] = [t for t in made.tables if t.name == "financing"]
    assert financing.values[("C10", "MY")] is None  # one bank's alone
    # a reader with the published table works out whatever a row or column gives away
    cells = {k: {} for k in financing.values if TOTAL not in k}
    table = Table(financing.rows, financing.columns, cells)
    published = Protected(dict(financing.values))
    assert ("C10", "MY") not in recoverable(published, table)
    # hidden beside enough: the row's total minus what is shown leaves it between 0 and more
    # than 10% above its value, not at it
    row = [k for k in financing.values if k[0] == "C10" and TOTAL not in k]
    room = financing.values[("C10", TOTAL)] - sum(financing.values[k] or 0 for k in row)
    assert room >= 250 * 1.1
    shares = {name: f.value for name, _, f in made.shares}
    assert shares == {"ungprf_aligned": None, "breakdown_published": 9 / 14}  # 14/14 hidden
    by_rule = {r: (c.value, n.value) for r, c, n in made.by_rule}
    # one bank's finding: that some bank has it may be said (1 of 14), how many it has not
    assert by_rule["DD2-ONLY"] == (1 / 14, None)
    # and the other rule's count goes with it, or the total would give that one away
    assert by_rule["DD1-ALL"] == (13 / 14, None)
    # the page and the workbook carry none of the withheld figures
    page = report_view.document(made, "en", None)
    assert "€250" not in page and "250" not in page.replace("2500", "")


def test_the_banking_suppression_pattern_holds_across_years() -> None:
    banking = covenants.current()["banking"]
    plans = _banks(2018) + _banks(2019)
    first = report(banking, 2018, plans, covenants.current().due_on)
    second = report(banking, 2019, plans, covenants.current().due_on)
    hidden = [{k for k, v in t.values.items() if v is None} for r in (first, second)
              for t in r.tables if t.name == "financing"]
    assert hidden[0] == hidden[1]


def test_the_report_reads_a_real_banking_plan(database: Database) -> None:
    from services.rules.adapters.history import SqlAssessmentHistory
    from services.shared.contracts import parse_plan
    from tests.support import BANKING, example_doc

    for n in range(4):
        doc = example_doc(BANKING)
        doc["company"]["company_id"] = BANKS[n]
        doc["submission"]["submission_id"] = f"00000000-0000-4000-8000-00000000000{n}"
        SqlAssessmentHistory(database).record(parse_plan(json.dumps(doc).encode()), [], "t")
    banking = covenants.current()["banking"]
    [plan, *_] = summaries(database, banking)
    assert plan.tables["financing"] == {("C10", "ID"): 25_000_000, ("C10", "CI"): 8_000_000}
    assert plan.tables["engagement"] == {("land_rights_fpic", ""): 1}
    assert plan.answers == {"ungprf_aligned": True, "breakdown_published": True}


def test_with_an_assessment_framework_meeting_the_requirements_is_its_first_category(
        database: Database) -> None:
    from services.rules.adapters.rulefiles import load_rulebook
    from services.rules.tooling.frameworks import criteria_of, load_frameworks
    from tests.support import ROOT

    record(database, "AGT-1", 2019, [SITE])  # nothing stands: full marks
    # a critical finding keeps a plan out of "meets the requirements" whatever its score
    record(database, "AGT-2", 2019, [SITE], [finding("DD5-LOCATIONS-SUBMITTED", "critical")])
    textile = covenants.current()["textile"]
    framework = load_frameworks(ROOT / "rules")["textile"]
    criteria = criteria_of(load_rulebook(ROOT / "rules"), "textile")
    # no critical or high finding, but a medium one on every criterion: a score of 0
    record(database, "AGT-3", 2019, [SITE], [finding(r, "medium") for r in criteria])
    made = report(textile, 2019, summaries(database, textile), covenants.current().due_on,
                  framework, criteria)
    assert made.meeting.value == 1 / 3
    # without the framework, only the severities count
    assert report(textile, 2019, summaries(database, textile),
                  covenants.current().due_on).meeting.value == 2 / 3
    page = report_view.document(made, "nl", None)
    assert "scorekaart van het Beoordelingskader Kleding en Textiel" in page
    assert "\u2018Voldoet aan de eisen\u2019" in page
