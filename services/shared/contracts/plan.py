"""The plan submission `irbc-plan/1.0`: a common core plus one covenant's section.

Follows reference.md section 6. The core is these models: every object refuses unknown fields,
strings are trimmed, country codes are upper-cased before they are checked against ISO 3166-1
alpha-2. A covenant's section (`textile`, `banking`, ...) is JSON as its definition's schema
describes it (rules/covenants/<name>/extension.schema.yaml), checked in `extensions.py` and
carried beside the core (`PlanSubmission.section`). Checks that span objects (ids unique per
collection, references resolving, the section matching the covenant) live in `integrity.py` so
that each error can name the exact JSON pointer.
"""

from collections.abc import Callable, Mapping
from datetime import date
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    StringConstraints,
    model_serializer,
    model_validator,
)
from pydantic.config import JsonDict
from pydantic_core import PydanticCustomError

from services.shared import covenants
from services.shared.covenants import Covenants

from .countries import ISO_3166_ALPHA2
from .vocab import (
    ActionStatus,
    ActionType,
    ApprovedBy,
    CaseChannel,
    CaseStatus,
    Expertise,
    Hazard,
    Involvement,
    Language,
    Lever,
    MechanismAudience,
    MechanismChannel,
    MechanismType,
    Party,
    PolicyScope,
    RemediationStatus,
    ResponseStatus,
    RiskStatus,
    ScopeLevel,
    SizeClass,
    Source,
    StakeholderType,
    Standard,
    TrainingAudience,
)

PLAN_SCHEMA = "irbc-plan/1.0"


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _known_country(code: str) -> str:
    if code not in ISO_3166_ALPHA2:
        raise PydanticCustomError("unknown_country", "'{code}' is not an ISO 3166-1 alpha-2 "
                                  "country code", {"code": code[:10]})
    return code


def _ascii_address(address: str) -> str:
    """Letters go out over plain SMTP, which carries ASCII addresses only (RFC 5321; the
    SMTPUTF8 extension is not offered by every relay). An internationalised domain has an
    ASCII form (IDNA, "xn--..."); a non-ASCII local part has none."""
    if not address.isascii():
        raise PydanticCustomError("address_not_ascii", "the address has characters outside "
                                  "ASCII; give its ASCII form (for a domain with accents its "
                                  "xn-- form)")
    if not address.isprintable():
        raise PydanticCustomError("address_control_characters",
                                  "the address has control characters")
    return address


def _known_covenant(name: str) -> str:
    if not covenants.known(name):
        raise PydanticCustomError("unknown_covenant", "'{covenant}' is not a covenant; known "
                                  "are: {known}", {"covenant": name[:40],
                                                   "known": ", ".join(covenants.names())})
    return name


def _covenant_names(schema: JsonDict) -> None:
    """The JSON Schema of `submission.covenant`: the covenants defined (see covenants.py)."""
    schema["enum"] = [*covenants.names()]


def _any_covenants(what: str, noun: str, vocabulary: str,
                   labels: Callable[[], Mapping[str, Any]]) -> tuple[Any, Any]:
    """A value every covenant declares its own of (a theme, a raw material): the contract
    takes any covenant's, integrity.py checks that it is the plan's covenant's."""
    def known(value: str) -> str:
        if value not in labels():
            raise PydanticCustomError(f"unknown_{what}",
                                      f"'{{{what}}}' is not a {noun} of any covenant",
                                      {what: value[:60]})
        return value

    def schema(node: JsonDict) -> None:
        node["enum"] = list[Any](sorted(labels()))
        node["x-vocabulary"] = vocabulary

    return AfterValidator(known), Field(json_schema_extra=schema)


CountryCode = Annotated[
    str,
    BeforeValidator(_upper),
    StringConstraints(min_length=2, max_length=2),
    AfterValidator(_known_country),
    Field(json_schema_extra={"x-vocabulary": "country"}),
]
Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/\-]*$")
]
ShortText = Annotated[str, StringConstraints(max_length=500)]
LongText = Annotated[str, StringConstraints(max_length=20_000)]
Url = Annotated[str, StringConstraints(max_length=2048, pattern=r"^https?://\S+$")]
LanguageCode = Annotated[
    str, BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v),
    StringConstraints(pattern=r"^[a-z]{2,3}$"),
    Field(json_schema_extra={"x-vocabulary": "language"}),
]
NaceCode = Annotated[str, StringConstraints(pattern=r"^[A-U](\d{2}(\.\d{1,2})?)?$")]
EmailAddress = Annotated[
    str, StringConstraints(max_length=254, pattern=r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$"),
    AfterValidator(_ascii_address),
]
# asked for every theme and material a plan names: made once for the covenants in use
Theme = Annotated[str, *_any_covenants(
    "theme", "theme", "theme", lambda: covenants.derived("themes", Covenants.theme_labels))]
Material = Annotated[str, *_any_covenants(
    "material", "raw material", covenants.MATERIAL,
    lambda: covenants.derived("materials", Covenants.material_labels))]
CovenantName = Annotated[str, AfterValidator(_known_covenant)]
# Numbers are finite (Part refuses NaN and infinity) and bounded, so that what ingest accepts
# the rules engine can carry: JSON numbers beyond these lose precision or overflow there.
MAX_AMOUNT = 1e15  # euros: a thousand times the largest balance sheet in the covenants
MAX_COUNT = 2**53 - 1  # the largest integer a JSON number carries exactly
Percentage = Annotated[float, Field(ge=0, le=100, json_schema_extra={"x-vocabulary": "percent"})]
Score = Annotated[int, Field(ge=1, le=5)]
Year = Annotated[int, Field(ge=2000, le=2100)]
Euros = Annotated[float, Field(ge=0, le=MAX_AMOUNT, json_schema_extra={"x-vocabulary": "euros"})]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]


class Part(BaseModel):
    """Base of every object in a plan: unknown fields refused, strings trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


# --- submission and company ---------------------------------------------------------------


class Period(Part):
    start: date
    end: date


class Submission(Part):
    submission_id: Identifier
    covenant: CovenantName = Field(json_schema_extra=_covenant_names)
    reporting_year: Year
    plan_period: Period
    submitted_at: AwareDatetime
    previous_submission_id: Identifier | None = None
    supersedes_submission_id: Identifier | None = None
    language: Language = Language.NL


class Contact(Part):
    """Who at the company receives the assessment. Never logged."""

    email: EmailAddress
    name: ShortText | None = None
    role: ShortText | None = None


class Company(Part):
    company_id: Identifier
    legal_name: ShortText
    kvk_number: Annotated[str, StringConstraints(pattern=r"^\d{8}$")] | None = None
    lei: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{20}$")] | None = None
    joined_on: date
    size_class: SizeClass
    agt_category: Annotated[str, StringConstraints(pattern=r"^[ABC]$")] | None = None
    employees: Count | None = None
    turnover_eur: Euros | None = None
    nl_turnover_eur: Euros | None = None
    contacts: list[Contact] = Field(default_factory=list, max_length=20)


# --- policy and governance (DDG step 1) ---------------------------------------------------


class Communication(Part):
    audience: Party
    method: ShortText | None = None
    languages: list[LanguageCode] = Field(default_factory=list)


class Policy(Part):
    exists: bool
    document_ref: ShortText | None = None
    public_url: Url | None = None
    approved_by: ApprovedBy | None = None
    approved_on: date | None = None
    last_reviewed_on: date | None = None
    standards_referenced: list[Standard] = Field(default_factory=list)
    scope: list[PolicyScope] = Field(default_factory=list)
    expectations_of: list[Party] = Field(default_factory=list)
    themes_covered: list[Theme] = Field(default_factory=list)
    expertise_consulted: list[Expertise] = Field(default_factory=list)
    communicated_to: list[Communication] = Field(default_factory=list)


class Training(Part):
    audience: TrainingAudience
    year: Year
    share_trained_pct: Percentage


class Governance(Part):
    oversight_body: ShortText | None = None
    oversight_reviews_per_year: Count | None = None
    accountable_role: ShortText | None = None
    dd_fte: Annotated[float, Field(ge=0)] | None = None
    dd_budget_eur: Euros | None = None
    training: list[Training] = Field(default_factory=list)


# --- risk assessment (DDG step 2) ---------------------------------------------------------


class Scoping(Part):
    performed_on: date
    method: LongText | None = None
    sources: list[Source] = Field(default_factory=list)
    countries: list[CountryCode] = Field(default_factory=list)
    sectors: list[NaceCode] = Field(default_factory=list)
    materials: list[Material] = Field(default_factory=list)


class StakeholderConsultation(Part):
    consultation_id: Identifier
    date: date
    stakeholder_type: StakeholderType
    organisation: ShortText | None = None
    topics: list[Theme] = Field(default_factory=list)
    countries: list[CountryCode] = Field(default_factory=list)


class Severity(Part):
    scale: Score
    scope: Score
    irremediability: Score


class Closure(Part):
    on: date
    reason: ShortText


class Risk(Part):
    risk_id: Identifier
    theme: Theme
    description: LongText | None = None
    scope_level: ScopeLevel
    countries: list[CountryCode] = Field(default_factory=list)
    location_ids: list[Identifier] = Field(default_factory=list)
    materials: list[Material] = Field(default_factory=list)
    client_refs: list[Identifier] = Field(default_factory=list)
    financing_ids: list[Identifier] = Field(default_factory=list)
    tier: Annotated[int, Field(ge=0, le=5)] | None = None
    hazards: list[Hazard] = Field(default_factory=list)
    status: RiskStatus
    involvement: Involvement
    severity: Severity
    likelihood: Score
    prioritised: bool = False
    priority_rank: Annotated[int, Field(ge=1)] | None = None
    prioritisation_rationale: LongText | None = None
    collaboration_rationale: LongText | None = None
    identified_on: date
    sources: list[Source] = Field(default_factory=list)
    closed: Closure | None = None


class RiskAssessment(Part):
    scoping: Scoping
    stakeholder_consultations: list[StakeholderConsultation] = Field(default_factory=list)
    risks: list[Risk] = Field(default_factory=list)


# --- actions and tracking (DDG steps 3 and 4) ---------------------------------------------


class Measurement(Part):
    value: float
    on: date


class Kpi(Part):
    kpi_id: Identifier
    indicator: ShortText
    unit: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    baseline: Measurement | None = None
    target: Measurement | None = None


class Collaboration(Part):
    initiative: ShortText
    partners: list[ShortText] = Field(default_factory=list)


class Disengagement(Part):
    prior_action_ids: list[Identifier] = Field(default_factory=list)
    impact_assessed: bool = False
    notice_days: Count | None = None


class Action(Part):
    action_id: Identifier
    risk_ids: list[Identifier] = Field(default_factory=list)
    type: ActionType
    levers: list[Lever] = Field(default_factory=list)
    description: LongText | None = None
    owner_role: ShortText | None = None
    start_on: date | None = None
    due_on: date | None = None
    status: ActionStatus
    status_updated_on: date | None = None
    collaboration: Collaboration | None = None
    kpis: list[Kpi] = Field(default_factory=list)
    disengagement: Disengagement | None = None


class KpiResult(Part):
    kpi_id: Identifier
    value: float
    measured_on: date
    source: ShortText | None = None


class EffectivenessReview(Part):
    date: date
    method: ShortText | None = None
    stakeholder_feedback: bool = False
    summary: LongText | None = None


class Tracking(Part):
    kpi_results: list[KpiResult] = Field(default_factory=list)
    effectiveness_reviews: list[EffectivenessReview] = Field(default_factory=list)
    lessons_learned: LongText | None = None


# --- communication (DDG step 5) -----------------------------------------------------------


class PublicReport(Part):
    url: Url | None = None
    published_on: date | None = None
    period_covered: Year | None = None
    covers_risk_ids: list[Identifier] = Field(default_factory=list)
    covers_themes: list[Theme] = Field(default_factory=list)
    framework: ShortText | None = None


class CommunicationSection(Part):
    public_report: PublicReport | None = None


# --- grievance and remediation (DDG step 6) -----------------------------------------------


class EffectivenessEvidence(Part):
    """Self-assessment against the eight criteria of UNGP 31."""

    legitimate: LongText | None = None
    accessible: LongText | None = None
    predictable: LongText | None = None
    equitable: LongText | None = None
    transparent: LongText | None = None
    rights_compatible: LongText | None = None
    continuous_learning: LongText | None = None
    engagement_dialogue: LongText | None = None


class Mechanism(Part):
    exists: bool
    type: MechanismType | None = None
    provider: ShortText | None = None
    accessible_to: list[MechanismAudience] = Field(default_factory=list)
    coverage_pct_locations: Percentage | None = None
    channels: list[MechanismChannel] = Field(default_factory=list)
    languages: list[LanguageCode] = Field(default_factory=list)
    anonymous_allowed: bool = False
    non_retaliation_commitment: bool = False
    procedure_url: Url | None = None
    response_time_days: Count | None = None
    effectiveness_evidence: EffectivenessEvidence | None = None


class GrievanceCase(Part):
    """A case carries no personal data by design: no names, no contact details."""

    case_id: Identifier
    received_on: date
    channel: CaseChannel
    signal_ref: Identifier | None = None
    theme: Theme
    location_ids: list[Identifier] = Field(default_factory=list)
    financing_ids: list[Identifier] = Field(default_factory=list)
    status: CaseStatus
    last_update_on: date | None = None
    closed_on: date | None = None
    outcome: ShortText | None = None


class Grievance(Part):
    mechanism: Mechanism
    cases: list[GrievanceCase] = Field(default_factory=list)


class Remediation(Part):
    remediation_id: Identifier
    risk_ids: list[Identifier] = Field(default_factory=list)
    case_ids: list[Identifier] = Field(default_factory=list)
    description: LongText | None = None
    status: RemediationStatus
    provided_on: date | None = None


class FindingResponse(Part):
    finding_id: Identifier
    response: LongText
    action_ids: list[Identifier] = Field(default_factory=list)
    status: ResponseStatus


class Attachment(Part):
    attachment_id: Identifier
    title: ShortText
    media_type: Annotated[str, StringConstraints(pattern=r"^[\w.+-]+/[\w.+-]+$")]
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


# --- the whole plan -----------------------------------------------------------------------

def _extension_matches_covenant(schema: JsonDict) -> None:
    """A plan carries its covenant's section and no other covenant's (JSON Schema for upstream
    systems; ingest checks it in parsing.py), each covenant's as its definition says; the
    published schema adds each section's own (schemas.py)."""
    registry = covenants.current()
    schema["allOf"] = [_only_its_extension(c.name, c.extension,
                                           sorted(registry.extensions - {c.extension}))
                       for c in registry]


def _only_its_extension(covenant: str, extension: str, others: list[str]) -> JsonDict:
    then: JsonDict = {"required": [extension]}
    if others:
        then["not"] = {"anyOf": [{"required": [other]} for other in others]}
    return {"if": {"properties": {"submission": {"properties": {"covenant": {"const": covenant}}}}},
            "then": then}


_CORE_ONLY = "core_only"  # a serialisation context: the core without the sections


class PlanSubmission(Part):
    """A company's annual plan of action, as upstream systems publish it."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        allow_inf_nan=False,
        title="irbc-plan/1.0",
        json_schema_extra=_extension_matches_covenant,
    )

    schema_: Literal["irbc-plan/1.0"] = Field(alias="schema")
    submission: Submission
    company: Company
    policy: Policy
    governance: Governance
    risk_assessment: RiskAssessment
    actions: list[Action] = Field(default_factory=list)
    tracking: Tracking = Field(default_factory=Tracking)
    communication: CommunicationSection = Field(default_factory=CommunicationSection)
    grievance: Grievance
    remediation: list[Remediation] = Field(default_factory=list)
    previous_findings_responses: list[FindingResponse] = Field(default_factory=list)
    attachments: list[Attachment] = Field(default_factory=list)
    # the covenants' own sections (`textile`, `banking`, ...): JSON as their definitions'
    # schemas describe it, checked by parsing.validate_plan (extensions.py), carried as is
    _sections: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _split_sections(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        """The members naming a covenant's section are kept aside; the rest is the core."""
        if not isinstance(data, dict):
            return handler(data)
        known = covenants.current().extensions
        plan = handler({k: v for k, v in data.items() if k not in known})
        plan._sections = {k: v for k, v in data.items() if k in known and v is not None}
        return plan

    @model_serializer(mode="wrap")
    def _with_sections(self, handler: SerializerFunctionWrapHandler,
                       info: SerializationInfo) -> dict[str, Any]:
        if isinstance(info.context, dict) and info.context.get(_CORE_ONLY):
            return handler(self)
        return {**handler(self), **self._sections}

    @property
    def covenant(self) -> str:
        return self.submission.covenant

    @property
    def sections(self) -> dict[str, Any]:
        """The covenants' sections the plan carries, by name (its own, once it is valid)."""
        return dict(self._sections)

    def section(self, name: str) -> Any:
        """One covenant section's JSON; None when the plan has none of that name."""
        return self._sections.get(name)

    def with_sections(self, sections: dict[str, Any]) -> "PlanSubmission":
        """The plan with these sections instead (the checked, normalised ones)."""
        plan = self.model_copy()
        plan._sections = dict(sections)
        return plan

    def to_json_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready data under its wire names, without absent optionals."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def read_only_json(self) -> dict[str, Any]:
        """As `to_json_dict`, but the sections are the plan's own (already JSON, as checked),
        not copies: for reading, never for changing. The rules read a bank's million
        financings without walking them once more."""
        core = self.model_dump(mode="json", by_alias=True, exclude_none=True,
                               context={_CORE_ONLY: True})
        return {**core, **self._sections}
