"""The secretariat's review: its rules (free of I/O), the review over real HTTP on SQLite and
PostgreSQL (a draft, verdicts, an added finding, finalising, reopening, who may change it), the
feedback letter through notify's ledger to a real SMTP server (once per finalisation, however
often it is published), and next year's plan checked against what the review confirmed."""

import csv
import email
import html
import io
import re
import threading
from email import policy

import pytest
from prometheus_client import CollectorRegistry
from waitress.server import create_server

from services.console.adapters import SqlAccounts, SqlReviews
from services.console.bootstrap import build_stores
from services.console.domain import Role, Scope
from services.console.review import (
    Review,
    ReviewError,
    State,
    Verdict,
    add,
    confirm_rest,
    confirmed,
    decide,
    finalise,
    reopen,
)
from services.console.web import create_app
from services.notify.adapters import SmtpMailer
from services.notify.domain import Renderer, Secretariat
from services.notify.handlers import NotifyHandler
from services.notify.store import SqlNotificationStore
from services.rules.adapters.history import SqlAssessmentHistory
from services.rules.core.prior import Prior
from services.rules.factory import engine_from_folder
from services.shared.contracts import Language, Severity, parse_plan
from services.shared.messaging.handling import Delivery, Outgoing
from services.shared.metrics import ServiceMetrics
from services.shared.outbox import OutboxRelay
from tests.support import EXAMPLES, ROOT, Browser

PLAN_2018, PLAN_2019 = EXAMPLES / "textile-voorbeeld-mode-2018.json", \
    EXAMPLES / "textile-voorbeeld-mode-2019.json"
ADDRESSED = "XY-PREVIOUS-FINDINGS-ADDRESSED"


@pytest.fixture(scope="module")
def engine():
    return engine_from_folder(ROOT / "rules")


def finding(fid: str, severity: str = "high", rule: str = "DD2-X") -> dict:
    text = {"nl": "t", "en": "t"}
    return {"finding_id": fid, "rule_id": rule, "rule_version": 1, "severity": severity,
            "title": text, "message": text, "guidance": text, "references": [],
            "pointers": [], "severity_reason": None}


# --- the review's rules ---------------------------------------------------------------------

def test_dismissing_or_changing_a_severity_needs_a_reason():
    review, ids = Review("s"), ["a", "b"]
    with pytest.raises(ReviewError, match="reason_required"):
        decide(review, ids, "a", Verdict.DISMISSED, None, "  ")
    with pytest.raises(ReviewError, match="reason_required"):
        decide(review, ids, "a", Verdict.CONFIRMED, Severity.LOW, "")
    with pytest.raises(ReviewError, match="unknown_finding"):
        decide(review, ids, "elsewhere", Verdict.CONFIRMED, None, "")
    confirmed_as_is = decide(review, ids, "a", Verdict.CONFIRMED, None, "")
    assert confirmed_as_is.decisions["a"].verdict is Verdict.CONFIRMED
    assert confirmed_as_is.revision == review.revision + 1


def test_a_review_is_final_only_with_a_verdict_on_every_finding_and_then_changes_only_reopened():
    ids = ["a", "b"]
    review = decide(Review("s"), ids, "a", Verdict.DISMISSED, None, "answered in the meeting")
    with pytest.raises(ReviewError, match="undecided"):
        finalise(review, ids)
    final = finalise(confirm_rest(review, ids), ids)
    assert final.state is State.FINAL and final.decisions["b"].verdict is Verdict.CONFIRMED
    with pytest.raises(ReviewError, match="final"):
        decide(final, ids, "a", Verdict.CONFIRMED, None, "")
    again = reopen(final)
    assert again.state is State.DRAFT and again.round == 2 and again.revision > final.revision
    assert Review.from_json(again.to_json()) == again


def test_what_a_review_confirms_leaves_out_the_dismissed_and_carries_its_own_severities():
    findings = [finding("a"), finding("b"), finding("c", "medium")]
    ids = [f["finding_id"] for f in findings]
    review = decide(Review("s"), ids, "a", Verdict.DISMISSED, None, "not applicable")
    review = decide(review, ids, "c", Verdict.CONFIRMED, Severity.CRITICAL, "child labour")
    review = add(review, "textile", "No grievance officer", "Nobody handles complaints.",
                 Severity.HIGH, "AGT", "§2.1")
    kept = confirmed(findings, confirm_rest(review, ids))
    assert [f["finding_id"] for f in kept][:2] == ["c", "b"]  # worst first
    assert kept[0]["severity"] == "critical"
    assert kept[0]["severity_reason"] == {"nl": "child labour", "en": "child labour"}
    assert kept[2]["rule_id"] == "SECRETARIAT"
    assert kept[2]["references"] == [{"instrument": "AGT", "locator": "§2.1"}]


def test_an_added_finding_cites_a_provision_that_applies_to_the_covenant():
    with pytest.raises(ReviewError, match="provision_required"):
        add(Review("s"), "banking", "t", "m", Severity.LOW, "AGT", "§2.1")  # textile's
    with pytest.raises(ReviewError, match="provision_required"):
        add(Review("s"), "textile", "t", "m", Severity.LOW, "UNGP", " ")
    with pytest.raises(ReviewError, match="text_required"):
        add(Review("s"), "textile", "", "m", Severity.LOW, "UNGP", "17")


# --- over HTTP, on SQLite and PostgreSQL ----------------------------------------------------

@pytest.fixture
def console(database, engine):
    """A console on `database` holding the 2018 example's assessment, with a secretariat, an
    auditor and the company's account; yields (port, stores, findings)."""
    history = SqlAssessmentHistory(database)
    plan = parse_plan(PLAN_2018.read_bytes())
    findings = engine.evaluate(plan, Prior())
    history.record(plan, findings, engine.ruleset_version)
    accounts = SqlAccounts(database)
    for username, role, covenant, company in (
            ("sec", Role.SECRETARIAT, "textile", None), ("audit", Role.AUDITOR, None, None),
            ("mode", Role.COMPANY, "textile", plan.company.company_id)):
        accounts.add(username, "correct horse battery staple", role, covenant, company, "nl")
    stores = build_stores(database)
    server = create_server(create_app(stores, secure_cookies=True), host="127.0.0.1", port=0)
    threading.Thread(target=server.run, daemon=True).start()
    yield server.effective_port, stores, [f.model_dump(mode="json") for f in findings]
    server.close()


def post(browser: Browser, sid: str, action: str, **form: str) -> tuple[int, str]:
    """Posts a change with the revision and CSRF token the assessment page shows; returns the
    status and the page it leads to."""
    page = browser.get(f"/assessments/{sid}")[1]
    shown = re.search(r'name="revision" value="(\d+)"', page)  # none where nothing may change
    revision = shown.group(1) if shown else "0"
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    status, headers, _ = browser.request("POST", f"/assessments/{sid}/review", {
        "csrf": csrf, "revision": revision, "action": action, **form})
    location = headers.get("Location", "")
    return status, browser.get(location.split("#")[0])[1] if status == 302 else ""


def test_a_review_goes_from_draft_to_final_and_sends_one_feedback(console):
    port, stores, findings = console
    sid = parse_plan(PLAN_2018.read_bytes()).submission.submission_id
    sec = Browser(port)
    sec.login("sec")
    first, second = findings[0]["finding_id"], findings[1]["finding_id"]
    _, page = post(sec, sid, "decide", finding_id=first, verdict="dismissed", reason="")
    assert "Geef een reden" in page  # refused, in words
    _, page = post(sec, sid, "decide", finding_id=first, verdict="dismissed",
                   reason="Besproken in het beoordelingsgesprek")
    assert "vervallen" in page
    post(sec, sid, "decide", finding_id=second, verdict="confirmed", severity="critical",
         reason="Kinderarbeid in de keten")
    post(sec, sid, "add", title="Geen klachtenfunctionaris", message="Niemand behandelt "
         "klachten.", severity="high", instrument="AGT", locator="§2.1")
    post(sec, sid, "remarks", remarks="Opmerking van het secretariaat: goede vooruitgang.")
    _, page = post(sec, sid, "finalise")
    assert "Geef eerst een oordeel" in page and stores.outbox.pending() == []

    # the company sees nothing of a draft: the automatic findings, no remarks, no verdicts
    company = Browser(port)
    company.login("mode")
    page = company.get(f"/assessments/{sid}")[1]
    assert "goede vooruitgang" not in page and "Besproken in" not in page
    assert 'name="action"' not in page

    post(sec, sid, "confirm_rest")
    _, page = post(sec, sid, "finalise")
    assert "Afgerond (ronde 1)" in page
    pending = stores.outbox.pending()
    assert len(pending) == 1 and pending[0].routing_key == "review.finalised.textile"
    _, page = post(sec, sid, "decide", finding_id=second, verdict="confirmed")
    assert "heropen" in page  # a final review does not change silently
    review = stores.reviews.get(sid)
    assert review.state is State.FINAL and review.remarks.endswith("goede vooruitgang.")
    assert [a for _, a, _, _ in stores.reviews.history(sid)] == [
        "decide", "decide", "add", "remarks", "confirm_rest", "finalise"]

    # the company now sees the final review: remarks, and the dismissed finding gone
    page = company.get(f"/assessments/{sid}")[1]
    assert "goede vooruitgang" in page and f'id="{first}"' not in page
    assert f'id="{second}"' in page

    # reopening keeps the history and a second finalisation sends a second feedback
    post(sec, sid, "reopen")
    post(sec, sid, "finalise")
    pending = stores.outbox.pending()
    assert len(pending) == 2 and pending[0].message_id != pending[1].message_id
    assert [a for _, a, _, _ in stores.reviews.history(sid)][-2:] == ["reopen", "finalise"]


def test_only_the_covenants_secretariat_changes_a_review_and_an_outdated_page_is_refused(
        console):
    port, stores, findings = console
    sid = parse_plan(PLAN_2018.read_bytes()).submission.submission_id
    first = findings[0]["finding_id"]
    for username in ("audit", "mode"):
        browser = Browser(port)
        browser.login(username)
        status, _ = post(browser, sid, "decide", finding_id=first, verdict="confirmed")
        assert status == 403, username
        assert stores.reviews.get(sid) is None
    sec = Browser(port)
    sec.login("sec")
    page = sec.get(f"/assessments/{sid}")[1]
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    form = {"csrf": csrf, "revision": "0", "action": "decide", "finding_id": first,
            "verdict": "confirmed"}
    assert sec.request("POST", f"/assessments/{sid}/review", form)[0] == 302
    status, headers, _ = sec.request("POST", f"/assessments/{sid}/review", form)  # same page
    assert "error=stale" in headers["Location"] and stores.reviews.get(sid).revision == 1
    refused = [e for e in stores.audit.entries() if e[2] == "refused_review"]
    assert {e[1] for e in refused} == {"audit", "mode"}


# --- the feedback letter --------------------------------------------------------------------

def test_the_feedback_reaches_the_company_once_however_often_it_is_published(
        console, smtp_server, database):
    port, stores, findings = console
    inbox, smtp_port = smtp_server
    plan = parse_plan(PLAN_2018.read_bytes())
    sid = plan.submission.submission_id
    sec = Browser(port)
    sec.login("sec")
    post(sec, sid, "decide", finding_id=findings[0]["finding_id"], verdict="dismissed",
         reason="Opgelost voor het gesprek")
    post(sec, sid, "remarks", remarks="Goed gesprek gehad.")
    post(sec, sid, "confirm_rest")
    post(sec, sid, "finalise")

    handler = NotifyHandler(
        SmtpMailer(f"smtp://127.0.0.1:{smtp_port}"), Renderer(),
        Secretariat({"*": "secretariaat@ser.example"}, Language.NL), "noreply@ser.example",
        ServiceMetrics.create("notify", CollectorRegistry()), SqlNotificationStore(database))
    published: list[Outgoing] = []

    def publish(messages: list[Outgoing]) -> None:
        for m in messages:  # the broker hands each message over; then a redelivery
            published.append(m)
            for _ in range(2):
                handler(Delivery(m.body, m.routing_key, message_id=m.message_id))

    relay = OutboxRelay(stores.outbox, publish)
    assert relay.run_once() == 1 and relay.run_once() == 0  # marked once confirmed
    assert len(inbox.messages) == 1
    recipients, raw = inbox.messages[0]
    assert sorted(recipients) == sorted({c.email for c in plan.company.contacts})
    letter = email.message_from_bytes(raw, policy=policy.default)
    assert letter["Subject"].startswith("Terugkoppeling van het secretariaat")
    text = letter.get_body(("plain",)).get_content()
    assert "Goed gesprek gehad." in text
    assert "1 bevinding van de automatische voortoets is vervallen" in text
    assert findings[0]["finding_id"] not in text and findings[1]["finding_id"] in text
    assert "1 april 2019" in text  # the next plan's due date from the covenant calendar


def test_a_broker_away_leaves_the_feedback_in_the_outbox(console):
    port, stores, _ = console
    sid = parse_plan(PLAN_2018.read_bytes()).submission.submission_id
    sec = Browser(port)
    sec.login("sec")
    post(sec, sid, "confirm_rest")
    post(sec, sid, "finalise")

    def away(messages: list[Outgoing]) -> None:
        raise ConnectionError("broker away")

    with pytest.raises(ConnectionError):
        OutboxRelay(stores.outbox, away).run_once()
    assert len(stores.outbox.pending()) == 1


# --- next year ------------------------------------------------------------------------------

def test_next_years_plan_is_checked_against_what_the_final_review_confirmed(
        database, engine):
    history = SqlAssessmentHistory(database)
    first, second = (parse_plan(p.read_bytes()) for p in (PLAN_2018, PLAN_2019))
    history.record(first, engine.evaluate(first, Prior()), engine.ruleset_version)

    def asked() -> set[str]:
        """The earlier findings that next year's plan is told to answer."""
        prior = history.prior(second)
        return {prior.previous.findings[int(f.pointers[0].rsplit("/", 1)[1])]["finding_id"]
                for f in engine.evaluate(second, prior) if f.rule_id == ADDRESSED}

    automatic = asked()
    assert automatic, "the 2019 example leaves some of the 2018 findings unanswered"
    dismissed = sorted(automatic)[0]
    findings = history.prior(second).previous.findings
    ids = [f["finding_id"] for f in findings]
    review = decide(Review(first.submission.submission_id), ids, dismissed,
                    Verdict.DISMISSED, None, "not applicable to this company")
    review = add(review, "textile", "Geen klachtenfunctionaris", "Niemand behandelt klachten.",
                 Severity.HIGH, "AGT", "§2.1")
    draft = confirm_rest(review, ids)
    reviews = SqlReviews(database)
    reviews.save(draft, 0, "textile", first.company.company_id, "sec", "confirm_rest")
    assert asked() == automatic  # a draft changes nothing: the automatic findings stand in
    final = finalise(draft, ids)
    reviews.save(final, draft.revision, "textile", first.company.company_id, "sec", "finalise",
                 confirmed(findings, final))
    after = asked()
    assert dismissed not in after  # a dismissed finding does not come back as not addressed
    assert after - automatic == {final.added[0].finding_id}  # the secretariat's own is asked


def test_the_score_sheet_follows_the_review_and_the_overview_shows_the_final_one(console):
    port, stores, findings = console
    plan = parse_plan(PLAN_2018.read_bytes())
    sid = plan.submission.submission_id
    sec = Browser(port)
    sec.login("sec")
    year = plan.submission.reporting_year

    def overview_score() -> str:
        _, text = sec.get(f"/textile/{year}?format=csv")
        row = next(r for r in csv.reader(io.StringIO(text)) if r[1] == plan.company.company_id)
        return row[3]

    everything = Scope(None, None)
    [assessed] = stores.assessments.of_company(everything, "textile", plan.company.company_id)
    automatic = stores.sheet(assessed)
    assert automatic is not None and float(overview_score()) == automatic.score
    worst = min(findings, key=lambda f: Severity(f["severity"]).rank)
    post(sec, sid, "decide", finding_id=worst["finding_id"], verdict="dismissed",
         reason="Opgelost voor het gesprek")
    _, page = post(sec, sid, "confirm_rest")
    assert "Na beoordeling (concept)" in page and "Beoordelingskader Kleding en Textiel" in page
    assert float(overview_score()) == automatic.score  # a draft changes no score
    post(sec, sid, "finalise")
    [reviewed] = stores.assessments.of_company(everything, "textile", plan.company.company_id)
    final = stores.sheet(reviewed)
    assert final.score > automatic.score and float(overview_score()) == final.score


def test_next_years_assessment_shows_what_stood_beside_the_companys_answers(database, engine):
    """The 2019 plan's page lists the 2018 plan's findings as the final review left them, each
    with the 2019 plan's answer or "not answered"."""
    history = SqlAssessmentHistory(database)
    first, second = (parse_plan(p.read_bytes()) for p in (PLAN_2018, PLAN_2019))
    history.record(first, engine.evaluate(first, Prior()), engine.ruleset_version)
    history.record(second, engine.evaluate(second, history.prior(second)),
                   engine.ruleset_version)
    findings = history.prior(second).previous.findings
    ids = [f["finding_id"] for f in findings]
    answered = {r.finding_id for r in second.previous_findings_responses}
    dismissed = next(i for i in ids if i not in answered)
    draft = confirm_rest(decide(Review(first.submission.submission_id), ids, dismissed,
                                Verdict.DISMISSED, None, "niet van toepassing"), ids)
    final = finalise(draft, ids)
    reviews = SqlReviews(database)
    reviews.save(draft, 0, "textile", first.company.company_id, "sec", "confirm_rest")
    reviews.save(final, draft.revision, "textile", first.company.company_id, "sec", "finalise",
                 confirmed(findings, final))
    SqlAccounts(database).add("sec", "correct horse battery staple", Role.SECRETARIAT,
                              "textile", None, "nl")
    server = create_server(create_app(build_stores(database)), host="127.0.0.1", port=0)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        browser = Browser(server.effective_port)
        browser.login("sec")
        _, page = browser.get(f"/assessments/{second.submission.submission_id}")
        _, company = browser.get(f"/textile/companies/{first.company.company_id}")
    finally:
        server.close()
    section = page[page.index('id="previous"'):page.index("</section>", page.index(
        'id="previous"'))]
    assert "Bevindingen bij het plan 2018" in section
    assert dismissed not in section  # the review dismissed it: it no longer stands
    shown = set(re.findall(r'<span class="small">([^<]+)</span>', section))
    assert shown == set(ids) - {dismissed}
    unanswered = shown - answered
    assert section.count("Niet beantwoord") == len(unanswered) > 0
    response = next(r for r in second.previous_findings_responses if r.finding_id in shown)
    assert html.escape(response.response, quote=False) in section
    answers = len(shown & answered)
    assert f"<td>{answers} van {len(shown)}</td>" in company  # the company page counts them


def test_each_finding_says_where_in_the_plan_in_words_and_why_is_one_click_away(console):
    port, _, findings = console
    sid = parse_plan(PLAN_2018.read_bytes()).submission.submission_id
    sec = Browser(port)
    sec.login("sec")
    _, page = sec.get(f"/assessments/{sid}")
    assert "Waar in het plan" in page and "Productielocatie" in page
    rule = "DD2-CHILD-LABOUR-FLAG-ADDRESSED"
    [pointer, *_] = next(f["pointers"] for f in findings if f["rule_id"] == rule)
    link = f"/assessments/{sid}/why/{rule}"
    assert f'href="{link}"' in page
    status, why = sec.get(link)
    assert status == 200 and "covenant rules explain" in why
    assert f"{pointer}: FIRES" in why  # the part the finding is about
    other = Browser(port)
    other.login("mode")  # the company may ask about its own plan, nobody else's
    assert other.get(link)[0] == 200
    assert other.get(f"/assessments/not-a-submission/why/{rule}")[0] == 404


def test_an_assessment_exports_its_findings_with_the_verdicts_each_reader_may_see(console):
    port, _, findings = console
    sid = parse_plan(PLAN_2018.read_bytes()).submission.submission_id
    first = findings[0]["finding_id"]
    sec = Browser(port)
    sec.login("sec")
    post(sec, sid, "decide", finding_id=first, verdict="dismissed", reason="Dubbel gemeld")

    def rows(browser: Browser) -> list[list[str]]:
        status, text = browser.get(f"/assessments/{sid}?format=csv")
        assert status == 200
        return list(csv.reader(io.StringIO(text)))

    table = rows(sec)
    assert table[0][:3] == ["Bevinding", "Ernst", "Oordeel"] and len(table) == len(findings) + 1
    [dismissed] = [r for r in table if r[-1] == first]
    assert dismissed[2:5] == ["vervallen", "", "Dubbel gemeld"]
    company = Browser(port)
    company.login("mode")
    assert all(r[2] == "" and r[4] == "" for r in rows(company)[1:])  # a draft stays unseen
    post(sec, sid, "confirm_rest")
    post(sec, sid, "finalise")
    final = rows(company)
    assert first not in [r[-1] for r in final] and len(final) == len(findings)
