"""Rules: one `SubmissionAccepted` in, one `AssessmentCompleted` out."""

import uuid
from dataclasses import dataclass, field, replace
from functools import partial

from pydantic import TypeAdapter

from services.rules.adapters.signals import NoSignalRegister
from services.rules.core.domain import as_of
from services.rules.core.prior import Prior, StoredAssessment
from services.rules.ports import AssessmentHistory, Engine, EvaluationError, SignalRegister
from services.shared.contracts import (
    AssessmentCompleted,
    Finding,
    PlanSubmission,
    PreviousAssessment,
    Severity,
    SubmissionAccepted,
)
from services.shared.messaging.handling import (
    Delivery,
    Outcome,
    Outgoing,
    PermanentFailure,
    decode,
)
from services.shared.metrics import ServiceMetrics

ACCEPTED = TypeAdapter(SubmissionAccepted)
_ASSESSMENT_NAMESPACE = uuid.UUID("0b9a4f8e-3c1d-4e5f-8a7b-6c5d4e3f2a10")


def previous_assessment(stored: StoredAssessment | None) -> PreviousAssessment | None:
    if stored is None:
        return None
    severities = [Severity(f["severity"]) for f in stored.findings]
    return PreviousAssessment(
        submission_id=stored.submission_id, reporting_year=stored.reporting_year,
        counts={s: severities.count(s) for s in Severity},
        finding_ids=[f["finding_id"] for f in stored.findings])


def assessment_of(plan: PlanSubmission, findings: list[Finding], prior: Prior, engine: Engine,
                  **envelope: str) -> AssessmentCompleted:
    """The event for a plan's findings: who the company is, what the previous assessment
    found, and when its next plan is due (the covenant calendar)."""
    return AssessmentCompleted(
        **envelope,
        submission_id=plan.submission.submission_id,
        covenant=plan.covenant,
        reporting_year=plan.submission.reporting_year,
        company_id=plan.company.company_id,
        company_name=plan.company.legal_name,
        language=plan.submission.language,
        contacts=plan.company.contacts,
        ruleset_version=engine.ruleset_version,
        as_of=as_of(plan),
        findings=findings,
        previous=previous_assessment(prior.previous),
        next_plan_due_on=engine.due_on(plan.covenant, plan.submission.reporting_year + 1),
    )


@dataclass
class RulesHandler:
    engine: Engine
    history: AssessmentHistory
    metrics: ServiceMetrics
    # an unreadable register raises: the message is retried with backoff, as on a database error
    signals: SignalRegister = field(default_factory=NoSignalRegister)

    def __call__(self, delivery: Delivery) -> Outcome:
        accepted = decode(ACCEPTED, delivery, "submission.accepted")
        plan = accepted.plan
        prior = replace(self.history.prior(plan), signals=self.signals.forwarded(
            plan.company.company_id, plan.covenant))
        try:
            findings = self.engine.evaluate(plan, prior)
        except EvaluationError as e:
            raise PermanentFailure(str(e)) from None
        version = self.engine.ruleset_version
        # one assessment per accepted event and rule set: a redelivery carries the same id
        assessment = assessment_of(
            plan, findings, prior, self.engine, correlation_id=accepted.correlation_id,
            message_id=str(uuid.uuid5(_ASSESSMENT_NAMESPACE, f"{accepted.message_id}:{version}")))
        counts = {s.value: n for s, n in assessment.counts().items() if n}
        for severity, n in counts.items():
            self.metrics.findings.labels(severity).inc(n)
        # remembered once the broker has the assessment: a redelivery records it again, harmlessly
        remember = partial(self.history.record, plan, findings, version)
        return Outcome("assessed", [Outgoing.of(assessment)], after_publish=remember, log={
            "submission_id": assessment.submission_id, "covenant": plan.covenant,
            "ruleset_version": version, "findings": counts,
        })
