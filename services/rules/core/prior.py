"""Memory across years: what the rules know of a company's earlier plans (the `history`,
`same_year`, `prev_*` and `signal` facts are made from it). Where it comes from is a port
(`ports.AssessmentHistory`, `ports.SignalRegister`)."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StoredAssessment:
    submission_id: str
    reporting_year: int
    submitted_at: str
    plan: dict[str, Any]
    findings: list[dict[str, Any]]


@dataclass(frozen=True)
class Signal:
    """A report about a listed location that the secretariat forwarded to the company."""

    signal_ref: str
    forwarded_on: str  # YYYY-MM-DD


@dataclass(frozen=True)
class Prior:
    """What is known of the company's earlier plans. `known` is False where there is no
    history to ask (a company running `covenant check`): rules about history then stay quiet
    instead of assuming there were no earlier plans."""

    previous: StoredAssessment | None = None
    same_year: list[str] = field(default_factory=list)  # other accepted submission ids
    accepted_before: int = 0
    known: bool = False
    signals: tuple[Signal, ...] = ()  # forwarded to the company by the secretariat
