"""Rules domain, free of I/O and of the engine: the rule book in force, and how a match
becomes a finding."""

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

from services.rules.core.language import Escalation, RuleSpec
from services.rules.core.presenting import presentation
from services.rules.core.reference import ReferenceData
from services.rules.core.vocabulary import stable_key
from services.shared import covenants, i18n
from services.shared.contracts import Finding, Localized, PlanSubmission
from services.shared.covenants import Covenants

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")


@dataclass(frozen=True)
class RuleBook:
    """The rules and reference data in force, with a version that changes with their content."""

    rules: tuple[RuleSpec, ...]
    version: str
    reference: ReferenceData = field(default_factory=ReferenceData.empty)
    covenants: Covenants = field(default_factory=covenants.current)  # those the rules serve
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # rule id ->
    # parameters set for every covenant, over the covenants' own (a rule test case's)

    def in_scope(self, covenant: str) -> list[RuleSpec]:
        """The rules in force for the covenant's plans, each with the parameters the covenant
        sets (its definition's `rules.parameters`) over the rule file's defaults."""
        return list(self._scoped.get(covenant, ()))

    def by_id(self) -> dict[str, RuleSpec]:
        """Every rule as its file has it (the defaults of its parameters)."""
        return {r.id: r for r in self.rules}

    def of_covenant(self, covenant: str) -> dict[str, RuleSpec]:
        """The rules in force for the covenant, by id, as `in_scope` gives them."""
        return {r.id: r for r in self._scoped.get(covenant, ())}

    @cached_property
    def _scoped(self) -> dict[str, tuple[RuleSpec, ...]]:
        return {c.name: tuple(with_parameters(r, {**c.parameters(r.id),
                                                  **self.overrides.get(r.id, {})},
                                              c.severity(r.id))
                              for r in self.rules if c.name in r.scope and not r.disabled)
                for c in self.covenants}


def with_parameters(rule: RuleSpec, chosen: Mapping[str, Any],
                    severity: str | None = None) -> RuleSpec:
    """The rule with some parameters set otherwise, and its severity, if given (the rule
    itself when nothing is set)."""
    update: dict[str, Any] = {"parameters": {**rule.parameters, **chosen}} if chosen else {}
    if severity is not None and severity != rule.severity:
        update["severity"] = severity
    return rule.model_copy(update=update) if update else rule


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

    def keys(self) -> list[str]:
        """The stable keys of the matched part and the `with` parts (see `pointers`)."""
        aliases = [j.alias for j in self.rule.matches[self.alternative].with_]
        return [stable_key(self.fact), *(stable_key(self.joined[a]) for a in aliases
                                         if a in self.joined)]

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


def render(text: str, values: dict[str, Any], shown: Callable[[str], str] = lambda _: "text",
           language: Any = "en") -> str:
    """Fill `{field}`, `{alias.field}` and `{param.name}` placeholders, each shown as
    `shown(name)` says (`presenting.presentation`) in the reader's language; unknown ones show
    `?`."""

    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        return i18n.show(values.get(name), shown(name), language)

    return _PLACEHOLDER.sub(value, text)


def localized(text: Localized, values: dict[str, Any], shown: Callable[[str], str]
              ) -> Localized:
    """Both languages; a sentence that opens with a value opens with a capital."""

    def sentence(template: str, language: str) -> str:
        done = render(template, values, shown, language)
        return done[:1].upper() + done[1:] if template.startswith("{") else done

    return Localized(nl=sentence(text.nl, "nl"), en=sentence(text.en, "en"))


_SHOWN: dict[tuple[int, int], tuple[RuleSpec, dict[str, str]]] = {}


def _shown(rule: RuleSpec, alternative: int) -> Callable[[str], str]:
    """The presentation of each placeholder of the rule's alternative, worked out once."""
    cached = _SHOWN.get((id(rule), alternative))
    if cached is None or cached[0] is not rule:
        if len(_SHOWN) > 10_000:  # rule books replaced by many reloads
            _SHOWN.clear()
        cached = _SHOWN[(id(rule), alternative)] = (rule, {})
    known = cached[1]

    def shown(name: str) -> str:
        if name not in known:
            known[name] = presentation(rule, alternative, name)
        return known[name]

    return shown


def finding_id(owner: str, rule_id: str, keys: list[str]) -> str:
    """The same for the same company, rule and parts from one year to the next: `owner` is
    the covenant and company, `keys` the stable keys of the matched part and the parts joined
    with it (`vocabulary.stable_key`: `location:L-07`, `risk:R-03`, `policy`, ...)."""
    key = "|".join([owner, rule_id, *keys])
    return f"F-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def owner_of(plan: PlanSubmission) -> str:
    return f"{plan.covenant}/{plan.company.company_id}"


def finding_of(match: Match, owner: str) -> Finding:
    rule, values, pointers = match.rule, match.values(), match.pointers()
    shown = _shown(rule, match.alternative)
    escalation = match.escalation
    return Finding(
        finding_id=finding_id(owner, rule.id, match.keys()),
        rule_id=rule.id,
        rule_version=rule.version,
        severity=escalation.severity if escalation else rule.severity,
        severity_reason=localized(escalation.reason, values, shown) if escalation else None,
        title=rule.title,
        message=localized(rule.message_of(match.alternative), values, shown),
        guidance=rule.guidance,
        references=i18n.cited(rule.references, match.fact.get("covenant")),
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
