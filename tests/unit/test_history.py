"""The assessment history on SQLite and on PostgreSQL."""

import uuid

import pytest

from services.rules.adapters.history import SqlAssessmentHistory
from services.shared.contracts import parse_plan
from tests.support import TEXTILE, variant


@pytest.fixture
def history(database):
    return SqlAssessmentHistory(database)


def plan_of(company: str, year: int, submission_id: str | None = None):
    def change(d):
        d["company"]["company_id"] = company
        d["submission"]["submission_id"] = submission_id or str(uuid.uuid4())
        d["submission"]["reporting_year"] = year

    return parse_plan(variant(TEXTILE, change))


def test_the_previous_plan_is_the_latest_of_an_earlier_year(history):
    company = f"AGT-{uuid.uuid4().hex[:8]}"
    for year in (2017, 2018):
        history.record(plan_of(company, year, f"{company}-{year}"), [], "rs-1")
    prior = history.prior(plan_of(company, 2019))
    assert prior.previous is not None and prior.previous.submission_id == f"{company}-2018"
    assert (prior.accepted_before, prior.same_year) == (2, [])
    assert prior.previous.plan["company"]["company_id"] == company


def test_other_plans_of_the_same_year_are_named_but_the_plan_itself_is_not(history):
    company = f"AGT-{uuid.uuid4().hex[:8]}"
    first = plan_of(company, 2019, f"{company}-a")
    history.record(first, [], "rs-1")
    history.record(first, [], "rs-1")  # a redelivery records it again, harmlessly
    assert history.prior(first).same_year == []
    assert history.prior(plan_of(company, 2019, f"{company}-b")).same_year == [f"{company}-a"]


def test_a_company_without_history_has_no_prior(history):
    prior = history.prior(plan_of(f"AGT-{uuid.uuid4().hex[:8]}", 2019))
    assert (prior.previous, prior.same_year, prior.accepted_before) == (None, [], 0)


def test_another_company_or_covenant_is_not_history(history):
    company = f"AGT-{uuid.uuid4().hex[:8]}"
    history.record(plan_of(company, 2018), [], "rs-1")
    assert history.prior(plan_of(company + "-other", 2019)).previous is None


def test_a_plan_is_kept_as_it_was_sent_texts_and_integers_beyond_64_bits_alike(history):
    """The plan is written with orjson where it can, with json where orjson refuses (a
    priority rank beyond 64 bits: the contract leaves it unbounded); both read back the same,
    and the rules assess such a plan."""
    from services.rules.factory import engine_from_folder
    from tests.support import ROOT

    company = f"AGT-{uuid.uuid4().hex[:8]}"

    def change(d):
        d["company"]["company_id"] = company
        d["company"]["legal_name"] = "Çelik Tekstil A.Ş. \u2028"
        d["risk_assessment"]["risks"][0]["priority_rank"] = 10**30
        d["submission"]["reporting_year"] = 2018
    plan = parse_plan(variant(TEXTILE, change))
    findings = engine_from_folder(ROOT / "rules", only={"textile"}).evaluate(plan)
    history.record(plan, findings, "rs-1")
    previous = history.prior(plan_of(company, 2019)).previous
    assert previous is not None and previous.plan == plan.read_only_json()
    assert previous.plan["risk_assessment"]["risks"][0]["priority_rank"] == 10**30
    assert len(previous.findings) == len(findings)
