"""Console decisions, free of I/O: who may see what, and the figures of a covenant's year.

Access is decided once, here, and every query the adapters make is narrowed by it (`Scope`):
a secretariat user of one covenant reads nothing of another, a company user nothing of
another company. Whatever is out of scope is "not found", never "forbidden": a guessed id
tells nothing about what exists.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from services.rules.core.framework import (
    Framework,
    ScoreSheet,
    Standing,
    membership_year,
    score,
)
from services.shared.contracts import Severity


class Role(StrEnum):
    SECRETARIAT = "secretariat"  # of one covenant or of all
    AUDITOR = "auditor"  # reads what a secretariat reads, changes nothing
    COMPANY = "company"  # its own company's assessments and letters only


@dataclass(frozen=True)
class User:
    username: str
    role: Role
    covenant: str | None  # None: every covenant (secretariat, auditor)
    company_id: str | None  # a company user's company
    language: str

    def scope(self) -> "Scope":
        return Scope(self.covenant, self.company_id if self.role is Role.COMPANY else None)


@dataclass(frozen=True)
class Scope:
    """What a user may read: one covenant or all, and for a company user one company."""

    covenant: str | None
    company_id: str | None

    def allows(self, covenant: str, company_id: str | None = None) -> bool:
        if self.covenant is not None and covenant != self.covenant:
            return False
        return self.company_id is None or company_id == self.company_id


def valid_account(role: Role, covenant: str | None, company_id: str | None) -> str | None:
    """Why an account cannot be made as given; None when it can."""
    if role is Role.COMPANY and not (company_id and covenant):
        return "a company account needs --company and --covenant"
    if role is not Role.COMPANY and company_id:
        return "only a company account belongs to a company"
    return None


@dataclass(frozen=True)
class Assessed:
    """One assessed plan as the console lists it."""

    submission_id: str
    covenant: str
    company_id: str
    company_name: str
    reporting_year: int
    submitted_on: date
    counts: dict[Severity, int]
    finding_ids: tuple[str, ...] = ()
    joined_year: int | None = None  # when the company joined the covenant
    language: str = "nl"  # the company's, which its letters and the review's texts are in
    answers: frozenset[str] = frozenset()  # earlier findings its previous_findings_responses
    # answer
    automatic: tuple[Standing, ...] = ()  # the rules' findings
    reviewed: tuple[Standing, ...] | None = None  # what a final review confirmed

    @property
    def standing(self) -> tuple[Standing, ...]:
        """The findings that stand: a final review's, else the rules'."""
        return self.automatic if self.reviewed is None else self.reviewed

    def sheet(self, framework: Framework | None, criteria: Mapping[str, Severity],
              standing: Iterable[Standing] | None = None) -> ScoreSheet | None:
        """The score sheet of the standing findings (or of `standing`); None without a
        framework for the covenant."""
        if framework is None:
            return None
        year = membership_year(self.reporting_year, self.joined_year or self.reporting_year)
        return score(framework, criteria, self.standing if standing is None else standing,
                     year)


@dataclass
class Row:
    """A company's line in a covenant's year: its plan (if any) and last year's."""

    company_id: str
    company_name: str
    plan: Assessed | None
    previous: Assessed | None
    status: str  # "on_time", "late", "missing"
    change: dict[Severity, int] = field(default_factory=dict)


def year_overview(assessed: list[Assessed], year: int, due_on: date | None) -> list[Row]:
    """Every company with a plan this year or last: on time, late (after the covenant
    calendar's due date) or missing, with its findings by severity and the change from its
    previous plan."""
    latest: dict[tuple[str, int], Assessed] = {}
    for a in sorted(assessed, key=lambda a: (a.submitted_on, a.submission_id)):
        latest[(a.company_id, a.reporting_year)] = a  # a superseding plan counts
    companies = {c for c, y in latest if y in (year, year - 1)}
    rows = []
    for company in companies:
        plan, previous = latest.get((company, year)), latest.get((company, year - 1))
        status = "missing" if plan is None else (
            "late" if due_on is not None and plan.submitted_on > due_on else "on_time")
        change = {s: plan.counts.get(s, 0) - previous.counts.get(s, 0) for s in Severity} \
            if plan and previous else {}
        name = (plan or previous).company_name  # type: ignore[union-attr]
        rows.append(Row(company, name, plan, previous, status, change))
    return sorted(rows, key=lambda r: (r.company_name.lower(), r.company_id))


def counts_of(findings: list[dict[str, Any]]) -> dict[Severity, int]:
    severities = [Severity(f["severity"]) for f in findings]
    return {s: severities.count(s) for s in Severity}


def answered(before: Assessed, plan: Assessed) -> tuple[int, int]:
    """(how many, of how many) findings that stood on the plan `before` the plan answers."""
    standing = {s.finding_id for s in before.standing}
    return len(standing & plan.answers), len(standing)


@dataclass(frozen=True)
class FollowUp:
    """One finding that stood on the previous plan, beside how this plan answers it."""

    finding_id: str
    rule_id: str
    title: dict[str, str]  # nl, en
    severity: Severity
    response: str | None  # the company's words; None: not answered
    status: str | None  # a ResponseStatus value
    actions: int


def follow_up(previous: list[dict[str, Any]], responses: list[dict[str, Any]]
              ) -> list[FollowUp]:
    """The previous plan's standing findings (a final review's, else the automatic ones),
    worst first, each with this plan's answer (`previous_findings_responses`)."""
    answers = {r["finding_id"]: r for r in responses}
    rows = []
    for f in sorted(previous, key=lambda f: (Severity(f["severity"]).rank, f["rule_id"],
                                             f["finding_id"])):
        answer = answers.get(f["finding_id"])
        rows.append(FollowUp(f["finding_id"], f["rule_id"], f["title"], Severity(f["severity"]),
                             answer["response"] if answer else None,
                             answer["status"] if answer else None,
                             len(answer.get("action_ids", [])) if answer else 0))
    return rows
