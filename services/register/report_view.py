"""A progress report for readers: an HTML page (the console shows its body; `covenant report`
writes it whole, its CSS inline, charts as inline SVG) and an XLSX workbook, in Dutch or
English, numbers, dates, countries and shares localised. A withheld figure reads as a dash,
with a note saying why (disclosure control), never a zero."""

import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from services.shared import i18n
from services.shared.i18n import NOTHING as WITHHELD
from services.shared.text import cell

from . import charts
from .progress import Figure, Report
from .published import Figures

_ENV = Environment(loader=PackageLoader("services.register", "templates"),
                   autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                   trim_blocks=True, lstrip_blocks=True)


def view(report: Report, language: str, locations: list[Figures] | None = None
         ) -> dict[str, Any]:
    """Everything the template and the workbook show, as words."""
    w = WORDS[language]

    def share(f: Figure | None) -> str:
        return WITHHELD if f is None or f.value is None else i18n.share(f.value, language)

    def number(f: Figure | None) -> str:
        return WITHHELD if f is None or f.value is None else i18n.number(f.value, language)

    def rule_title(rule: str) -> str:
        title = report.titles.get(rule) or {}
        return title.get(language) or rule

    def row_label(spec: Any, value: str) -> str:
        """A code cut to a prefix (a NACE division) as it is; a theme in words."""
        return value if spec.rows_prefix else i18n.theme(value, language)

    years = [str(t.year) for t in report.trend]
    tables = []
    for t in report.tables:
        euros = t.spec.unit == "euros"
        show = (lambda v: i18n.euros(v, language)) if euros else \
            (lambda v: i18n.number(v, language))
        columns = [i18n.country(c, language) if t.spec.columns == "countries" else c
                   for c in t.columns if c] or [w["count"]]
        rows = [[row_label(t.spec, r), *[WITHHELD if t.values.get((r, c)) is None
                                          else show(t.values[(r, c)]) for c in t.columns],
                 WITHHELD if t.values.get((r, "__total__")) is None else
                 show(t.values[(r, "__total__")])] for r in t.rows]
        totals = [WITHHELD if t.values.get(("__total__", c)) is None else
                  show(t.values[("__total__", c)]) for c in (*t.columns, "__total__")]
        tables.append({"title": t.spec.label[language], "columns": columns,
                       "rows": rows, "totals": totals, "withheld": t.withheld,
                       "single": len(t.columns) <= 1})
    coverage_target = [{"year": y, "target": i18n.share(s, language),
                        "met": w["unknown"] if met is None else w["met"] if met else
                        w["not_met"]} for y, s, met in report.targets]
    return {
        "w": w, "lang": language,
        "title": w["title"].format(
            covenant=i18n.label("Covenant", report.covenant, language), year=report.year),
        "controlled": report.controlled,
        "withheld": i18n.plural(report.withheld, w["withheld"], language),
        "meeting_note": w["meeting_framework"].format(
            framework=report.framework.model_dump()[language],
            category=report.category.model_dump()[language])
        if report.framework and report.category else w["meeting_note"].format(
            severities=i18n.items([i18n.label("Severity", s, language)
                                   for s in report.blocking], language, "or")),
        "summary": [
            (w["participants"], i18n.number(report.participants, language)),
            (w["turnover"], w["not_reported"] if report.turnover.why == "not_reported"
             else WITHHELD if report.turnover.value is None
             else i18n.euros(report.turnover.value, language)),
            (w["coverage"], share(report.coverage) if report.coverage else w["no_market"]),
            (w["on_time"], share(report.on_time) if report.on_time else w["no_due"]),
            (w["meeting"], share(report.meeting)),
            (w["basis"], w["basis_text"].format(
                reviewed=i18n.number(report.reviewed, language),
                automatic=i18n.number(report.participants - report.reviewed, language))),
        ],
        "targets": coverage_target,
        "by_rule": [(r, rule_title(r), share(c), number(n)) for r, c, n in report.by_rule],
        "by_theme": [(i18n.theme(t, language) if t else w["no_theme"], number(n))
                     for t, n in report.by_theme],
        "tables": tables,
        "shares": [(labels[language], share(f)) for _, labels, f in report.shares],
        "locations": [{"year": f.year, "locations": i18n.number(f.locations, language),
                       "shared": i18n.number(f.shared, language),
                       "high_risk": WITHHELD if f.high_risk_share is None
                       else i18n.share(f.high_risk_share, language)}
                      for f in locations or []],
        "charts": [
            (w["chart_participants"], Markup(charts.bars(w["chart_participants"], years,
                               [float(t.participants) for t in report.trend],
                               lambda v: i18n.number(v, language)))),
            (w["chart_shares"], Markup(charts.lines(w["chart_shares"], years, [
                (w["meeting"], [t.meeting.value for t in report.trend]),
                *([(w["on_time"], [t.on_time.value if t.on_time else None
                                   for t in report.trend])]),
                *([(w["coverage"], [t.coverage.value if t.coverage else None
                                    for t in report.trend])]
                  if any(t.coverage for t in report.trend) else []),
            ], lambda v: i18n.share(v, language)))),
            (w["chart_findings"], Markup(charts.bars(w["chart_findings"], years,
                                                     [t.findings.value for t in report.trend],
                                                     lambda v: i18n.number(v, language)))),
        ],
        "trend": [(t.year, i18n.number(t.participants, language), share(t.coverage),
                   share(t.on_time), share(t.meeting), number(t.findings))
                  for t in report.trend],
    }


def body(report: Report, language: str, locations: list[Figures] | None = None) -> Markup:
    """The report's content, for a page around it (the console's)."""
    return Markup(_ENV.get_template("report_body.html").render(
        v=view(report, language, locations)))


def document(report: Report, language: str, locations: list[Figures] | None = None) -> str:
    """The report as a page of its own."""
    v = view(report, language, locations)
    return _ENV.get_template("report.html").render(v=v, body=body(report, language, locations))


def workbook(report: Report, language: str, path: Path,
             locations: list[Figures] | None = None) -> None:
    from openpyxl import Workbook

    v = view(report, language, locations)
    w = v["w"]
    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)

    def sheet(title: str, header: list[str], rows: list[list[Any]]) -> None:
        s = book.create_sheet(re.sub(r"[][:*?/\\]", " ", title)[:31])  # Excel's limits
        for row in [header, *rows]:
            s.append([cell(c) for c in row])

    sheet(w["summary"], [w["figure"], w["value"]], [list(r) for r in v["summary"]])
    sheet(w["by_rule"], [w["rule"], w["rule_title"], w["companies_with"], w["findings"]],
          [list(r) for r in v["by_rule"]])
    sheet(w["by_theme"], [w["theme"], w["findings"]], [list(r) for r in v["by_theme"]])
    sheet(w["trend"], w["trend_columns"], [list(r) for r in v["trend"]])
    for t in v["tables"]:
        sheet(t["title"], ["", *t["columns"], w["total"]],
              [*t["rows"], [w["total"], *t["totals"]]])
    if v["shares"]:
        sheet(w["shares"], [w["question"], w["share_yes"]], [list(r) for r in v["shares"]])
    if v["locations"]:
        sheet(w["locations"], w["locations_columns"],
              [[r["year"], r["locations"], r["shared"], r["high_risk"]]
               for r in v["locations"]])
    book.save(path)


WORDS: dict[str, dict[str, Any]] = {
    "nl": {
        "title": "Voortgang {covenant} {year}",
        "summary": "Samenvatting", "figure": "Cijfer", "value": "Waarde",
        "participants": "Deelnemers met een plan", "turnover": "Hun omzet op de Nederlandse "
        "markt", "coverage": "Marktdekking", "on_time": "Plannen op tijd ingediend",
        "meeting": "Plannen die aan de eisen voldoen",
        "basis": "Grondslag", "basis_text": "{reviewed} na beoordeling door het secretariaat, "
        "{automatic} op de automatische voortoets",
        "no_market": "geen marktomvang ingesteld", "not_reported": "door niemand opgegeven",
        "no_due": "geen datum in de kalender",
        "targets": "Doelen voor de marktdekking", "by_year": "uiterlijk {year}",
        "met": "gehaald", "not_met": "niet gehaald", "unknown": "nog niet bekend",
        "by_rule": "Bevindingen per regel", "rule": "Regel", "rule_title": "Omschrijving",
        "companies_with": "Aandeel bedrijven", "findings": "Bevindingen",
        "by_theme": "Bevindingen per thema", "theme": "Thema", "no_theme": "geen thema",
        "trend": "Verloop over de jaren", "total": "Totaal", "count": "Aantal",
        "trend_columns": ["Jaar", "Deelnemers", "Marktdekking", "Op tijd",
                          "Voldoet aan de eisen", "Bevindingen"],
        "shares": "Aandeel deelnemers dat", "question": "Vraag", "share_yes": "Aandeel ja",
        "locations": "Productielocaties", "locations_columns": [
            "Jaar", "Unieke locaties", "Gedeeld door meer bedrijven", "In hoogrisicolanden"],
        "chart_participants": "Deelnemers met een plan, per jaar",
        "chart_shares": "Aandelen per jaar", "chart_findings": "Bevindingen per jaar",
        "controlled": "Alleen geaggregeerde, geanonimiseerde cijfers: een cijfer waaruit het "
                      "aandeel van één deelnemer zou blijken (te weinig bijdragers, één of "
                      "twee die overheersen, of een ja/nee-vraag die iedereen gelijk "
                      "beantwoordde) is weggelaten (\u2013), met zo nodig een ander zodat totalen "
                      "het niet verraden.",
        "withheld": {"one": "{n} cijfer weggelaten.", "other": "{n} cijfers weggelaten."},
        "meeting_note": "Een plan voldoet aan de eisen als er geen bevinding met ernst "
                        "{severities} op staat.",
        "meeting_framework": "Een plan voldoet aan de eisen als de scorekaart van het "
                             "{framework} het in de categorie \u2018{category}\u2019 plaatst.",
    },
    "en": {
        "title": "Progress {covenant} {year}",
        "summary": "Summary", "figure": "Figure", "value": "Value",
        "participants": "Participants with a plan", "turnover": "Their turnover on the Dutch "
        "market", "coverage": "Market coverage", "on_time": "Plans submitted on time",
        "meeting": "Plans meeting the requirements",
        "basis": "Basis", "basis_text": "{reviewed} after the secretariat's review, "
        "{automatic} on the automatic pre-assessment",
        "no_market": "no market size set", "not_reported": "given by no one",
        "no_due": "no date in the calendar",
        "targets": "Market coverage targets", "by_year": "by {year}",
        "met": "met", "not_met": "not met", "unknown": "not known yet",
        "by_rule": "Findings by rule", "rule": "Rule", "rule_title": "Description",
        "companies_with": "Share of companies", "findings": "Findings",
        "by_theme": "Findings by theme", "theme": "Theme", "no_theme": "no theme",
        "trend": "Over the years", "total": "Total", "count": "Count",
        "trend_columns": ["Year", "Participants", "Market coverage", "On time",
                          "Meeting the requirements", "Findings"],
        "shares": "Share of participants that", "question": "Question",
        "share_yes": "Share yes",
        "locations": "Production locations", "locations_columns": [
            "Year", "Unique locations", "Shared by several companies",
            "In high-risk countries"],
        "chart_participants": "Participants with a plan, by year",
        "chart_shares": "Shares by year", "chart_findings": "Findings by year",
        "controlled": "Aggregated, anonymised figures only: a figure that would show one "
                      "participant's part (too few contributors, one or two dominating, or a "
                      "yes/no question everyone answered alike) is left out (\u2013), with another "
                      "where needed so that totals do not give it away.",
        "withheld": {"one": "{n} figure left out.", "other": "{n} figures left out."},
        "meeting_note": "A plan meets the requirements when no finding of severity "
                        "{severities} stands on it.",
        "meeting_framework": "A plan meets the requirements when the score sheet of the "
                             "{framework} puts it in the category \u2018{category}\u2019.",
    },
}
