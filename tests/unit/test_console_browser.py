"""The secretariat's cycle in a real browser (Debian's headless Chromium through Selenium):
log in, the covenant's year, one assessment reviewed with a confirmation, a dismissal and a
finding of its own, finalised; the feedback letter arrives at a real SMTP server through
notify's handler; the year's table exports. UPDATE_SCREENSHOTS=1 renews the README's pictures
of the overview and the review page."""

import csv
import email
import http.client
import io
import os
import time
from email import policy

import pytest

from services.console.adapters import SqlAccounts
from services.console.domain import Role
from services.rules.adapters.history import SqlAssessmentHistory
from services.rules.factory import engine_from_folder
from services.shared.contracts import parse_plan
from services.shared.db import Database
from tests.support import EXAMPLES, PASSWORD, ROOT, serving_console

SHOTS = {"overview": ROOT / "docs" / "console-overview.png",
         "review": ROOT / "docs" / "console-review.png"}


@pytest.fixture
def console(tmp_path, smtp_server):
    """The console over the examples' assessments (2018 and 2019 in order, so 2019 knows
    2018), its outbox relayed to notify's handler and a real SMTP server; yields (base URL,
    the SMTP inbox)."""
    inbox, smtp_port = smtp_server
    db = Database(f"sqlite:///{tmp_path}/console.sqlite3")
    engine, history = engine_from_folder(ROOT / "rules"), SqlAssessmentHistory(db)
    for name in ("textile-voorbeeld-mode-2018.json", "textile-voorbeeld-mode-2019.json",
                 "banking-voorbeeldbank-2019.json"):
        plan = parse_plan((EXAMPLES / name).read_bytes())
        history.record(plan, engine.evaluate(plan, history.prior(plan)),
                       engine.ruleset_version)
    SqlAccounts(db).add("secretariaat", PASSWORD, Role.SECRETARIAT, "textile", None, "nl")
    with serving_console(db, smtp_port) as (port, _):
        yield f"http://127.0.0.1:{port}", inbox
    db.close()


def follow(browser, action) -> None:
    """Does `action` (a click) and waits until the page it leads to has loaded: a new page
    starts without the mark set on the old one."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.execute_script("window.leaving = true")
    action()
    WebDriverWait(browser, 10).until(lambda b: b.execute_script(
        "return window.leaving === undefined && document.readyState === 'complete'"))


def screenshot(browser, name: str, tmp_path) -> None:
    browser.execute_script("window.scrollTo(0, 0)")
    renew = os.environ.get("UPDATE_SCREENSHOTS") == "1"
    shot = SHOTS[name] if renew else tmp_path / f"{name}.png"
    assert browser.save_screenshot(str(shot))


def test_a_secretariat_officer_reviews_finalises_and_the_feedback_arrives(
        browser, console, tmp_path):
    from selenium.webdriver.common.by import By

    base, inbox = console
    browser.set_window_size(1200, 1600)
    browser.get(f"{base}/")
    browser.find_element(By.NAME, "username").send_keys("secretariaat")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    follow(browser, browser.find_element(By.CSS_SELECTOR, "form.login button").click)

    # the covenant's year: the company, on time, its findings by severity
    assert browser.current_url.endswith("/textile/2019")
    row = browser.find_element(By.XPATH, "//tr[th[contains(., 'Voorbeeld Mode B.V.')]]")
    assert "op tijd" in row.text
    screenshot(browser, "overview", tmp_path)

    plan = parse_plan((EXAMPLES / "textile-voorbeeld-mode-2019.json").read_bytes())
    follow(browser, row.find_element(By.LINK_TEXT, "op tijd").click)  # to the plan's assessment
    assert browser.current_url.endswith(f"/assessments/{plan.submission.submission_id}")
    cards = browser.find_elements(By.CSS_SELECTOR, "article.finding")
    first, second = cards[0].get_attribute("id"), cards[1].get_attribute("id")

    def card(finding_id: str):
        return browser.find_element(By.ID, finding_id)

    def submit(button) -> None:
        follow(browser, button.click)

    # a dismissal, with its reason; then a confirmation
    card(first).find_element(By.CSS_SELECTOR, "input[value=dismissed]").click()
    card(first).find_element(By.NAME, "reason").send_keys("Besproken: niet van toepassing")
    submit(card(first).find_element(By.CSS_SELECTOR, "form.decide button"))
    assert "vervallen" in card(first).find_element(By.CSS_SELECTOR, ".verdict").text
    submit(card(second).find_element(By.CSS_SELECTOR, "form.decide button"))
    assert "bevestigd" in card(second).find_element(By.CSS_SELECTOR, ".verdict").text

    # a finding of the secretariat's own, citing a provision; remarks for the company
    form = browser.find_element(By.CSS_SELECTOR, "form.add")
    form.find_element(By.NAME, "title").send_keys("Geen klachtenfunctionaris")
    form.find_element(By.NAME, "message").send_keys("Niemand behandelt klachten van werkers.")
    form.find_element(By.NAME, "locator").send_keys("3.1.4")
    submit(form.find_element(By.CSS_SELECTOR, "button"))
    remarks = browser.find_element(By.ID, "remarks")
    remarks.send_keys("Dank voor het open gesprek.")
    submit(browser.find_element(By.CSS_SELECTOR, "form.remarks button"))
    screenshot(browser, "review", tmp_path)

    submit(browser.find_element(By.XPATH, "//button[contains(., 'Alle bevindingen zonder')]"))
    submit(browser.find_element(By.NAME, "finalise"))
    assert "Afgerond (ronde 1)" in browser.find_element(By.ID, "review").text
    sheet = browser.find_element(By.ID, "score").text  # the score sheet, after the review
    assert "Doelen en acties op alle thema's" in sheet and "Na beoordeling" in sheet
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []

    # the feedback letter arrives once, to the company's contacts
    deadline = time.monotonic() + 30
    while not inbox.messages and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(inbox.messages) == 1
    recipients, raw = inbox.messages[0]
    assert sorted(recipients) == sorted({c.email for c in plan.company.contacts})
    text = email.message_from_bytes(raw, policy=policy.default).get_body(
        ("plain",)).get_content()
    assert "Geen klachtenfunctionaris" in text and "Dank voor het open gesprek." in text
    assert first not in text and second in text

    # the year's table exports, with the browser's session
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in browser.get_cookies())
    conn = http.client.HTTPConnection(base.removeprefix("http://"), timeout=10)
    conn.request("GET", "/textile/2019?format=csv", headers={"Cookie": cookie})
    response = conn.getresponse()
    rows = list(csv.reader(io.StringIO(response.read().decode())))
    assert response.status == 200 and rows[1][:3] == ["Voorbeeld Mode B.V.", "AGT-0042",
                                                      "op tijd"]
