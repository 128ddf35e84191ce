"""Messages that cross the broker between the services, each next to its exchange and routing key.

Upstream systems publish the plan itself (`irbc-plan/1.0` JSON) to `PLANS_EXCHANGE` with
routing key `plan.<covenant>`; everything after that travels as one of the events below on
`EVENTS_EXCHANGE`. Events are past tense; every event has a schema version, a message id, the
correlation id of the upstream delivery and a timestamp.
"""

import json
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, ClassVar, Literal
from uuid import uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Discriminator, Field, TypeAdapter

from services.shared import covenants
from services.shared.covenants import Name as CovenantWord

from .errors import FieldError
from .plan import Contact, PlanSubmission
from .vocab import Language

PLANS_EXCHANGE = "irbc.plans"
EVENTS_EXCHANGE = "irbc.events"
DEAD_LETTER_EXCHANGE = "irbc.dlx"
UNKNOWN_COVENANT = "unknown"
MAX_ERRORS_CARRIED = 1000


def plan_routing_key(covenant: str) -> str:
    return f"plan.{covenant}"


def plan_routing_key_for(body: bytes) -> str:
    """`plan.<covenant>` as an upstream system would derive it; `plan.unknown` when the body
    names no known covenant (ingest then rejects it with the reasons)."""
    try:
        covenant = json.loads(body)["submission"]["covenant"]
    except (ValueError, KeyError, TypeError, RecursionError):
        covenant = None
    return plan_routing_key(covenant if covenants.known(covenant) else UNKNOWN_COVENANT)


def _word(covenant: str | None) -> str:
    """The covenant as a routing-key word; `unknown` when the payload did not say."""
    return covenant or UNKNOWN_COVENANT


def _now() -> datetime:
    return datetime.now(UTC)


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for the most severe; sorts findings worst first."""
        return list(Severity).index(self)


class Event(BaseModel):
    """Envelope fields every event carries."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    exchange: ClassVar[str] = EVENTS_EXCHANGE

    schema_version: Literal["1"] = "1"
    message_id: str = Field(default_factory=lambda: str(uuid4()))
    correlation_id: str
    occurred_at: AwareDatetime = Field(default_factory=_now)

    def routing_key(self) -> str:
        raise NotImplementedError


class SubmissionAccepted(Event):
    """A plan passed validation and goes on to be assessed."""

    type: Literal["submission.accepted"] = "submission.accepted"
    content_sha256: str
    plan: PlanSubmission

    def routing_key(self) -> str:
        return f"submission.accepted.{self.plan.covenant}"


class RejectionReason(StrEnum):
    INVALID = "invalid"
    TOO_LARGE = "too_large"
    CONFLICT = "conflict"
    UNAUTHORISED = "unauthorised"


class SubmissionRejected(Event):
    """A submission that cannot be assessed, with everything wrong with it.

    Identification fields are filled in as far as the payload allowed reading them."""

    type: Literal["submission.rejected"] = "submission.rejected"
    reason: RejectionReason
    errors: list[FieldError] = Field(max_length=MAX_ERRORS_CARRIED)
    errors_total: int
    submission_id: str | None = None
    covenant: CovenantWord | None = None
    company_id: str | None = None
    company_name: str | None = None
    language: Language = Language.NL
    contacts: list[Contact] = Field(default_factory=list)

    def routing_key(self) -> str:
        return f"submission.rejected.{_word(self.covenant)}"


class Localized(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    nl: str
    en: str

    def in_(self, language: Language | str) -> str:
        return self.nl if language == Language.NL else self.en


class Reference(BaseModel):
    """A provision a rule enforces, e.g. instrument `UNGP`, locator `16(a)`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instrument: str
    locator: str
    covenant: CovenantWord | None = Field(
        None, description="the one covenant this reference applies to; default: its "
                          "instrument's (its covenant's definition, rules/covenants/), none "
                          "for a general instrument")

    def __str__(self) -> str:
        return f"{self.instrument} {self.locator}"


class Finding(BaseModel):
    """One rule that fired on one part (or a joined set of parts) of a plan."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    finding_id: str = Field(description="Stable for the same submission, rule and parts; the "
                            "company answers it next year in previous_findings_responses")
    rule_id: str
    rule_version: int
    severity: Severity
    title: Localized
    message: Localized
    guidance: Localized
    references: list[Reference]
    pointers: list[str]
    severity_reason: Localized | None = Field(
        None, description="Why the severity is above the rule's own, when it is raised")

    def sort_key(self) -> tuple[int, str, tuple[str, ...], str]:
        return (self.severity.rank, self.rule_id, tuple(self.pointers), self.finding_id)


# the rule_id of a finding the secretariat added in its review (it cites a provision, has no rule)
SECRETARIAT_RULE = "SECRETARIAT"


class PreviousAssessment(BaseModel):
    """The company's previous accepted plan's assessment, as far as the letters need it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    submission_id: str
    reporting_year: int
    counts: dict[Severity, int]
    finding_ids: list[str] = Field(description="a finding of this assessment with one of "
                                   "these ids recurs (finding ids are stable across years)")


class CompanyFindings(Event):
    """What an event about one company's plan and its findings carries: the plan's
    identification, whom the company's letter goes to, the findings and the next due date."""

    submission_id: str
    covenant: CovenantWord
    reporting_year: int
    company_id: str
    company_name: str
    language: Language
    contacts: list[Contact]
    findings: list[Finding]
    next_plan_due_on: date | None = Field(
        None, description="when the company's next plan of action is due (covenant calendar)")

    def counts(self) -> dict[Severity, int]:
        return {s: sum(f.severity is s for f in self.findings) for s in Severity}


class AssessmentCompleted(CompanyFindings):
    """The findings of one rule-set version on one accepted plan."""

    type: Literal["assessment.completed"] = "assessment.completed"
    ruleset_version: str
    as_of: date
    previous: PreviousAssessment | None = Field(
        None, description="the assessment of the company's previous accepted plan, if any")

    def routing_key(self) -> str:
        return f"assessment.completed.{self.covenant}"

    def recurring(self) -> list[Finding]:
        """The findings that were made on the previous plan too (same rule, same parts)."""
        before = set(self.previous.finding_ids) if self.previous else set()
        return [f for f in self.findings if f.finding_id in before]


class ReviewFinalised(CompanyFindings):
    """The secretariat finalised its review of an assessment: the feedback the company gets.
    `findings` are the confirmed ones (with the secretariat's severities and its own findings);
    they are next year's `prev_findings`."""

    type: Literal["review.finalised"] = "review.finalised"
    round: int = Field(1, description="1 for the first finalisation; each reopening of the "
                       "review adds one, and its feedback replaces the earlier one")
    dismissed: int = Field(0, description="automatic findings the secretariat dismissed")
    remarks: str = ""

    def routing_key(self) -> str:
        return f"review.finalised.{self.covenant}"


class ListedLocation(BaseModel):
    """A location as the company's own plan listed it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    location_id: str
    name: str
    address: str | None = None
    city: str | None = None
    country: str


class SignalForwarded(Event):
    """The secretariat passes a signal (a report of an abuse at a listed location) to one
    company whose latest accepted plan lists the location. It carries what the company needs to
    respond (`signal_id` is the `grievance.cases[].signal_ref` its next plan cites), never who
    reported it. The summary is confidential: it goes to the companies that use the location,
    to nobody else, and never into a log."""

    type: Literal["signal.forwarded"] = "signal.forwarded"
    signal_id: str
    submission_id: str = Field(description="the company's plan that lists the location")
    covenant: CovenantWord
    company_id: str
    company_name: str
    language: Language
    contacts: list[Contact]
    received_on: date
    theme: str
    summary: str
    location: ListedLocation
    next_plan_due_on: date | None = Field(
        None, description="when the company's next plan of action is due (covenant calendar)")

    def routing_key(self) -> str:
        return f"signal.forwarded.{self.covenant}"


class RecipientRole(StrEnum):
    COMPANY = "company"
    SECRETARIAT = "secretariat"


class NotificationDelivered(Event):
    """A notification was handed to the mail system (SMTP accepted it, or the outbox holds it)."""

    type: Literal["notification.delivered"] = "notification.delivered"
    about: Literal["assessment", "rejection", "feedback", "signal"]
    submission_id: str | None
    covenant: CovenantWord | None
    recipient_role: RecipientRole
    channel: Literal["smtp", "outbox", "webhook"]
    message_ref: str

    def routing_key(self) -> str:
        return f"notification.delivered.{_word(self.covenant)}"


NotifyEvent = AssessmentCompleted | SubmissionRejected | ReviewFinalised | SignalForwarded
NOTIFY_INPUT: TypeAdapter[NotifyEvent] = TypeAdapter(
    Annotated[NotifyEvent, Discriminator("type")])
