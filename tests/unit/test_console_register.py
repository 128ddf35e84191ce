"""The console's register pages over real HTTP (waitress) and, for the secretariat's round, in a
real browser: who may read and decide, the published list without companies, candidates decided
once, splits, and a signal recorded and passed to the companies that use the place, whose
letters arrive at a real SMTP server through notify's handler."""

import csv
import email
import http.client
import io
from email import policy

import pytest
from openpyxl import load_workbook

from services.console.adapters import SqlAccounts
from services.console.domain import Role
from services.register.store import ref_of
from services.shared.db import Database
from tests.register import record, site
from tests.support import PASSWORD, Browser, serving_console, wait_for

SHARED_A = site("L-1", "Example Garments Ltd.", "Plot 12, Example Road")
SHARED_B = site("F-7", "Exmple Garments Limited", "Plot 12, Example Rd.")
MAYBE = site("M-3", "Example Apparel Exports", "Example Road, Tiruppur")
FORMULA = site("X-9", "=HYPERLINK(\"http://evil.example\",\"Dhaka Knit\")", "Road 2",
               city="Dhaka", country="BD")
SOURCE = "Reporter Name, +31 6 98765432"


@pytest.fixture
def console(tmp_path, smtp_server):
    """A console over three companies' plans (two list one factory, spelled differently; a
    third lists a place like it), its outbox relayed to notify's handler and a real SMTP
    server; yields (port, stores, inbox)."""
    inbox, smtp_port = smtp_server
    db = Database(f"sqlite:///{tmp_path}/console.sqlite3")
    record(db, "AGT-1", 2019, [SHARED_A, FORMULA])
    record(db, "AGT-2", 2019, [SHARED_B], language="en")
    record(db, "AGT-3", 2019, [MAYBE])
    accounts = SqlAccounts(db)
    for username, role, covenant, company in (
            ("sec-textile", Role.SECRETARIAT, "textile", None),
            ("sec-banking", Role.SECRETARIAT, "banking", None),
            ("auditor", Role.AUDITOR, None, None),
            ("agt-1", Role.COMPANY, "textile", "AGT-1")):
        accounts.add(username, PASSWORD, role, covenant, company, "nl")
    with serving_console(db, smtp_port) as (port, stores):
        yield port, stores, inbox
    db.close()


def _as(port: int, username: str) -> Browser:
    browser = Browser(port)
    assert browser.login(username) == 302
    return browser


def _entry(stores) -> str:
    stores.register.refresh()
    return next(e.entry_id for e in stores.register.entries("textile", 2019)
                if len(e.companies) == 2)


def test_the_secretariat_sees_each_place_with_its_companies_and_the_list_without(console):
    port, _, _ = console
    browser = _as(port, "sec-textile")
    status, page = browser.get("/textile/locations?year=2019")
    assert status == 200 and "AGT-1" in page and "AGT-2" in page
    assert "1 paar wacht op uw oordeel" in page
    assert "Per land: India (2), Bangladesh (1)" in page
    status, text = browser.get("/textile/locations?year=2019&format=csv&list=published")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["country", "name", "address", "city", "region", "sector",
                       "product_type", "number_of_workers"]
    assert all("AGT-" not in cell and "Bedrijf" not in cell for row in rows for cell in row)
    # a name a spreadsheet would run is written as text
    assert "'=HYPERLINK(\"http://evil.example\",\"Dhaka Knit\")" in [r[1] for r in rows]
    status, text = browser.get("/textile/locations?year=2019&format=csv")
    assert "AGT-1, AGT-2" in text  # the secretariat's own export names the companies


def test_a_company_and_another_covenants_secretariat_see_none_of_it(console):
    port, stores, _ = console
    entry = _entry(stores)
    for username in ("agt-1", "sec-banking"):
        browser = _as(port, username)
        for path in ("/textile/locations", "/textile/locations/candidates",
                     f"/textile/locations/{entry}", "/textile/signals",
                     "/textile/locations?year=2019&format=csv&list=published"):
            assert browser.get(path)[0] == 404, (username, path)
        csrf = browser.csrf()
        for path, form in (("/textile/locations/candidates", {"ref": "x", "action": "confirm"}),
                           (f"/textile/locations/{entry}/signals", {"theme": "child_labour"}),
                           (f"/textile/locations/{entry}/split", {"ref": "x"})):
            assert browser.request("POST", path, {"csrf": csrf, **form})[0] == 404
    assert stores.signals.of_covenant("textile") == []


def test_an_auditor_reads_but_decides_nothing(console):
    port, stores, _ = console
    browser = _as(port, "auditor")
    status, page = browser.get("/textile/locations/candidates")
    assert status == 200 and "Example Apparel Exports" in page and "Zelfde locatie" not in page
    [candidate] = stores.register.candidates("textile")
    status, _, _ = browser.request("POST", "/textile/locations/candidates", {
        "csrf": browser.csrf(), "ref": ref_of(candidate.key), "action": "confirm"})
    assert status == 403
    assert len(stores.register.candidates("textile")) == 1
    actions = [a for _, u, a, _, _ in stores.audit.entries() if u == "auditor"]
    assert "refused_register" in actions


def test_a_candidate_decided_in_the_console_is_gone_and_a_wrong_merge_splits(console):
    port, stores, _ = console
    browser = _as(port, "sec-textile")
    stores.register.refresh()
    [candidate] = stores.register.candidates("textile")

    status, headers, _ = browser.request("POST", "/textile/locations/candidates", {
        "csrf": browser.csrf(), "ref": ref_of(candidate.key), "action": "confirm"})
    assert status == 302 and headers["Location"].endswith("?done=confirm")
    assert stores.register.candidates("textile") == []
    again = browser.request("POST", "/textile/locations/candidates", {
        "csrf": browser.csrf(), "ref": ref_of(candidate.key), "action": "reject"})
    assert again[1]["Location"].endswith("?error=gone")
    [entry] = [e for e in stores.register.entries("textile", 2019) if len(e.companies) == 3]
    status, page = browser.get(f"/textile/locations/{entry.entry_id}")
    assert status == 200 and "bevestigd" in page and "automatisch gekoppeld" in page
    status, headers, _ = browser.request("POST", f"/textile/locations/{entry.entry_id}/split", {
        "csrf": browser.csrf(), "ref": ref_of(candidate.key)})
    assert status == 302
    assert sorted(len(e.companies) for e in stores.register.entries("textile", 2019)) == [
        1, 1, 2]
    actions = [a for _, u, a, _, _ in stores.audit.entries() if u == "sec-textile"]
    assert "candidate_confirm" in actions and "location_split" in actions


def test_a_signal_recorded_in_a_browser_reaches_the_two_companies(browser, console):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from tests.unit.test_console_browser import follow

    port, stores, inbox = console
    entry = _entry(stores)
    base = f"http://127.0.0.1:{port}"
    browser.get(f"{base}/")
    browser.find_element(By.NAME, "username").send_keys("sec-textile")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    follow(browser, browser.find_element(By.CSS_SELECTOR, "form.login button").click)
    follow(browser, lambda: browser.get(f"{base}/textile/locations?year=2019"))
    follow(browser, browser.find_element(By.LINK_TEXT, "1 paar wacht op uw oordeel").click)
    follow(browser, browser.find_element(By.XPATH, "//button[.='Andere locatie']").click)
    assert "Als twee locaties vastgelegd." in browser.page_source
    follow(browser, lambda: browser.get(f"{base}/textile/locations/{entry}"))
    users = browser.find_element(By.CSS_SELECTOR, "table.users").text
    assert "AGT-1" in users and "AGT-2" in users and "AGT-3" not in users
    form = browser.find_element(By.CSS_SELECTOR, "form.add")
    browser.execute_script("arguments[0].value = '2019-09-02'",
                           form.find_element(By.NAME, "received_on"))
    Select(form.find_element(By.NAME, "theme")).select_by_visible_text("dwangarbeid")
    form.find_element(By.NAME, "source").send_keys(SOURCE)
    form.find_element(By.NAME, "summary").send_keys("Overtime is forced before shipments.")
    follow(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]").click)
    assert browser.current_url.endswith("/textile/signals")
    row = browser.find_element(By.CSS_SELECTOR, "table.signals tbody tr").text
    assert "SIG-2019-0001" in row and "AGT-1, AGT-2" in row and "Reporter Name" in row

    wait_for(lambda: len(inbox.messages) == 2, timeout=30, what="two signal letters")
    letters = {rcpts[0]: email.message_from_bytes(raw, policy=policy.default)
               for rcpts, raw in inbox.messages}
    assert sorted(letters) == ["mvo@agt-1.example", "mvo@agt-2.example"]
    for message in letters.values():
        text = message.get_body(("plain",)).get_content()
        assert "SIG-2019-0001" in text and "Reporter" not in text and "98765432" not in text
    assert letters["mvo@agt-2.example"]["Subject"].startswith("A signal about one of your")


def test_the_progress_report_page_for_those_who_may_read_it(console):
    port, _, _ = console
    browser = _as(port, "sec-textile")
    status, page = browser.get("/textile/report?year=2019")
    assert status == 200 and "Voortgang kleding en textiel 2019" in page
    assert "Deelnemers met een plan" in page and page.count("<svg") == 3
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/textile/report?year=2019&format=xlsx", headers={
        "Cookie": "; ".join(f"{k}={v}" for k, v in browser.cookies.items())})
    response = conn.getresponse()
    book = load_workbook(io.BytesIO(response.read()))
    assert response.status == 200 and book.sheetnames[:2] == ["Samenvatting",
                                                               "Bevindingen per regel"]
    status, _, body = browser.request("GET", "/textile/report?year=2019&format=html")
    assert status == 200 and body.startswith("<!DOCTYPE html>") and "<style>" in body
    assert _as(port, "agt-1").get("/textile/report")[0] == 404
    banking = _as(port, "sec-banking")
    assert banking.get("/textile/report")[0] == 404
    status, page = banking.get("/banking/report")
    assert status == 200 and "geaggregeerde, geanonimiseerde cijfers" in page
