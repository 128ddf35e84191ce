"""Rules domain, free of I/O and of the engine: what a rule says, how a plan becomes facts, and
how a match becomes a finding.

A plan is decomposed into facts, one per plan part (`policy`, each `risk`, each `location`, ...)
plus link facts for id lists (`action_risk`: one per action and risk it addresses), so that
joins are plain equalities. Each fact carries `kind` and the JSON `pointer` of its part.
"""

import string
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.shared.contracts import (
    Covenant,
    Finding,
    Localized,
    PlanSubmission,
    Reference,
    Severity,
)
from services.shared.contracts.errors import json_pointer
from services.shared.contracts.integrity import walk

# kind -> pattern of the plan parts that become facts of that kind
PARTS: dict[str, str] = {
    "submission": "submission",
    "company": "company",
    "policy": "policy",
    "governance": "governance",
    "scoping": "risk_assessment/scoping",
    "consultation": "risk_assessment/stakeholder_consultations/*",
    "risk": "risk_assessment/risks/*",
    "action": "actions/*",
    "kpi": "actions/*/kpis/*",
    "kpi_result": "tracking/kpi_results/*",
    "review": "tracking/effectiveness_reviews/*",
    "public_report": "communication/public_report",
    "mechanism": "grievance/mechanism",
    "case": "grievance/cases/*",
    "remediation": "remediation/*",
    "response": "previous_findings_responses/*",
    "attachment": "attachments/*",
    "textile": "textile",
    "location": "textile/production_locations/*",
    "theme": "textile/themes/*",
    "raw_material": "textile/raw_materials/*",
    "banking": "banking",
    "portfolio": "banking/portfolio",
    "client": "banking/clients/*",
    "financing": "banking/financings/*",
    "sector_policy": "banking/sensitive_sector_policies/*",
}
# link kind -> (kind of the parent part, its id-list field, name of the single id in the link)
LINKS: dict[str, tuple[str, str, str]] = {
    "action_risk": ("action", "risk_ids", "risk_id"),
    "risk_location": ("risk", "location_ids", "location_id"),
    "remediation_risk": ("remediation", "risk_ids", "risk_id"),
}
FACT_KINDS = frozenset(PARTS) | frozenset(LINKS)
# the engine's own identity fields: a payload field with these names corrupts its state
ENGINE_RESERVED = frozenset({"id", "sid"})


# --- rule specifications (the YAML files are these models) ----------------------------------

Op = Literal["==", "!=", "<", "<=", ">", ">=", "in", "not_in", "missing", "present"]


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(Spec):
    field: str
    op: Op
    value: Any = None


class AllOf(Spec):
    all: list["Test"]


class AnyOf(Spec):
    any: list["Test"]


Test = Annotated[Condition | AllOf | AnyOf, Field(union_mode="left_to_right")]


class Absence(Spec):
    """No fact of `part` satisfying `where` (and joined by `join`) may exist."""

    part: str
    join: dict[str, str] = Field(default_factory=dict)  # its field -> matched part's field
    where: list[Test] = Field(default_factory=list)


class Match(Spec):
    part: str
    where: list[Test] = Field(default_factory=list)
    without: Absence | None = None


class RuleSpec(Spec):
    id: str = Field(pattern=r"^[A-Z0-9]+(-[A-Z0-9]+)+$")
    version: int = Field(ge=1)
    title: Localized
    scope: list[Covenant] = Field(min_length=1)
    severity: Severity
    references: list[Reference] = Field(min_length=1)
    when: Match
    message: Localized
    guidance: Localized


@dataclass(frozen=True)
class RuleBook:
    """The rules in force, with a version that changes with their content."""

    rules: tuple[RuleSpec, ...]
    version: str

    def in_scope(self, covenant: Covenant) -> list[RuleSpec]:
        return [r for r in self.rules if covenant in r.scope]

    def by_id(self) -> dict[str, RuleSpec]:
        return {r.id: r for r in self.rules}


# --- facts ------------------------------------------------------------------------------

def facts_of(
    plan: PlanSubmission, negated_first: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """The plan as engine facts; kinds that rules negate come first (the engine's negation is
    decided when the positive fact arrives, so the negated facts must already be there)."""
    document = plan.to_json_dict()
    facts = [*_part_facts(document), *_link_facts(document)]
    as_of = plan.submission.submitted_at.date().isoformat()
    for f in facts:
        f["as_of"] = as_of
    return sorted(facts, key=lambda f: f["kind"] not in negated_first)


def _part_facts(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for kind, pattern in PARTS.items():
        for path, part in walk(document, pattern):
            yield _fact(kind, path, part)


def _link_facts(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for kind, (parent, id_list, single) in LINKS.items():
        for path, part in walk(document, PARTS[parent]):
            base = _fact(kind, path, part)
            base.pop(id_list, None)
            for i, value in enumerate(part.get(id_list, [])):
                # the element's own pointer keeps every fact unique: the engine refuses a
                # second fact with the same content (a plan may list one id twice)
                yield {**base, single: value, "pointer": json_pointer((*path, id_list, i))}


def _fact(kind: str, path: tuple[str | int, ...], part: dict[str, Any]) -> dict[str, Any]:
    fields = {
        k: v for k, v in part.items()
        if not (isinstance(v, list) and v and isinstance(v[0], dict))  # nested parts: own facts
    }
    for reserved in ENGINE_RESERVED & fields.keys():
        fields[f"{reserved}_"] = fields.pop(reserved)
    return {**fields, "kind": kind, "pointer": json_pointer(path)}


# --- findings ---------------------------------------------------------------------------

class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def render(text: str, matched: dict[str, Any]) -> str:
    """Fill `{field}` placeholders from the matched fact; unknown fields show as `?`."""
    values = _Blank({k: ", ".join(map(str, v)) if isinstance(v, list) else v
                     for k, v in matched.items()})
    return string.Formatter().vformat(text, (), values)


def finding_of(rule: RuleSpec, matched: dict[str, Any]) -> Finding:
    return Finding(
        rule_id=rule.id,
        rule_version=rule.version,
        severity=rule.severity,
        title=rule.title,
        message=Localized(nl=render(rule.message.nl, matched), en=render(rule.message.en, matched)),
        guidance=rule.guidance,
        references=rule.references,
        pointers=[matched["pointer"]],
    )


def ordered(findings: list[Finding]) -> list[Finding]:
    """Worst first, then by rule and pointer; one finding per rule and pointer."""
    unique = {(f.rule_id, tuple(f.pointers)): f for f in findings}
    return sorted(unique.values(), key=Finding.sort_key)


def as_of(plan: PlanSubmission) -> date:
    return plan.submission.submitted_at.date()
