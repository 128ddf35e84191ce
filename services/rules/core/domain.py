"""Rules domain, free of I/O and of the engine: the rule book in force, and how a match
becomes a finding."""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.rules.core.language import Escalation, RuleSpec
from services.rules.core.reference import ReferenceData
from services.shared.contracts import Covenant, Finding, Localized, PlanSubmission

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")


@dataclass(frozen=True)
class RuleBook:
    """The rules and reference data in force, with a version that changes with their content."""

    rules: tuple[RuleSpec, ...]
    version: str
    reference: ReferenceData = field(default_factory=ReferenceData.empty)

    def in_scope(self, covenant: Covenant) -> list[RuleSpec]:
        return [r for r in self.rules if covenant in r.scope and not r.disabled]

    def by_id(self) -> dict[str, RuleSpec]:
        return {r.id: r for r in self.rules}


@dataclass(frozen=True)
class Match:
    """What the engine matched for one rule: the part, and the parts joined by `with`."""

    rule: RuleSpec
    fact: dict[str, Any]
    joined: dict[str, dict[str, Any]]  # alias -> fact
    escalation: Escalation | None = None  # the raised severity that applies, if any
    alternative: int = 0  # which of the rule's `when` alternatives matched

    def values(self) -> dict[str, Any]:
        """Placeholder values: `field`, `nested.field`, `alias.field`, `param.name`."""
        flat = _flat(self.fact)
        for alias, fact in self.joined.items():
            flat.update(_flat(fact, f"{alias}."))
        flat.update(_flat(self.rule.parameters, "param."))
        return flat

    def pointers(self) -> list[str]:
        """The matched part's and the `with` parts' pointers (not those of the parts that only
        raised the severity: the finding is the same finding, only more severe)."""
        aliases = [j.alias for j in self.rule.matches[self.alternative].with_]
        found = [self.fact["pointer"], *(self.joined[a]["pointer"] for a in aliases
                                         if a in self.joined)]
        return [p for p in dict.fromkeys(found) if p]


def _flat(node: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in node.items():
        flat[prefix + key] = value
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
    return flat


def render(text: str, values: dict[str, Any]) -> str:
    """Fill `{field}`, `{alias.field}` and `{param.name}` placeholders; unknown ones show `?`."""

    def value(m: re.Match[str]) -> str:
        v = values.get(m.group(1), "?")
        if isinstance(v, float):
            return f"{v:.2f}".rstrip("0").rstrip(".")
        return ", ".join(map(str, v)) if isinstance(v, list) else str(v)

    return _PLACEHOLDER.sub(value, text)


def finding_id(submission_id: str, rule_id: str, pointers: list[str], text: str) -> str:
    """Stable for the same plan, rule, parts and wording; the wording tells apart findings
    about things a plan lacks (a missing theme has no part of the plan to point at)."""
    key = "|".join([submission_id, rule_id, *pointers, text])
    return f"F-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def finding_of(match: Match, submission_id: str) -> Finding:
    rule, values, pointers = match.rule, match.values(), match.pointers()
    text = rule.message_of(match.alternative)
    message = Localized(nl=render(text.nl, values), en=render(text.en, values))
    escalation = match.escalation
    return Finding(
        finding_id=finding_id(submission_id, rule.id, pointers, message.en),
        rule_id=rule.id,
        rule_version=rule.version,
        severity=escalation.severity if escalation else rule.severity,
        severity_reason=Localized(nl=render(escalation.reason.nl, values),
                                  en=render(escalation.reason.en, values))
        if escalation else None,
        title=rule.title,
        message=message,
        guidance=rule.guidance,
        references=rule.references,
        pointers=pointers,
    )


def ordered(findings: list[Finding]) -> list[Finding]:
    """Worst first, then by rule, pointers and id; a match reported twice counts once, at the
    highest severity it was reported with (an escalation and the plain rule both match)."""
    unique: dict[str, Finding] = {}
    for f in sorted(findings, key=Finding.sort_key):
        unique.setdefault(f.finding_id, f)
    return sorted(unique.values(), key=Finding.sort_key)


def as_of(plan: PlanSubmission) -> date:
    return plan.submission.submitted_at.date()
