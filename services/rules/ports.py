"""What the rules service needs from the outside world."""

from typing import Protocol

from services.shared.contracts import Finding, PlanSubmission

from .history import Prior, Signal


class Engine(Protocol):
    """Evaluates one plan against the rule set in force."""

    @property
    def ruleset_version(self) -> str: ...

    def evaluate(self, plan: PlanSubmission, prior: Prior | None = None) -> list[Finding]:
        """The plan's findings in deterministic order, knowing the company's earlier plans;
        raises EvaluationError when the rule set cannot evaluate this plan."""
        ...


class SignalRegister(Protocol):
    """The secretariat's register of signals (reports about listed locations) it forwarded to
    companies, for DD6-COVENANT-SIGNALS-FOLLOWED-UP."""

    def forwarded(self, company_id: str, covenant: str) -> tuple[Signal, ...]:
        """The signals forwarded to the company under the covenant; raises OSError or
        ValueError when the register cannot be read (the message names no signal)."""
        ...


class EvaluationError(Exception):
    """A rule or the engine failed on a plan. The message names the rule, never plan data."""
