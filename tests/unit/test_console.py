"""The console over real HTTP (waitress, as in production) on a real database: logging in,
sessions, CSRF, the lock after failed logins, the audit log, and above all who sees what: a
secretariat user of one covenant nothing of another, a company user nothing of another
company, whatever id it guesses in a URL or an export."""

import csv
import http.client
import io
import re
import threading
import urllib.parse

import pytest
from waitress.server import create_server

from services.console.adapters import SqlAccounts
from services.console.bootstrap import build_stores
from services.console.domain import Role
from services.console.web import create_app
from services.rules.adapters.history import SqlAssessmentHistory
from services.rules.core.prior import Prior
from services.rules.factory import engine_from_folder
from services.shared.contracts import parse_plan
from services.shared.db import Database
from tests.support import EXAMPLES, PASSWORD, ROOT, Browser

TEXTILE_2018, TEXTILE_2019 = "textile-voorbeeld-mode-2018.json", "textile-voorbeeld-mode-2019.json"
BANKING = "banking-voorbeeldbank-2019.json"


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    """A console on a database holding the examples' assessments, with an account of each
    kind; yields its port."""
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('console')}/db.sqlite3")
    engine, history = engine_from_folder(ROOT / "rules"), SqlAssessmentHistory(db)
    for name in (TEXTILE_2018, TEXTILE_2019, BANKING):
        plan = parse_plan((EXAMPLES / name).read_bytes())
        history.record(plan, engine.evaluate(plan, Prior()), engine.ruleset_version)
    accounts = SqlAccounts(db)
    for username, role, covenant, company in (
            ("sec-textile", Role.SECRETARIAT, "textile", None),
            ("sec-all", Role.SECRETARIAT, None, None),
            ("mode", Role.COMPANY, "textile", "AGT-0042"),
            ("bank", Role.COMPANY, "banking", "DBA-007")):
        accounts.add(username, PASSWORD, role, covenant, company, "nl")
    stores = build_stores(db)
    server = create_server(create_app(stores, secure_cookies=True), host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield server.effective_port, stores
    server.close()
    db.close()


def test_logging_in_gives_a_secure_session_and_logging_out_ends_it(console):
    port, stores = console
    browser = Browser(port)
    assert browser.get("/textile/2019")[0] == 302  # to the login page
    _, page = browser.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    status, headers, _ = browser.request("POST", "/login", {
        "csrf": token, "username": "sec-textile", "password": PASSWORD})
    assert status == 302
    cookie = next(c for c in headers["Set-Cookie"].split(", __Host")
                  if "__Host-console=" in c or c.startswith("-console="))
    assert all(flag in cookie for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"))
    status, page = browser.get("/textile/2019")
    assert status == 200 and "Voorbeeld Mode B.V." in page and "op tijd" in page
    assert browser.request("POST", "/logout", {"csrf": browser.csrf()})[0] == 302
    assert browser.get("/textile/2019")[0] == 302  # the session is gone
    actions = [(u, a) for _, u, a, _, _ in stores.audit.entries()]
    assert ("sec-textile", "login") in actions and ("sec-textile", "logout") in actions
    assert ("sec-textile", "view_overview") in actions


def test_every_form_needs_its_csrf_token(console):
    port, _ = console
    browser = Browser(port)
    assert browser.login("sec-textile") == 302
    assert browser.request("POST", "/logout", {"csrf": "guessed"})[0] == 403
    assert browser.request("POST", "/logout", {})[0] == 403
    assert browser.get("/textile/2019")[0] == 200  # still logged in
    stranger = Browser(port)  # a login form posted from elsewhere has no cookie to match
    assert stranger.request("POST", "/login", {"csrf": "x", "username": "sec-textile",
                                               "password": PASSWORD})[0] == 403


def test_failed_logins_lock_the_account_for_a_while(console):
    port, stores = console
    stores.accounts.add("locked-out", PASSWORD, Role.AUDITOR, None, None, "en")
    browser = Browser(port)
    assert [browser.login("locked-out", "wrong password") for _ in range(5)] == [401] * 5
    assert browser.login("locked-out") == 401  # the right password, too late
    entries = [e for e in stores.audit.entries() if e[1] == "locked-out"]
    assert [e[2] for e in entries].count("login_failed") == 6
    assert all(PASSWORD not in str(e) and "wrong password" not in str(e) for e in entries)


def test_a_secretariat_of_one_covenant_sees_nothing_of_another(console):
    port, _ = console
    browser = Browser(port)
    browser.login("sec-textile")
    bank = parse_plan((EXAMPLES / BANKING).read_bytes())
    for path in ("/banking/2019", "/banking/2019?format=csv",
                 f"/banking/companies/{bank.company.company_id}",
                 f"/assessments/{bank.submission.submission_id}"):
        status, page = browser.get(path)
        assert status == 404 and "Voorbeeldbank" not in page, path
    everyone = Browser(port)
    everyone.login("sec-all")
    assert everyone.get(f"/assessments/{bank.submission.submission_id}")[0] == 200


def test_a_company_sees_its_own_plans_and_nothing_else(console):
    port, _ = console
    browser = Browser(port)
    browser.login("mode")
    mode = parse_plan((EXAMPLES / TEXTILE_2019).read_bytes())
    bank = parse_plan((EXAMPLES / BANKING).read_bytes())
    status, page = browser.get("/textile/companies/AGT-0042")
    assert status == 200 and "2018" in page and "2019" in page
    assert browser.get(f"/assessments/{mode.submission.submission_id}")[0] == 200
    for path in ("/textile/2019", "/textile/2019?format=csv", "/textile/2019?format=xlsx",
                 "/banking/2019", "/textile/companies/AGT-0001",
                 f"/banking/companies/{bank.company.company_id}",
                 f"/banking/companies/{bank.company.company_id}?format=xlsx",
                 f"/assessments/{bank.submission.submission_id}"):
        assert browser.get(path)[0] == 404, path
    other = Browser(port)
    other.login("bank")
    assert other.get(f"/assessments/{mode.submission.submission_id}")[0] == 404


def test_the_overview_exports_as_csv_and_speaks_the_users_language(console):
    port, _ = console
    browser = Browser(port)
    browser.login("sec-textile")
    status, page = browser.get("/textile/2019")
    assert status == 200 and "Kritiek" in page and "kleding en textiel" in page
    assert "1 april 2019" in page  # the covenant calendar's due date, in words
    status, text = browser.get("/textile/2019?format=csv")
    rows = list(csv.reader(io.StringIO(text)))
    assert status == 200
    assert rows[0][:3] == ["Bedrijf", "Bedrijfsnummer", "Status"]
    assert rows[1][:3] == ["Voorbeeld Mode B.V.", "AGT-0042", "op tijd"]


def test_every_table_exports_as_xlsx_too(console):
    from openpyxl import load_workbook

    port, _ = console
    browser = Browser(port)
    browser.login("mode")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/textile/companies/AGT-0042?format=xlsx", headers={
        "Cookie": "; ".join(f"{k}={v}" for k, v in browser.cookies.items())})
    response = conn.getresponse()
    assert response.status == 200 and "spreadsheetml" in response.headers["Content-Type"]
    rows = list(load_workbook(io.BytesIO(response.read())).active.values)
    assert rows[0][:2] == ("Jaar", "Ingediend op")
    assert [r[0] for r in rows[1:]] == [2018, 2019]


# --- OpenID Connect -------------------------------------------------------------------------

@pytest.fixture
def oidc_console(tmp_path, monkeypatch):
    """A console that offers login through a real (test) OpenID Connect provider over HTTP;
    yields (console port, provider, stores)."""
    from services.console.web import Oidc
    from tests.oidc import Provider

    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the test provider speaks HTTP
    provider = Provider("console", "client-secret", {"preferred_username": "officer"})
    db = Database(f"sqlite:///{tmp_path}/oidc.sqlite3")
    SqlAccounts(db).add("officer", None, Role.SECRETARIAT, "textile", None, "nl")
    stores = build_stores(db)
    app = create_app(stores, secure_cookies=False, oidc=Oidc(
        provider.url, "console", "client-secret", name="Test-IdP"))
    server = create_server(app, host="127.0.0.1", port=0)
    threading.Thread(target=server.run, daemon=True).start()
    yield server.effective_port, provider, stores
    server.close()
    provider.close()
    db.close()


def sign_in(browser: Browser, provider) -> tuple[int, str]:
    """The browser's round trip: the console sends it to the provider, which signs the user
    in and sends it back with a code; returns the console's answer to that."""
    status, headers, _ = browser.request("GET", "/login/oidc")
    assert status == 302 and headers["Location"].startswith(f"{provider.url}/authorize?")
    target = urllib.parse.urlsplit(headers["Location"])
    conn = http.client.HTTPConnection(target.netloc, timeout=10)
    conn.request("GET", f"{target.path}?{target.query}")
    back = urllib.parse.urlsplit(conn.getresponse().headers["Location"])
    status, _, page = browser.request("GET", f"{back.path}?{back.query}")
    return status, page


def test_an_account_signs_in_through_the_openid_connect_provider(oidc_console):
    port, provider, stores = oidc_console
    browser = Browser(port)
    assert "Inloggen via Test-IdP" in browser.get("/login")[1]
    status, page = sign_in(browser, provider)
    assert status == 200 and 'http-equiv="refresh"' in page  # on to the console, same-site
    status, page = browser.get("/textile/2019")
    assert status == 200 and "Ingelogd als <strong>officer</strong>" in page
    assert ("officer", "login_oidc") in [(e[1], e[2]) for e in stores.audit.entries()]
    assert Browser(port).login("officer", "") == 401  # no password opens this account


def test_openid_connect_signs_in_no_one_without_an_account_or_a_valid_token(oidc_console):
    port, provider, stores = oidc_console
    provider.claims = {"preferred_username": "stranger"}
    browser = Browser(port)
    status, page = sign_in(browser, provider)
    assert status == 403 and "geen account" in page
    assert browser.get("/textile/2019")[0] == 302  # not logged in

    provider.claims, provider.audience = {"preferred_username": "officer"}, "another-client"
    status, _ = sign_in(Browser(port), provider)
    assert status == 401  # a token for someone else's client

    provider.audience = "console"
    forged = Browser(port)
    forged.request("GET", "/login/oidc")  # a login begun: the browser holds a state
    status, _, _ = forged.request("GET", "/login/oidc/callback?code=guessed&state=guessed")
    assert status == 401  # a state this browser was never given
    actions = [e[2] for e in stores.audit.entries()]
    assert actions.count("login_oidc_failed") == 2 and "login_oidc_no_account" in actions
    assert "login_oidc" not in actions


def test_an_export_never_turns_plan_text_into_a_spreadsheet_formula():
    from openpyxl import load_workbook

    from services.console.web import _export

    rows = [["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "", "plain", 3]]
    text = _export("t", "csv", ["a", "b", "c", "d", "e", "f", "g"], rows).get_data(as_text=True)
    assert list(csv.reader(io.StringIO(text)))[1] == [
        "'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)", "", "plain", "3"]
    book = load_workbook(io.BytesIO(_export("t", "xlsx", ["a"] * 7, rows).get_data()))
    assert list(book.active.values)[1] == ("'=HYPERLINK(\"http://x\")", "'+1", "'-2",
                                           "'@SUM(A1)", None, "plain", 3)
