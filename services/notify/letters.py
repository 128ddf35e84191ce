"""What each letter says, worked out before any template sees it: every value localised
(Babel), every vocabulary value and instrument in words, findings grouped by due-diligence step.

Five letters: the company's assessment (it leads with what to do), the secretariat's
assessment (it leads with the company, the counts against last year and what recurs), the
rejection (company and secretariat), the secretariat's daily digest, and the feedback to the
company when the secretariat finalised its review (its remarks and the confirmed findings).
The templates beside this module (`templates/`) only lay these views out, as HTML and as plain
text.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.rules.core.vocabulary import PLAN_KINDS, parts_of
from services.shared import covenants, i18n
from services.shared.contracts import (
    AssessmentCompleted,
    Finding,
    RecipientRole,
    ReviewFinalised,
    Severity,
    SignalForwarded,
    SubmissionRejected,
)
from services.shared.contracts.messages import SECRETARIAT_RULE

from .wording import WORDING

# a rough weight of the findings for the secretariat's overview; not the assessment framework's
# score (which the secretariat gives, issue 14)
SEVERITY_POINTS = {Severity.CRITICAL: 8, Severity.HIGH: 4, Severity.MEDIUM: 2, Severity.LOW: 1,
                   Severity.INFO: 0}
STEP_ORDER = ("PROC", "DD1", "DD2", "DD3", "DD4", "DD5", "DD6", "XY", "SECRETARIAT", "")
# A rule that fires at many places of one plan (a check of every production location or
# financing) is told once: its first SHOWN_PER_RULE findings in full, the places of the next
# LISTED_PER_RULE by name, and how many more there are (the assessment's export in the
# secretariat's console holds them all). Told one by one, 4,000 findings of one rule made each
# letter 7.3 MB and 16,000 made it 29 MB: more than mail servers take (Postfix's default limit
# is 10 MB) and more than anyone reads. At these bounds a letter about a plan with one such
# rule was 39 KB whether the rule fired 800 times or 16,000 (bench's textile plans).
SHOWN_PER_RULE = 10
LISTED_PER_RULE = 500



@dataclass(frozen=True)
class Contact:
    """Whom a company asks about its letter: the covenant secretariat's name, address and
    (optionally) telephone number (settings SECRETARIAT_ADDRESSES and SECRETARIAT_CONTACTS)."""

    name: str | None  # None: "the covenant secretariat" in the reader's language
    email: str
    phone: str | None = None


@dataclass
class View:
    """One letter's content, in its reader's language."""

    language: str
    subject: str
    heading: str
    words: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)


def plan_parts(covenant: str | None = None) -> tuple[tuple[str, str], ...]:
    """(kind, path) of every part of a plan of the covenant, its section's too (of every
    covenant, without one: a part name two covenants give their own lists, such as
    `location`, stands once for each path): for saying where in a plan something is
    (i18n.place)."""
    return covenants.derived(("plan_parts", covenant), lambda registry: _plan_parts(
        registry, covenant))


def _plan_parts(registry: covenants.Covenants, covenant: str | None
                ) -> tuple[tuple[str, str], ...]:
    names: list[str | None] = [covenant] if covenant else [*registry.names] or [None]
    found: dict[tuple[str, str], None] = {}
    for name in names:
        defined = registry.get(name)
        own = defined.spec.parts if defined else {}
        with parts_of(name):
            found.update(((f"{name}:{k.name}" if k.name in own and own[k.name].label
                           else k.name, k.path), None) for k in PLAN_KINDS.values())
    return tuple(found)


def words(language: Any) -> dict[str, Any]:
    return WORDING[str(getattr(language, "value", language))]


def company_name(event: AssessmentCompleted | SubmissionRejected, w: dict[str, Any]) -> str:
    """A company never accepted is named by the id its payload gave (checked in ingest)."""
    if event.company_name:
        return event.company_name
    return w["unknown_company_id"].format(company_id=event.company_id) if event.company_id \
        else w["unknown_company"]


def severities(counts: dict[Severity, int], language: str) -> list[dict[str, Any]]:
    return [{"severity": s.value, "label": i18n.label("Severity", s.value, language),
             "count": i18n.number(counts.get(s, 0), language)} for s in Severity]


def short_counts(counts: dict[Severity, int], language: str) -> str:
    """`2 kritiek, 5 hoog` / `no findings`."""
    found = [f"{i18n.number(n, language)} {i18n.label('Severity', s.value, language)}"
             for s, n in counts.items() if n]
    return ", ".join(found) or words(language)["no_findings_short"]


def step_of(rule_id: str) -> str:
    prefix = rule_id.split("-", 1)[0]
    return prefix if prefix in STEP_ORDER else ""


def finding_view(f: Finding, covenant: str, language: str, recurring: set[str]
                 ) -> dict[str, Any]:
    w = words(language)
    pointers = sorted(f.pointers, key=i18n.natural_key)
    parts = plan_parts(covenant)
    places = [i18n.place(p, language, parts) for p in pointers]  # in words: the reader's
    return {
        "id": f.finding_id, "rule_id": f.rule_id, "severity": f.severity.value,
        "severity_label": i18n.label("Severity", f.severity.value, language),
        "title": f.title.in_(language), "message": f.message.in_(language),
        "guidance": f.guidance.in_(language),
        "why": f.severity_reason.in_(language) if f.severity_reason else None,
        "provisions": [i18n.citation(r.instrument, r.locator, language)
                       for r in i18n.cited(f.references, covenant)],
        "pointers": pointers,
        "places": places,
        "small_print": w["small_print_secretariat"].format(finding=f.finding_id)
        if f.rule_id == SECRETARIAT_RULE else w["small_print"].format(
            rule=f.rule_id, finding=f.finding_id, where="; ".join(places) or i18n.NOTHING),
        "recurring": f.finding_id in recurring,
    }


def grouped(findings: list[Finding], covenant: str, language: str, recurring: set[str],
            reader: RecipientRole | None = None) -> list[dict[str, Any]]:
    """By due-diligence step, in the steps' order; worst first within a step. For a letter
    to `reader`, many findings of one rule are told as one (`told`); without a reader (the
    console, where each is reviewed) every finding is told on its own."""
    w = words(language)
    steps: dict[str, list[Finding]] = {}
    for f in sorted(findings, key=lambda f: (f.severity.rank, f.rule_id,
                                             [i18n.natural_key(p) for p in f.pointers])):
        steps.setdefault(step_of(f.rule_id), []).append(f)
    return [{"title": w["steps"][step],
             "findings": [finding_view(f, covenant, language, recurring) for f in steps[step]]
             if reader is None else told(steps[step], covenant, language, recurring, reader)}
            for step in STEP_ORDER if step in steps]


def told(findings: list[Finding], covenant: str, language: str, recurring: set[str],
         reader: RecipientRole) -> list[dict[str, Any]]:
    """The findings' views, in their order; the findings of one rule, severity and standing
    (recurring or new) beyond SHOWN_PER_RULE as one view of the rule with its places
    (`rule_view`), where the `reader` learns how to get the ones not listed."""
    runs: dict[tuple[str, str, bool], list[Finding]] = {}
    for f in findings:
        runs.setdefault((f.rule_id, f.severity.value, f.finding_id in recurring), []).append(f)
    views: list[dict[str, Any]] = []
    for run in runs.values():
        if len(run) > SHOWN_PER_RULE:
            views.append(rule_view(run, covenant, language, recurring, reader))
        else:
            views += [finding_view(f, covenant, language, recurring) for f in run]
    return views


def rule_view(run: list[Finding], covenant: str, language: str, recurring: set[str],
              reader: RecipientRole) -> dict[str, Any]:
    """Many findings of one rule: what the rule asks once, the first SHOWN_PER_RULE findings
    (what was found, where, and their ids), then the places of the next LISTED_PER_RULE and
    how many more there are. Only the findings told are put into words."""
    w = words(language)
    shown = [finding_view(f, covenant, language, recurring) for f in run[:SHOWN_PER_RULE]]
    listed = run[SHOWN_PER_RULE:SHOWN_PER_RULE + LISTED_PER_RULE]
    parts = plan_parts(covenant)
    more = len(run) - len(shown) - len(listed)
    return {
        **shown[0],  # the rule's title, severity, guidance and provisions, and its standing
        "count": i18n.plural(len(run), w["rule_found"], language, shown=len(shown)),
        "instances": [{"message": v["message"], "why": v["why"],
                       "small_print": w["small_print_instance"].format(
                           finding=v["id"], where="; ".join(v["places"]) or i18n.NOTHING)}
                      for v in shown],
        "also": ["; ".join(i18n.place(p, language, parts)
                           for p in sorted(f.pointers, key=i18n.natural_key)) or i18n.NOTHING
                 for f in listed],
        "more": i18n.plural(more, w[f"rule_more_{reader.value}"], language) if more else None,
        "small_print": w["small_print_rule"].format(rule=run[0].rule_id),
    }


def contact_line(contact: Contact, language: str) -> str:
    w = words(language)
    phone = w["phone"].format(phone=contact.phone) if contact.phone else ""
    return w["contact"].format(name=contact.name or w["default_contact"], email=contact.email,
                               phone=phone)


def _meta(event: AssessmentCompleted | SubmissionRejected | ReviewFinalised, company: str,
          language: str) -> list[tuple[str, str]]:
    w = words(language)
    rows = [(w["company"], company)]
    if event.covenant:
        rows.append((w["covenant"], i18n.label("Covenant", event.covenant, language)))
    if isinstance(event, AssessmentCompleted):
        rows.append((w["reporting_year"], str(event.reporting_year)))
        rows.append((w["submitted_on"], i18n.day(event.as_of, language)))
    if isinstance(event, ReviewFinalised):
        rows.append((w["reporting_year"], str(event.reporting_year)))
    if event.submission_id:
        rows.append((w["submission"], event.submission_id))
    return rows


def assessment(event: AssessmentCompleted, role: RecipientRole, language: str,
               contact: Contact, undelivered: list[str], recipients: int) -> View:
    w = words(language)
    company = company_name(event, w)
    covenant = event.covenant
    recurring = {f.finding_id for f in event.recurring()}
    counts = event.counts()
    kind = f"assessment_{role.value}"
    total = len(event.findings)
    values: dict[str, Any] = {
        "meta": _meta(event, company, language),
        "counts": severities(counts, language),
        "total": i18n.plural(total, w["findings_total"], language) if total
        else w["no_findings"],
        "groups": grouped(event.findings, covenant, language, recurring, role),
        "contact": contact_line(contact, language),
        "ruleset": event.ruleset_version,
        "undelivered": undelivered,
    }
    values["next_step"] = _next_step(event.next_plan_due_on, event.reporting_year, language,
                                     meeting=True)
    summary = short_counts(counts, language)
    if role is RecipientRole.SECRETARIAT:
        values |= _for_secretariat(event, language, recipients)
        if recurring:
            summary += "; " + i18n.plural(len(recurring), w["recurring_short"], language)
    subject = w["subject"][kind].format(year=event.reporting_year, company=company,
                                        summary=summary)
    heading = w["heading"][kind].format(year=event.reporting_year, company=company)
    return View(language, subject, heading, w, values)


def _next_step(due: date | None, year: int, language: str, meeting: bool) -> str:
    """What to do by when; before the assessment meeting (`meeting`) also that the
    secretariat will call about it (the feedback comes after the meeting)."""
    w = words(language)
    step = str(w["next_step_undated"]) if due is None else str(w["next_step_due"]).format(
        next_year=year + 1, due=i18n.day(due, language))
    return f"{step} {w['next_step_meeting']}" if meeting else step


def feedback(event: ReviewFinalised, language: str, contact: Contact) -> View:
    """The secretariat's feedback on a plan: its remarks and the findings it confirmed, which
    the company answers in its next plan."""
    w = words(language)
    total, dismissed = len(event.findings), event.dismissed
    values: dict[str, Any] = {
        "meta": _meta(event, event.company_name, language),
        "replaces": w["feedback_replaces"] if event.round > 1 else None,
        "remarks": [p.strip() for p in event.remarks.split("\n\n") if p.strip()],
        "counts": severities(event.counts(), language),
        "total": i18n.plural(total, w["feedback_total"], language) if total
        else w["feedback_no_findings"],
        "dismissed": i18n.plural(dismissed, w["feedback_dismissed"], language)
        if dismissed else None,
        "groups": grouped(event.findings, event.covenant, language, set(),
                          RecipientRole.COMPANY),
        "contact": contact_line(contact, language),
        "next_step": _next_step(event.next_plan_due_on, event.reporting_year, language,
                                meeting=False),
        "undelivered": [],
    }
    subject = w["subject"]["feedback"].format(year=event.reporting_year,
                                              company=event.company_name)
    heading = w["heading"]["feedback"].format(year=event.reporting_year)
    return View(language, subject, heading, w, values)


def signal(event: SignalForwarded, language: str, contact: Contact) -> View:
    """A signal about one of the company's listed locations: where, what, and what the
    secretariat expects, never who reported it."""
    w = words(language)
    place = event.location
    where = ", ".join(p for p in (place.name, place.address, place.city) if p)
    location = f"{place.name} ({i18n.country(place.country, language)})"
    ref = event.signal_id
    next_plan = w["signal_next_plan"].format(due=i18n.day(event.next_plan_due_on, language),
                                             ref=ref) if event.next_plan_due_on \
        else w["signal_next_plan_undated"].format(ref=ref)
    values: dict[str, Any] = {
        "meta": [(w["company"], event.company_name),
                 (w["covenant"], i18n.label("Covenant", event.covenant, language)),
                 (w["signal_reference"], ref),
                 (w["signal_location"], f"{where}, {i18n.country(place.country, language)} "
                                        f"({place.location_id})"),
                 (w["signal_received_on"], i18n.day(event.received_on, language)),
                 (w["signal_theme"], i18n.theme(event.theme, language))],
        "summary": [p.strip() for p in event.summary.split("\n\n") if p.strip()],
        "expected": w["signal_expected"].format(ref=ref),
        "next_step": next_plan,
        "contact": contact_line(contact, language),
        "undelivered": [],
    }
    return View(language, w["subject"]["signal"].format(location=location),
                w["heading"]["signal"].format(location=location), w, values)


def _for_secretariat(event: AssessmentCompleted, language: str, recipients: int
                     ) -> dict[str, Any]:
    """The counts against the previous plan, the severity points and what recurs."""
    w = words(language)
    counts, before = event.counts(), event.previous.counts if event.previous else None
    none = i18n.NOTHING
    rows = []
    for s in Severity:
        row = {"label": i18n.label("Severity", s.value, language),
               "now": i18n.number(counts[s], language), "before": none, "change": none}
        if before is not None:
            row["before"] = i18n.number(before.get(s, 0), language)
            row["change"] = i18n.signed(counts[s] - before.get(s, 0), language)
        rows.append(row)
    points = sum(SEVERITY_POINTS[s] * n for s, n in counts.items())
    row = {"label": w["points"], "now": i18n.number(points, language), "before": none,
           "change": none}
    if before is not None:
        points_before = sum(SEVERITY_POINTS[s] * n for s, n in before.items())
        row["before"] = i18n.number(points_before, language)
        row["change"] = i18n.signed(points - points_before, language)
    rows.append(row)
    recurring = event.recurring()
    return {
        "comparison": rows,
        "previous_heading": w["previous_plan"].format(year=event.previous.reporting_year)
        if event.previous else None,
        "points_note": w["points_note"].format(**{s.value: n for s, n in
                                                  SEVERITY_POINTS.items()}),
        "recurring": told(sorted(recurring, key=Finding.sort_key), event.covenant, language,
                          set(), RecipientRole.SECRETARIAT),
        "company_letter": i18n.plural(recipients, w["company_told"], language) if recipients
        else w["company_not_told"],
    }


def rejection(event: SubmissionRejected, role: RecipientRole, language: str,
              contact: Contact, undelivered: list[str]) -> View:
    w = words(language)
    company = company_name(event, w)
    kind = f"rejection_{role.value}"
    reason = w["reason"][event.reason.value]
    parts = plan_parts(event.covenant)
    errors = [{"place": i18n.place(e.pointer, language, parts),
               "message": i18n.error_text(e, language, parts), "pointer": e.pointer or "/",
               "code": e.code}
              for e in sorted(event.errors, key=lambda e: i18n.natural_key(e.pointer))]
    more = event.errors_total - len(event.errors)
    values = {
        "meta": _meta(event, company, language),
        "intro": w["rejection_intro"].format(company=company),
        "reason": reason[:1].upper() + reason[1:] + ".",
        "errors_heading": i18n.plural(event.errors_total, w["errors"], language),
        "errors": errors,
        "more": i18n.plural(more, w["more_errors"], language) if more > 0 else None,
        "undelivered": undelivered,
        "to_company": role is RecipientRole.COMPANY,
    }
    if role is RecipientRole.COMPANY:
        values |= {"next_step": w["next_step_rejected"],
                   "contact": contact_line(contact, language)}
    else:  # the secretariat hears whether the company was told
        told = len({c.email for c in event.contacts})
        values["company_letter"] = i18n.plural(told, w["company_told"], language) if told \
            else w["company_not_known"]
    subject = w["subject"][kind].format(company=company, reason=reason)
    return View(language, subject, w["heading"][kind], w, values)


def digest(covenant: str, day: date, events: list[AssessmentCompleted], language: str
           ) -> View:
    w = words(language)
    name = i18n.label("Covenant", covenant, language)
    rows = [{"company": e.company_name, "company_id": e.company_id,
             "year": str(e.reporting_year), "submission_id": e.submission_id,
             "counts": short_counts(e.counts(), language)}
            for e in sorted(events, key=lambda e: (e.company_name, e.submission_id))]
    when = i18n.day(day, language)
    values = {"intro": i18n.plural(len(rows), w["digest_intro"], language, day=when,
                                   covenant=name),
              "rows": rows, "columns": w["digest_columns"], "meta": [], "undelivered": []}
    subject = w["subject"]["digest"].format(
        covenant=name, day=when, count=i18n.plural(len(rows), w["assessments"], language))
    return View(language, subject, w["heading"]["digest"].format(covenant=name, day=when), w,
                values)
