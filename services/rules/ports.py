"""What the rules service needs from the outside world, and what the tooling needs from an
engine. Adapters implement these; the core and the tooling depend on them only."""

from datetime import date
from typing import Protocol

from services.rules.core.domain import RuleBook
from services.rules.core.facts import Fact
from services.rules.core.prior import Prior, Signal
from services.shared.contracts import Finding, PlanSubmission


class Engine(Protocol):
    """Evaluates one plan against the rule set in force."""

    @property
    def ruleset_version(self) -> str: ...

    def evaluate(self, plan: PlanSubmission, prior: Prior | None = None) -> list[Finding]:
        """The plan's findings in deterministic order, knowing the company's earlier plans;
        raises EvaluationError when the rule set cannot evaluate this plan."""
        ...

    def due_on(self, covenant: str, reporting_year: int) -> date | None:
        """When the covenant's plan for the reporting year is due (the covenant calendar of
        the reference data in force); None when the calendar does not say."""
        ...


class RuleEngine(Engine, Protocol):
    """An engine the policy tooling can look into: the rule book it runs, the facts it
    evaluates a plan with, and the `rule_outcome` facts of a first pass's findings."""

    @property
    def rulebook(self) -> RuleBook: ...

    def facts(self, plan: PlanSubmission, prior: Prior | None = None) -> list[Fact]: ...

    def outcome_facts(self, plan: PlanSubmission, findings: list[Finding]) -> list[Fact]: ...


class SignalRegister(Protocol):
    """The secretariat's register of signals (reports about listed locations) it forwarded to
    companies, for DD6-COVENANT-SIGNALS-FOLLOWED-UP."""

    def forwarded(self, company_id: str, covenant: str) -> tuple[Signal, ...]:
        """The signals forwarded to the company under the covenant; raises OSError or
        ValueError when the register cannot be read (the message names no signal)."""
        ...


class EvaluationError(Exception):
    """A rule or the engine failed on a plan. The message names the rule, never plan data."""


class AssessmentHistory(Protocol):
    def prior(self, plan: PlanSubmission) -> Prior: ...

    def record(self, plan: PlanSubmission, findings: list[Finding], ruleset_version: str) -> None:
        """Idempotent: recording the same submission again replaces it."""
        ...
