"""The console's pages (Flask): log in, a covenant's year, a company across years, one
assessment with its review (services/console/review.py); every table also as CSV and XLSX.

Sessions live in the database (the cookie holds a random token; only its digest is stored), so
logging out ends them. Every form carries the session's CSRF token (the login form a token of
its own, bound to a cookie), and every state-changing request is a POST that checks it. Each
page asks the domain's `Scope` what the user may read: anything else is a 404.
"""

import csv
import io
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Flask, g, redirect, render_template, request, url_for
from werkzeug.exceptions import Forbidden, NotFound
from werkzeug.wrappers import Response

from services.notify import letters
from services.register.signals import SqlSignals
from services.register.store import SqlRegister
from services.rules.core.framework import Framework, ScoreSheet, Standing, standing_of
from services.shared import covenants, i18n
from services.shared.contracts import Finding, Severity
from services.shared.messaging.handling import Outgoing
from services.shared.outbox import SqlOutbox
from services.shared.text import cell

from .adapters import (
    SqlAccounts,
    SqlAssessments,
    SqlAuditLog,
    SqlReviews,
    StaleReview,
)
from .domain import Assessed, Role, User, answered, follow_up, year_overview
from .register_pages import add_register_pages
from .review import (
    Review,
    ReviewError,
    State,
    Verdict,
    add,
    citable,
    confirm_rest,
    confirmed,
    decide,
    feedback,
    finalise,
    preview,
    remove_added,
    reopen,
    write_remarks,
)
from .wording import WORDING

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Stores:
    accounts: SqlAccounts
    assessments: SqlAssessments
    audit: SqlAuditLog
    due_on: Callable[[str, int], date | None]  # the covenant calendar
    reviews: SqlReviews
    outbox: SqlOutbox  # events to publish (the feedback), filled with the reviews
    # why a rule did or did not fire on a plan (`covenant rules explain`), one line each
    explain: Callable[[dict[str, Any], str], list[str]] | None = None
    frameworks: Mapping[str, Framework] = field(default_factory=dict)  # by covenant
    criteria: Mapping[str, Mapping[str, Severity]] = field(default_factory=dict)  # by covenant
    register: SqlRegister | None = None  # the covenant as a whole (register_pages.py)
    signals: SqlSignals | None = None
    high_risk: Callable[[str], bool] = lambda country: False  # a country, by reference data

    def sheet(self, a: Assessed, standing: Iterable[Standing] | None = None
              ) -> ScoreSheet | None:
        return a.sheet(self.frameworks.get(a.covenant), self.criteria.get(a.covenant, {}),
                       standing)


@dataclass(frozen=True)
class Oidc:
    """An OpenID Connect provider to log in with (settings OIDC_*): its issuer (discovery at
    <issuer>/.well-known/openid-configuration), this console's client, the ID token claim that
    names the console account, and the provider's name on the login page."""

    issuer: str
    client_id: str
    client_secret: str
    username_claim: str = "preferred_username"
    name: str = "OpenID Connect"
    session_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    public_url: str | None = None  # where the provider sends the browser back; default: as asked


def create_app(stores: Stores, secure_cookies: bool = True, oidc: Oidc | None = None) -> Flask:
    app = Flask(__name__)
    cookie = "__Host-console" if secure_cookies else "console"
    login_cookie = "__Host-console-login" if secure_cookies else "console-login"

    def set_cookie(response: Response, name: str, value: str, max_age: int | None = None
                   ) -> None:
        response.set_cookie(name, value, max_age=max_age, path="/", secure=secure_cookies,
                            httponly=True, samesite="Strict")

    def address() -> str | None:
        return request.remote_addr

    def words() -> dict[str, Any]:
        language = g.user.language if getattr(g, "user", None) else request.args.get("lang")
        return WORDING[language if language in WORDING else "nl"]

    def page(template: str, **values: Any) -> str:
        w = words()
        return render_template(template, w=w, user=getattr(g, "user", None),
                               csrf=getattr(g, "csrf", ""), i18n=i18n, lang=w["lang"],
                               Severity=Severity, **values)

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.before_request
    def _session() -> Any:
        g.user, g.csrf = None, ""
        token = request.cookies.get(cookie)
        found = stores.accounts.session(token) if token else None
        if found:
            g.user, g.csrf = found
        if request.endpoint in ("login", "static", "healthz", "oidc_login", "oidc_callback"):
            return None
        if g.user is None:
            return redirect(url_for("login"))
        if request.method == "POST" and not secrets.compare_digest(
                request.form.get("csrf", ""), g.csrf):
            stores.audit.record(g.user.username, "refused_without_csrf", request.path,
                                address())
            raise Forbidden()
        return None

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    provider = _oidc_client(app, oidc, secure_cookies) if oidc else None

    @app.get("/login/oidc")
    def oidc_login() -> Any:
        if provider is None or oidc is None:
            raise NotFound()
        back = f"{oidc.public_url.rstrip('/')}{url_for('oidc_callback')}" if oidc.public_url \
            else url_for("oidc_callback", _external=True)
        return provider.authorize_redirect(back)

    @app.get("/login/oidc/callback")
    def oidc_callback() -> Any:
        """The provider's answer: the ID token (signature, issuer, audience, nonce, expiry
        checked by Authlib) names an account, which must exist here with its role."""
        if provider is None or oidc is None:
            raise NotFound()
        try:
            claims = provider.authorize_access_token().get("userinfo") or {}
        except Exception as e:  # a wrong state, code, signature or audience: no login
            stores.audit.record(None, "login_oidc_failed", type(e).__name__, address())
            return Response(page("login.html", login_csrf="", failed=True, oidc=oidc),
                            mimetype="text/html", status=401)
        username = str(claims.get(oidc.username_claim) or "")[:200]
        user = stores.accounts.user(username) if username else None
        if user is None:
            stores.audit.record(username or None, "login_oidc_no_account", None, address())
            return Response(page("login.html", login_csrf="", failed=False, oidc=oidc,
                                 no_account=True), mimetype="text/html", status=403)
        token, _ = stores.accounts.open_session(user.username)
        stores.audit.record(user.username, "login_oidc", None, address())
        # a page, not a redirect: the browser arrived from the provider's site, and a
        # SameSite=Strict cookie is only sent once it navigates from this site itself
        response = Response(page("continue.html"), mimetype="text/html")
        set_cookie(response, cookie, token)
        return response

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        if request.method == "GET":
            # the token a form shown earlier still holds: a second GET (another tab, or the
            # browser fetching /favicon.ico through the redirect here) must not void it
            token = request.cookies.get(login_cookie) or secrets.token_urlsafe(24)
            response = Response(page("login.html", login_csrf=token, failed=False, oidc=oidc),
                                mimetype="text/html")
            set_cookie(response, login_cookie, token, max_age=3600)
            return response
        expected = request.cookies.get(login_cookie, "")
        if not expected or not secrets.compare_digest(request.form.get("csrf", ""), expected):
            raise Forbidden()
        username = request.form.get("username", "")[:200]
        user = stores.accounts.authenticate(username, request.form.get("password", ""),
                                            address())
        if user is None:
            stores.audit.record(username or None, "login_failed", None, address())
            response = Response(page("login.html", login_csrf=expected, failed=True,
                                     oidc=oidc), mimetype="text/html", status=401)
            return response
        token, _ = stores.accounts.open_session(user.username)
        stores.audit.record(user.username, "login", None, address())
        response = redirect(url_for("home"))
        set_cookie(response, cookie, token)
        response.delete_cookie(login_cookie, path="/", secure=secure_cookies, httponly=True,
                               samesite="Strict")
        return response

    @app.post("/logout")
    def logout() -> Any:
        stores.accounts.close_session(request.cookies.get(cookie, ""))
        stores.audit.record(g.user.username, "logout", None, address())
        response = redirect(url_for("login"))
        response.delete_cookie(cookie, path="/", secure=secure_cookies, httponly=True,
                               samesite="Strict")
        return response

    @app.get("/")
    def home() -> Any:
        user: User = g.user
        if user.role is Role.COMPANY:
            return redirect(url_for("company", covenant=user.covenant,
                                    company_id=user.company_id))
        covenant = user.covenant or covenants.names()[0]
        years = stores.assessments.years(user.scope(), covenant)
        return redirect(url_for("overview", covenant=covenant,
                                year=years[-1] if years else date.today().year))

    @app.get("/<covenant>/<int:year>")
    def overview(covenant: str, year: int) -> Any:
        user: User = g.user
        if user.role is Role.COMPANY or not user.scope().allows(covenant):
            raise NotFound()
        assessed = stores.assessments.of_covenant(user.scope(), covenant, (year, year - 1))
        due = stores.due_on(covenant, year)
        rows = year_overview(assessed, year, due)
        stores.audit.record(user.username, "view_overview", f"{covenant}/{year}", address())
        w = words()
        sheets = {a.submission_id: stores.sheet(a) for a in assessed}
        if request.args.get("format") in EXPORTS:
            return _export(f"{covenant}-{year}", request.args["format"],
                           w["overview_columns"], [
                [r.company_name, r.company_id, w["status"][r.status],
                 *_score_cells(sheets[r.plan.submission_id] if r.plan else None, w["lang"]),
                 *(r.plan.counts.get(s, 0) if r.plan else "" for s in Severity),
                 r.plan.submission_id if r.plan else ""] for r in rows])
        years = stores.assessments.years(user.scope(), covenant)
        return page("overview.html", covenant=covenant, year=year, rows=rows, due=due,
                    years=years, covenants=[c for c in covenants.names() if user.scope().allows(c)],
                    sheets=sheets, has_register=stores.register is not None and bool(
                        (defined := covenants.current().get(covenant)) and defined.spec.locations))

    @app.get("/<covenant>/companies/<company_id>")
    def company(covenant: str, company_id: str) -> Any:
        user: User = g.user
        if not user.scope().allows(covenant, company_id):
            raise NotFound()
        plans = stores.assessments.of_company(user.scope(), covenant, company_id)
        if not plans:
            raise NotFound()
        stores.audit.record(user.username, "view_company", f"{covenant}/{company_id}",
                            address())
        sheets = {p.submission_id: stores.sheet(p) for p in plans}
        # each plan: how many of the findings that stood on the last plan of an earlier year
        # it answers
        answers = {p.submission_id: answered(earlier[-1], p) for p in plans
                   if (earlier := [e for e in plans if e.reporting_year < p.reporting_year])}
        if request.args.get("format") in EXPORTS:
            w = words()
            return _export(f"{covenant}-{company_id}", request.args["format"],
                           w["company_columns"], [
                [p.reporting_year, p.submitted_on.isoformat(),
                 *_score_cells(sheets[p.submission_id], w["lang"]),
                 *(p.counts.get(s, 0) for s in Severity), p.submission_id] for p in plans])
        return page("company.html", covenant=covenant, company_id=company_id, plans=plans,
                    name=plans[-1].company_name, sheets=sheets, answered=answers)

    @app.get("/assessments/<submission_id>")
    def assessment(submission_id: str) -> Any:
        user: User = g.user
        found = stores.assessments.one(user.scope(), submission_id)
        if found is None:
            raise NotFound()
        assessed, findings = found
        stores.audit.record(user.username, "view_assessment", submission_id, address())
        language = words()["lang"]
        current = stores.reviews.get(submission_id) or Review(submission_id)
        # a company sees its review once it is final, and then as its feedback letter says
        shown = current if user.role is not Role.COMPANY or current.state is State.FINAL \
            else Review(submission_id)
        visible = findings if user.role is not Role.COMPANY or shown.state is not State.FINAL \
            else [f for f in findings if shown.decisions.get(f["finding_id"]) and
                  shown.decisions[f["finding_id"]].verdict is Verdict.CONFIRMED]
        groups = letters.grouped([Finding.model_validate(f) for f in visible],
                                 assessed.covenant, language, set())
        if request.args.get("format") in EXPORTS:
            return _export(f"{assessed.covenant}-{assessed.company_id}-"
                           f"{assessed.reporting_year}", request.args["format"],
                           words()["finding_columns"], _finding_rows(
                               visible, shown, assessed.covenant, language))
        earlier = [p for p in stores.assessments.of_company(
            user.scope(), assessed.covenant, assessed.company_id)
            if p.reporting_year < assessed.reporting_year]
        previous = follow_up(
            stores.assessments.standing(user.scope(), earlier[-1].submission_id),
            (stores.assessments.plan(user.scope(), submission_id) or {}).get(
                "previous_findings_responses", [])) if earlier else []
        sheets = {"automatic": stores.sheet(assessed, assessed.automatic),
                  "review": stores.sheet(assessed, standing_of(preview(findings, shown))),
                  "previous": stores.sheet(earlier[-1]) if earlier else None}
        blocked = sorted({s for sheet in sheets.values() if sheet for s in sheet.blocked},
                         key=lambda s: s.rank)
        return page("assessment.html", a=assessed, groups=groups, review=shown, sheets=sheets,
                    plan_parts=letters.plan_parts(assessed.covenant),
                    framework=stores.frameworks.get(assessed.covenant),
                    previous=previous, previous_year=earlier[-1].reporting_year
                    if earlier else None,
                    blocked=i18n.items([i18n.label("Severity", s.value, language)
                                        for s in blocked], language) if blocked else None,
                    editable=user.role is Role.SECRETARIAT and shown.state is State.DRAFT,
                    reviewer=user.role is Role.SECRETARIAT,
                    undecided=len(shown.undecided(f["finding_id"] for f in findings)),
                    instruments=citable(assessed.covenant),
                    history=stores.reviews.history(submission_id)
                    if user.role is not Role.COMPANY else [],
                    error=request.args.get("error"))

    @app.get("/assessments/<submission_id>/why/<rule_id>")
    def why(submission_id: str, rule_id: str) -> Any:
        """`covenant rules explain` of one rule on the plan, for whoever may read the plan."""
        user: User = g.user
        found = stores.assessments.one(user.scope(), submission_id)
        plan = stores.assessments.plan(user.scope(), submission_id)
        if found is None or plan is None or stores.explain is None:
            raise NotFound()
        stores.audit.record(user.username, "view_why", f"{submission_id}/{rule_id[:80]}",
                            address())
        return page("why.html", a=found[0], rule_id=rule_id,
                    lines=stores.explain(plan, rule_id))

    @app.post("/assessments/<submission_id>/review")
    def review(submission_id: str) -> Any:
        """One change to the review: a verdict, the rest confirmed, a finding added or removed,
        the remarks, finalising or reopening. Only a secretariat user of the covenant changes a
        review; a change made on an outdated page is refused, not merged."""
        user: User = g.user
        found = stores.assessments.one(user.scope(), submission_id)
        if found is None:
            raise NotFound()
        assessed, findings = found
        action = request.form.get("action", "")
        if user.role is not Role.SECRETARIAT:
            stores.audit.record(user.username, "refused_review", submission_id, address())
            raise Forbidden()
        back = url_for("assessment", submission_id=submission_id)
        current = stores.reviews.get(submission_id) or Review(submission_id)
        if request.form.get("revision") != str(current.revision):
            return redirect(f"{back}?error=stale")
        try:
            changed = _change(current, action, request.form, findings, assessed.covenant)
            event = None
            if changed.state is State.FINAL:
                plan = stores.assessments.plan(user.scope(), submission_id) or {}
                event = Outgoing.of(feedback(changed, plan, findings, stores.due_on(
                    assessed.covenant, assessed.reporting_year + 1)))
            stores.reviews.save(changed, current.revision, assessed.covenant,
                                assessed.company_id, user.username, action,
                                confirmed(findings, changed) if event else None, event)
        except ReviewError as e:
            return redirect(f"{back}?error={e.code}")
        except StaleReview:
            return redirect(f"{back}?error=stale")
        stores.audit.record(user.username, f"review_{action}", submission_id, address())
        anchor = request.form.get("finding_id", "")
        return redirect(f"{back}#{anchor}" if anchor else f"{back}#review")

    add_register_pages(app, stores, page, words, address, _export)
    return app


def _change(review: Review, action: str, form: Any, findings: list[dict[str, Any]],
            covenant: str) -> Review:
    ids = [f["finding_id"] for f in findings]
    try:
        if action == "decide":
            severity = form.get("severity") or None
            own = next((f["severity"] for f in findings
                        if f["finding_id"] == form.get("finding_id")), None)
            return decide(review, ids, form.get("finding_id", ""), Verdict(form.get("verdict")),
                          Severity(severity) if severity and severity != own else None,
                          form.get("reason", ""))
        if action == "confirm_rest":
            return confirm_rest(review, ids)
        if action == "add":
            return add(review, covenant, form.get("title", ""), form.get("message", ""),
                       Severity(form.get("severity")), form.get("instrument", ""),
                       form.get("locator", ""))
        if action == "remove_added":
            return remove_added(review, form.get("finding_id", ""))
        if action == "remarks":
            return write_remarks(review, form.get("remarks", ""))
        if action == "finalise":
            return finalise(review, ids)
        if action == "reopen":
            return reopen(review)
    except ValueError as e:  # a value outside its vocabulary (verdict, severity)
        if isinstance(e, ReviewError):
            raise
        raise ReviewError("invalid") from None
    raise ReviewError("invalid")


def _score_cells(sheet: ScoreSheet | None, language: str) -> list[Any]:
    """A plan's score and category as table cells; empty without an assessment framework."""
    return [sheet.score, sheet.category_name.model_dump()[language]] if sheet else ["", ""]


def _finding_rows(findings: list[dict[str, Any]], review: Review, covenant: str,
                  language: str) -> list[list[Any]]:
    """An assessment's findings as a table, with the review's verdicts, then its own."""
    w = WORDING[language]
    rows = []
    for f in findings:
        finding, d = Finding.model_validate(f), review.decisions.get(f["finding_id"])
        rows.append([
            finding.title.in_(language), i18n.label("Severity", finding.severity.value, language),
            w["verdicts"][d.verdict.value] if d else "",
            i18n.label("Severity", d.severity.value, language) if d and d.severity else "",
            d.reason if d else "",
            "; ".join(i18n.citation(r.instrument, r.locator, language)
                      for r in i18n.cited(finding.references, covenant)),
            "; ".join(i18n.place(p, language, letters.plan_parts(covenant))
                      for p in finding.pointers),
            finding.rule_id, finding.finding_id])
    for a in review.added:
        rows.append([a.title, i18n.label("Severity", a.severity.value, language),
                     w["added_verdict"], "", "", i18n.citation(a.instrument, a.locator, language),
                     "", "", a.finding_id])
    return rows


def _oidc_client(app: Flask, oidc: Oidc, secure_cookies: bool) -> Any:
    """Authlib's client for the provider. Its state and nonce live in Flask's signed session
    cookie for the few seconds of a login: SameSite=Lax, as the provider's redirect back is a
    navigation from another site; the same `session_secret` on every replica."""
    from authlib.integrations.flask_client import OAuth

    app.secret_key = oidc.session_secret
    app.config.update(SESSION_COOKIE_NAME="console-oidc", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SECURE=secure_cookies, SESSION_COOKIE_SAMESITE="Lax",
                      PERMANENT_SESSION_LIFETIME=600)
    return OAuth(app).register(
        "oidc", client_id=oidc.client_id, client_secret=oidc.client_secret,
        server_metadata_url=f"{oidc.issuer.rstrip('/')}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile email"})


EXPORTS = {"csv": "text/csv",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _export(name: str, fmt: str, header: list[str], rows: list[list[Any]]) -> Response:
    """A table as CSV or XLSX. A text cell a spreadsheet would run as a formula (= + - @) is
    written as text: plan contents never become a formula on the secretariat's machine."""
    safe = [[cell(c) for c in row] for row in rows]
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet(name[:31])
        for row in [header, *safe]:
            sheet.append(row)
        out = io.BytesIO()
        book.save(out)
        body: bytes | str = out.getvalue()
    else:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(header)
        writer.writerows(safe)
        body = text.getvalue()
    return Response(body, mimetype=EXPORTS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})
