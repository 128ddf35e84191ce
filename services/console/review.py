"""The secretariat's review of one assessment, free of I/O.

Per automatic finding the secretariat confirms it, dismisses it (a reason is required) or
confirms it with another severity (a reason is required); it can add findings of its own, each
citing a provision, and write remarks to the company. Every change is saved at once as a draft;
finalising needs a verdict on every finding and makes the review final. A final review changes
only after it is reopened, which starts a new round; every change is kept in the review's
history (adapters), so nothing changes silently.

What a final review confirms (`confirmed`) is what the company is told in the feedback letter
and what next year's cross-year rules read as `prev_findings`; until a review is final the
automatic findings stand in.
"""

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Any

from services.shared import i18n
from services.shared.contracts import Contact, Finding, ReviewFinalised, Severity
from services.shared.contracts.messages import SECRETARIAT_RULE

MAX_TEXT = 4000  # characters in a reason, remark or added finding's text


class Verdict(StrEnum):
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


class State(StrEnum):
    DRAFT = "draft"
    FINAL = "final"


class ReviewError(ValueError):
    """A change the review refuses; `code` is worded for the reader by the console."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    severity: Severity | None = None  # another severity than the rule's; None keeps it
    reason: str = ""


@dataclass(frozen=True)
class Added:
    """A finding of the secretariat's own, in the company's language."""

    finding_id: str
    title: str
    message: str
    severity: Severity
    instrument: str
    locator: str


@dataclass(frozen=True)
class Review:
    submission_id: str
    state: State = State.DRAFT
    round: int = 1  # 1 until reopened; each reopening starts the next
    revision: int = 0  # every saved change; a change based on an older revision is refused
    decisions: Mapping[str, Decision] = field(default_factory=dict)
    added: tuple[Added, ...] = ()
    remarks: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "submission_id": self.submission_id, "state": self.state.value,
            "round": self.round, "revision": self.revision, "remarks": self.remarks,
            "decisions": {k: {"verdict": d.verdict.value,
                              "severity": d.severity.value if d.severity else None,
                              "reason": d.reason} for k, d in self.decisions.items()},
            "added": [{"finding_id": a.finding_id, "title": a.title, "message": a.message,
                       "severity": a.severity.value, "instrument": a.instrument,
                       "locator": a.locator} for a in self.added],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Review":
        return cls(
            submission_id=data["submission_id"], state=State(data["state"]),
            round=int(data["round"]), revision=int(data["revision"]),
            remarks=data.get("remarks", ""),
            decisions={k: Decision(Verdict(d["verdict"]),
                                   Severity(d["severity"]) if d.get("severity") else None,
                                   d.get("reason", "")) for k, d in data["decisions"].items()},
            added=tuple(Added(a["finding_id"], a["title"], a["message"],
                              Severity(a["severity"]), a["instrument"], a["locator"])
                        for a in data.get("added", ())),
        )

    def undecided(self, finding_ids: Iterable[str]) -> list[str]:
        return [f for f in finding_ids if f not in self.decisions]


def _text(value: str) -> str:
    text = " ".join(value.split()) if "\n" not in value else value.strip()
    if len(text) > MAX_TEXT:
        raise ReviewError("too_long")
    return text


def _draft(review: Review) -> None:
    if review.state is State.FINAL:
        raise ReviewError("final")


def decide(review: Review, finding_ids: Iterable[str], finding_id: str, verdict: Verdict,
           severity: Severity | None, reason: str) -> Review:
    """A verdict on one automatic finding. `severity` other than the finding's own changes it;
    dismissing and changing the severity need a reason."""
    _draft(review)
    if finding_id not in set(finding_ids):
        raise ReviewError("unknown_finding")
    reason = _text(reason)
    if verdict is Verdict.DISMISSED:
        severity = None
    if (verdict is Verdict.DISMISSED or severity is not None) and not reason:
        raise ReviewError("reason_required")
    decisions = {**review.decisions, finding_id: Decision(verdict, severity, reason)}
    return replace(review, decisions=decisions, revision=review.revision + 1)


def confirm_rest(review: Review, finding_ids: Iterable[str]) -> Review:
    """Confirms every finding that has no verdict yet, as the rules found it."""
    _draft(review)
    rest = review.undecided(finding_ids)
    decisions = {**review.decisions, **{f: Decision(Verdict.CONFIRMED) for f in rest}}
    return replace(review, decisions=decisions, revision=review.revision + 1)


def citable(covenant: str) -> list[str]:
    """The instruments a finding on this covenant's plan may cite: the general ones and the
    covenant's own."""
    return [name for name in i18n.instruments()
            if i18n.instrument_covenant(name) in (None, covenant)]


def add(review: Review, covenant: str, title: str, message: str, severity: Severity,
        instrument: str, locator: str) -> Review:
    """A finding of the secretariat's own; it must cite a provision of an instrument that
    applies to the covenant."""
    _draft(review)
    title, message, locator = _text(title), _text(message), _text(locator)
    if not (title and message):
        raise ReviewError("text_required")
    if instrument not in citable(covenant) or not locator:
        raise ReviewError("provision_required")
    digest = hashlib.sha256(f"{review.submission_id}:{review.round}:{len(review.added)}:"
                            f"{title}".encode()).hexdigest()[:16]
    added = Added(f"secretariat-{digest}", title, message, severity, instrument, locator)
    return replace(review, added=(*review.added, added), revision=review.revision + 1)


def remove_added(review: Review, finding_id: str) -> Review:
    _draft(review)
    kept = tuple(a for a in review.added if a.finding_id != finding_id)
    if len(kept) == len(review.added):
        raise ReviewError("unknown_finding")
    return replace(review, added=kept, revision=review.revision + 1)


def write_remarks(review: Review, remarks: str) -> Review:
    _draft(review)
    return replace(review, remarks=_text(remarks), revision=review.revision + 1)


def finalise(review: Review, finding_ids: Iterable[str]) -> Review:
    _draft(review)
    if review.undecided(finding_ids):
        raise ReviewError("undecided")
    return replace(review, state=State.FINAL, revision=review.revision + 1)


def reopen(review: Review) -> Review:
    if review.state is not State.FINAL:
        raise ReviewError("not_final")
    return replace(review, state=State.DRAFT, round=review.round + 1,
                   revision=review.revision + 1)


def preview(findings: list[dict[str, Any]], review: Review) -> list[dict[str, Any]]:
    """What would stand if the review were finalised now: findings without a verdict yet
    count as confirmed."""
    undecided = {f: Decision(Verdict.CONFIRMED) for f in review.undecided(
        f["finding_id"] for f in findings)}
    return confirmed(findings, replace(review, decisions={**review.decisions, **undecided}))


def confirmed(findings: list[dict[str, Any]], review: Review) -> list[dict[str, Any]]:
    """The findings the review confirms, as findings (the shape of `Finding`): the automatic
    ones not dismissed, with a changed severity and its reason where changed, then the added
    ones; worst first."""
    kept = []
    for finding in findings:
        decision = review.decisions.get(finding["finding_id"])
        if decision is None or decision.verdict is Verdict.DISMISSED:
            continue
        if decision.severity is not None and decision.severity.value != finding["severity"]:
            reason = {"nl": decision.reason, "en": decision.reason}
            finding = {**finding, "severity": decision.severity.value,
                       "severity_reason": reason}
        kept.append(finding)
    for a in review.added:
        kept.append({
            "finding_id": a.finding_id, "rule_id": SECRETARIAT_RULE, "rule_version": 1,
            "severity": a.severity.value, "title": {"nl": a.title, "en": a.title},
            "message": {"nl": a.message, "en": a.message}, "guidance": {"nl": "", "en": ""},
            "references": [{"instrument": a.instrument, "locator": a.locator}],
            "pointers": [], "severity_reason": None,
        })
    return sorted(kept, key=lambda f: (Severity(f["severity"]).rank, f["rule_id"],
                                       f["finding_id"]))


_FEEDBACK_NAMESPACE = uuid.UUID("6f1d3c52-8a47-4e0b-9f57-2b1f6f0c9e11")


def feedback(review: Review, plan: Mapping[str, Any], findings: list[dict[str, Any]],
             next_plan_due_on: date | None) -> ReviewFinalised:
    """The event of a final review, for notify's feedback letter. Its message id follows from
    the submission and the round: however often it is published, the company gets one letter
    per finalisation."""
    if review.state is not State.FINAL:
        raise ReviewError("not_final")
    submission, company = plan["submission"], plan["company"]
    kept = confirmed(findings, review)
    automatic = sum(1 for f in findings
                    if (d := review.decisions.get(f["finding_id"])) is not None
                    and d.verdict is Verdict.DISMISSED)
    return ReviewFinalised(
        message_id=str(uuid.uuid5(_FEEDBACK_NAMESPACE,
                                  f"{review.submission_id}:{review.round}")),
        correlation_id=review.submission_id, submission_id=review.submission_id,
        covenant=submission["covenant"], reporting_year=submission["reporting_year"],
        company_id=company["company_id"], company_name=company["legal_name"],
        language=submission["language"],
        contacts=[Contact.model_validate(c) for c in company.get("contacts", [])],
        round=review.round, findings=[Finding.model_validate(f) for f in kept],
        dismissed=automatic, remarks=review.remarks, next_plan_due_on=next_plan_due_on)
