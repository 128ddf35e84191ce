"""A covenant's progress report for a year, from the accepted plans the rules service recorded and
the secretariat's final reviews (reference.md: aggregate, covenant-level indicators):
participants; market coverage by the participants' Dutch turnover against the covenant's
targets; plans submitted on time; the share meeting the requirements; findings by rule and by
theme; the covenant's own tables and yes/no shares (`progress` in its definition); the location
list's figures; and the trend over every year so far.

Each company counts with its latest accepted plan of a year. The findings that stand on a plan
are those the secretariat confirmed in its final review, otherwise the automatic ones (the
report says how many of each it used). A plan meets the requirements when the score sheet of
the covenant's assessment framework on its standing findings puts it in the framework's first
category (textile: "meets the requirements", with the pass mark of the company's year of
membership); for a covenant without a framework, when no standing finding has a
`progress.blocking` severity (critical or high by default).

Where the covenant asks for disclosure control (`progress.disclosure`, banking), every figure
about the participants passes it before it is shown (services/register/disclosure.py): a
suppressed figure is None, and the report says why nothing is shown there.
"""

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.rules.core.framework import Framework, Standing, Text, membership_year, score
from services.shared.contracts import Severity
from services.shared.covenants import Covenant, ProgressTable
from services.shared.db import Database

from .disclosure import TOTAL, Policy, Protected, Share, Table, protect


@dataclass(frozen=True)
class PlanSummary:
    """What the report needs of one company's latest plan of a year (the plan itself is not
    kept: a bank's plan may be tens of megabytes)."""

    company_id: str
    year: int
    submitted_on: date
    nl_turnover: float | None
    reviewed: bool  # its findings are a final review's, not the automatic ones
    findings: tuple[tuple[str, str, str | None], ...]  # (rule_id, severity, theme)
    tables: dict[str, dict[tuple[str, str], float]]  # table -> (row, column) -> value
    answers: dict[str, bool]  # share -> yes/no
    titles: dict[str, dict[str, str]] = field(default_factory=dict)  # rule -> {nl, en}
    joined_year: int | None = None


@dataclass(frozen=True)
class Figure:
    """A published number, or None where disclosure control withholds it."""

    value: float | None
    why: str | None = None  # the rule that withholds it


@dataclass(frozen=True)
class ProtectedTable:
    name: str
    spec: ProgressTable
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    values: dict[tuple[str, str], float | None]
    withheld: int  # entries withheld


@dataclass(frozen=True)
class YearFigures:
    year: int
    participants: int
    coverage: Figure | None  # None: no market size set
    on_time: Figure | None  # None: no due date in the calendar
    meeting: Figure
    findings: Figure


@dataclass
class Report:
    covenant: str
    year: int
    participants: int
    reviewed: int  # plans whose findings come from a final review
    turnover: Figure
    coverage: Figure | None
    targets: list[tuple[int, float, bool | None]]  # (by year, share, met: None when unknown)
    due_on: date | None
    on_time: Figure | None
    meeting: Figure
    by_rule: list[tuple[str, Figure, Figure]]  # rule, companies with it, findings
    by_theme: list[tuple[str | None, Figure]]
    tables: list[ProtectedTable]
    shares: list[tuple[str, Any, Figure]]  # name, labels, share
    trend: list[YearFigures]
    controlled: bool  # disclosure control applied
    withheld: int = 0  # figures withheld in all
    titles: dict[str, dict[str, str]] = field(default_factory=dict)  # rule -> {nl, en}
    blocking: tuple[str, ...] = ("critical", "high")
    category: Text | None = None  # with a framework: the category that meets the requirements
    framework: Text | None = None


def summaries(db: Database, covenant: Covenant) -> list[PlanSummary]:
    """Each company's latest accepted plan of each year, summarised."""
    with db.transaction() as cur:
        cur.execute(db.sql(
            "SELECT a.submission_id, a.company_id, a.reporting_year, a.submitted_at, "
            "r.confirmed_json IS NOT NULL FROM rules_assessments a LEFT JOIN console_reviews r "
            "ON r.submission_id = a.submission_id AND r.state = 'final' WHERE a.covenant = ? "
            "ORDER BY a.submitted_at, a.submission_id"), (covenant.name,))
        latest = {(row[1], int(row[2])): row for row in cur.fetchall()}
    found = []
    for (company, year), row in sorted(latest.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        with db.transaction() as cur:  # one plan at a time in memory
            cur.execute(db.sql(
                "SELECT a.plan_json, COALESCE(r.confirmed_json, a.findings_json) FROM "
                "rules_assessments a LEFT JOIN console_reviews r ON r.submission_id = "
                "a.submission_id AND r.state = 'final' WHERE a.submission_id = ?"), (row[0],))
            plan_json, findings_json = cur.fetchone()
        found.append(_summary(covenant, company, year, str(row[3]), bool(row[4]),
                              json.loads(plan_json), json.loads(findings_json)))
    return found


def _summary(covenant: Covenant, company: str, year: int, submitted_at: str, reviewed: bool,
             plan: dict[str, Any], findings: list[dict[str, Any]]) -> PlanSummary:
    section = plan.get(covenant.extension) or {}
    tables = {name: _tabulate(section, spec)
              for name, spec in covenant.spec.progress.tables.items()}
    answers = {}
    for name, share in covenant.spec.progress.shares.items():
        value = _at(section, share.path)
        if isinstance(value, bool):
            answers[name] = value
    turnover = (plan.get("company") or {}).get("nl_turnover_eur")
    return PlanSummary(
        company, year, date.fromisoformat(submitted_at[:10]),
        float(turnover) if isinstance(turnover, int | float) else None, reviewed,
        tuple((f["rule_id"], f["severity"], _theme(plan, f.get("pointers") or []))
              for f in findings), tables, answers,
        {f["rule_id"]: f.get("title") or {} for f in findings},
        _year((plan.get("company") or {}).get("joined_on")))


def _year(day: Any) -> int | None:
    return int(day[:4]) if isinstance(day, str) and day[:4].isdigit() else None


def _at(node: Any, path: str) -> Any:
    for step in path.split("/"):
        node = node.get(step) if isinstance(node, dict) else None
    return node


def _items(node: Any, path: str) -> Iterator[Any]:
    nodes = [node]
    for step in path.split("/"):
        if step == "*":
            nodes = [i for n in nodes if isinstance(n, list) for i in n]
        else:
            nodes = [n.get(step) for n in nodes if isinstance(n, dict)]
    yield from (n for n in nodes if isinstance(n, dict))


def _tabulate(section: dict[str, Any], spec: ProgressTable) -> dict[tuple[str, str], float]:
    cells: dict[tuple[str, str], float] = {}
    for item in _items(section, spec.items):
        row = str(item.get(spec.rows) or "")
        if not row:
            continue
        if spec.rows_prefix:
            row = row[:spec.rows_prefix]
        value = item.get(spec.value) if spec.value else 1
        if not isinstance(value, int | float):
            continue
        given = item.get(spec.columns) if spec.columns else ""
        columns = [str(c) for c in given] if isinstance(given, list) else [str(given or "")]
        for column in columns or [""]:
            key = (row, column)
            cells[key] = cells.get(key, 0.0) + float(value) / max(len(columns), 1)
    return cells


def _theme(plan: dict[str, Any], pointers: list[str]) -> str | None:
    """The theme of the part a finding points at (a risk, a case, a theme's assessment): the
    deepest `theme` on the way to its first pointer that has one."""
    for pointer in pointers:
        node: Any = plan
        theme = None
        for step in [s for s in pointer.split("/") if s]:
            if isinstance(node, list) and step.isdigit() and int(step) < len(node):
                node = node[int(step)]
            elif isinstance(node, dict):
                node = node.get(step.replace("~1", "/").replace("~0", "~"))
            else:
                break
            if isinstance(node, dict) and isinstance(node.get("theme"), str):
                theme = node["theme"]
        if theme:
            return theme
    return None


def report(covenant: Covenant, year: int, plans: list[PlanSummary], due_on: Any,
           framework: Framework | None = None,
           criteria: Mapping[str, Severity] | None = None) -> Report:
    """The report of a year; `due_on(covenant, year)` is the covenant calendar; `framework`
    the covenant's assessment framework, with `criteria` (the rules in its scope and their
    severities), if it has one."""
    spec = covenant.spec.progress
    policy = Policy(**spec.disclosure.model_dump()) if spec.disclosure else None
    this = [p for p in plans if p.year == year]
    blocking: set[str] = set(spec.blocking)

    def meets(plan: PlanSummary) -> bool:
        if framework is None:
            return not any(severity in blocking for _, severity, _ in plan.findings)
        sheet = score(framework, criteria or {}, [Standing(r, Severity(s))
                                                  for r, s, _ in plan.findings],
                      membership_year(plan.year, plan.joined_year or plan.year))
        return sheet.category == framework.categories[0].id
    withheld = 0

    def magnitude(contributions: dict[str, float]) -> Figure:
        nonlocal withheld
        if not contributions:
            return Figure(None, "not_reported")
        why = policy.sensitive(contributions.values()) if policy else None
        if why:
            withheld += 1
            return Figure(None, why)
        return Figure(sum(contributions.values()))

    def share(yes: int, answered: int) -> Figure:
        nonlocal withheld
        if not answered:
            return Figure(None, "no_answers")
        value = Share(yes, answered).published(policy) if policy else yes / answered
        if value is None:
            withheld += 1
            return Figure(None, "share")
        return Figure(value)

    turnover = magnitude({p.company_id: p.nl_turnover for p in this if p.nl_turnover})
    coverage = None
    if spec.market_eur:
        coverage = Figure(turnover.value / spec.market_eur, turnover.why) \
            if turnover.value is not None else Figure(None, turnover.why)
    due = due_on(covenant.name, year)
    on_time = share(sum(p.submitted_on <= due for p in this), len(this)) if due else None
    meeting = share(sum(meets(p) for p in this), len(this))

    rules = sorted({r for p in this for r, _, _ in p.findings})
    by_rule = []
    rule_table = _protect(Table(tuple(rules), ("n",), {
        (r, "n"): {p.company_id: float(sum(f[0] == r for f in p.findings)) for p in this}
        for r in rules}), policy)
    for r in rules:
        companies = share(sum(any(f[0] == r for f in p.findings) for p in this), len(this))
        by_rule.append((r, companies, Figure(rule_table.values[(r, "n")])))
    withheld += sum(v is None for k, v in rule_table.values.items() if k[1] != TOTAL)
    themes = sorted({t or "" for p in this for _, _, t in p.findings})
    theme_table = _protect(Table(tuple(themes), ("n",), {
        (t, "n"): {p.company_id: float(sum((f[2] or "") == t for f in p.findings))
                   for p in this} for t in themes}), policy)
    by_theme = [(t or None, Figure(theme_table.values[(t, "n")])) for t in themes]
    withheld += sum(v is None for k, v in theme_table.values.items() if k[1] != TOTAL)

    tables = []
    for name, table_spec in spec.tables.items():
        protected, rows, columns = _covenant_table(name, table_spec, plans, year, policy)
        withheld += sum(v is None for v in protected.values.values())
        tables.append(ProtectedTable(name, table_spec, rows, columns, protected.values,
                                     sum(v is None for v in protected.values.values())))
    shares = []
    for name, share_spec in spec.shares.items():
        answers = [p.answers[name] for p in this if name in p.answers]
        shares.append((name, share_spec.label, share(sum(answers), len(answers))))

    trend = []
    for y in sorted({p.year for p in plans if p.year <= year}):
        those = [p for p in plans if p.year == y]
        turnover_y = magnitude({p.company_id: p.nl_turnover for p in those if p.nl_turnover})
        due_y = due_on(covenant.name, y)
        trend.append(YearFigures(
            y, len(those),
            (Figure(turnover_y.value / spec.market_eur) if turnover_y.value is not None
             else Figure(None, turnover_y.why)) if spec.market_eur else None,
            share(sum(p.submitted_on <= due_y for p in those), len(those)) if due_y else None,
            share(sum(meets(p) for p in those), len(those)),
            magnitude({p.company_id: float(len(p.findings)) for p in those})))
    # a target is judged on the coverage of its own year (not known before that year's report)
    reached = {t.year: t.coverage.value for t in trend if t.coverage and t.coverage.value}
    targets = [(by, target, reached[by] >= target if by in reached else None)
               for by, target in sorted(spec.targets.items())]
    return Report(covenant.name, year, len(this), sum(p.reviewed for p in this), turnover,
                  coverage, targets, due, on_time, meeting, by_rule, by_theme, tables, shares,
                  trend, policy is not None, withheld,
                  {r: t for p in this for r, t in p.titles.items()}, tuple(spec.blocking),
                  framework.categories[0].name if framework else None,
                  framework.name if framework else None)


def _protect(table: Table, policy: Policy | None, last_year: frozenset[Any] = frozenset()
             ) -> Protected:
    if policy is None:
        return Protected({k: sum(table.contributions(k).values()) for k in table.entries()})
    return protect(table, policy, last_year)


def _covenant_table(name: str, spec: ProgressTable, plans: list[PlanSummary], year: int,
                    policy: Policy | None
                    ) -> tuple[Protected, tuple[str, ...], tuple[str, ...]]:
    """The table of the year, its suppression pattern following the earlier years' (each
    year's protected in turn, from the first)."""
    pattern: frozenset[Any] = frozenset()
    protected = Protected({})
    rows: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    for y in sorted({p.year for p in plans if p.year <= year}):
        cells: dict[tuple[str, str], dict[str, float]] = {}
        for p in plans:
            if p.year == y:
                for key, value in p.tables.get(name, {}).items():
                    cells.setdefault(key, {})[p.company_id] = value
        rows = tuple(sorted({r for r, _ in cells}))
        columns = tuple(sorted({c for _, c in cells}))
        protected = _protect(Table(rows, columns, cells), policy, pattern)
        pattern = protected.suppressed
    return protected, rows, columns
