"""Message contracts: the plan submission and the events between the services."""

from .errors import FieldError
from .messages import (
    DEAD_LETTER_EXCHANGE,
    EVENTS_EXCHANGE,
    PLANS_EXCHANGE,
    AssessmentCompleted,
    Event,
    Finding,
    Localized,
    NotificationDelivered,
    PreviousAssessment,
    RecipientRole,
    Reference,
    RejectionReason,
    ReviewFinalised,
    Severity,
    SignalForwarded,
    SubmissionAccepted,
    SubmissionRejected,
    plan_routing_key,
    plan_routing_key_for,
)
from .parsing import PlanInvalid, content_digest, load_json, parse_plan, validate_plan
from .plan import PLAN_SCHEMA, Contact, PlanSubmission
from .vocab import Language

__all__ = [
    "DEAD_LETTER_EXCHANGE",
    "EVENTS_EXCHANGE",
    "PLANS_EXCHANGE",
    "PLAN_SCHEMA",
    "AssessmentCompleted",
    "Contact",
    "Event",
    "FieldError",
    "Finding",
    "Language",
    "Localized",
    "NotificationDelivered",
    "PlanInvalid",
    "PlanSubmission",
    "PreviousAssessment",
    "RecipientRole",
    "Reference",
    "RejectionReason",
    "ReviewFinalised",
    "Severity",
    "SignalForwarded",
    "SubmissionAccepted",
    "SubmissionRejected",
    "content_digest",
    "load_json",
    "parse_plan",
    "plan_routing_key",
    "plan_routing_key_for",
    "validate_plan",
]
