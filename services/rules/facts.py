"""From a plan to engine facts.

One fact per plan part (`policy`, each `risk`, each `location`, ...), link facts for id lists
(`action_risk`: one per action and risk it addresses) so that joins are plain equalities, the
reference facts (`country`, `dol_good`, `calendar`, `nace_chain`) and one `measure` fact per
measuring rule. Every fact carries `kind`, the JSON `pointer` of its part, the submission date
(`as_of`, `as_of_day`) and, next to every date field, its age in days at the submission date
(`<field>__age_days`). Empty texts and lists are left out, so "missing" covers them too; fields
named like the engine's identity fields (`id`, `sid`) are renamed.
"""

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

from services.shared.contracts import PlanSubmission
from services.shared.contracts.errors import json_pointer
from services.shared.contracts.integrity import walk

from .compiler import AGE
from .evaluator import all_hold, lookup
from .history import Prior
from .language import RuleSpec

Fact = dict[str, Any]

# kind -> pattern of the plan parts that become facts of that kind
PARTS: dict[str, str] = {
    "submission": "submission",
    "company": "company",
    "policy": "policy",
    "governance": "governance",
    "training": "governance/training/*",
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
    "purchasing": "textile/purchasing_practices",
    "banking": "banking",
    "portfolio": "banking/portfolio",
    "sector_exposure": "banking/portfolio/by_sector/*",
    "country_exposure": "banking/portfolio/by_country/*",
    "client": "banking/clients/*",
    "engagement": "banking/clients/*/engagements/*",
    "financing": "banking/financings/*",
    "sector_policy": "banking/sensitive_sector_policies/*",
    "reporting": "banking/reporting",
}
# link kind -> (kind of the parent part, its list field, name of the single value in the link)
LINKS: dict[str, tuple[str, str, str]] = {
    "action_risk": ("action", "risk_ids", "risk_id"),
    "risk_location": ("risk", "location_ids", "location_id"),
    "risk_country": ("risk", "countries", "country"),
    "risk_client": ("risk", "client_refs", "client_ref"),
    "risk_financing": ("risk", "financing_ids", "financing_id"),
    "remediation_risk": ("remediation", "risk_ids", "risk_id"),
    "location_product": ("location", "product_types", "product_type"),
    "material_origin": ("raw_material", "origin_countries", "country"),
    "financing_country": ("financing", "countries", "country"),
    "financing_chain": ("financing", "value_chains", "value_chain"),
    "report_risk": ("public_report", "covers_risk_ids", "risk_id"),
    "report_theme": ("public_report", "covers_themes", "theme"),
    "policy_theme": ("policy", "themes_covered", "theme"),
    "scoping_country": ("scoping", "countries", "country"),
}
# kind -> {list field added to its facts: pattern of the values inside the part}
PROJECTIONS: dict[str, dict[str, str]] = {
    "policy": {"communicated_audiences": "communicated_to/*/audience"},
}
# links across parts, derived before the engine runs (its negation covers one part only):
# kpi_theme = a KPI and each theme of the risks its action addresses
DERIVED_KINDS = frozenset({"kpi_theme"})
# nested kind -> (parent kind, the parent's id copied onto each nested fact, to join on)
PARENT_KEYS: dict[str, tuple[str, str]] = {
    "kpi": ("action", "action_id"),
    "engagement": ("client", "client_ref"),
}
REFERENCE_KINDS = frozenset({"country", "dol_good", "calendar", "nace_chain", "covenant_theme",
                             "chain_exposure"})
# parts of the previous accepted plan, named prev_<kind>; their pointers start with /previous
PRIOR_PARTS: dict[str, str] = {
    "prev_submission": "submission",
    "prev_risk": "risk",
    "prev_action": "action",
    "prev_location": "location",
}
PRIOR_KINDS = frozenset(PRIOR_PARTS) | {"prev_finding", "history", "same_year"}
FACT_KINDS = (frozenset(PARTS) | frozenset(LINKS) | REFERENCE_KINDS | PRIOR_KINDS
              | DERIVED_KINDS | {"measure"})
ENGINE_RESERVED = frozenset({"id", "sid"})
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def plan_facts(plan: PlanSubmission, kinds: frozenset[str] | None = None) -> list[Fact]:
    """The plan's facts, of the given kinds only (all kinds without `kinds`)."""
    document = plan.to_json_dict()
    as_of = plan.submission.submitted_at.date()
    wanted = FACT_KINDS if kinds is None else kinds
    facts = [*_part_facts(document, wanted), *_link_facts(document, wanted)]
    if "kpi_theme" in wanted:
        facts += _kpi_themes(document)
    return [stamp(f, as_of, plan.covenant.value) for f in facts]


def _kpi_themes(document: dict[str, Any]) -> Iterator[Fact]:
    themes = {r["risk_id"]: r["theme"] for _, r in walk(document, PARTS["risk"])}
    for a, action in walk(document, PARTS["action"]):
        for theme in sorted({themes[r] for r in action.get("risk_ids", []) if r in themes}):
            for k, kpi in enumerate(action.get("kpis", [])):
                yield {"kind": "kpi_theme", "kpi_id": kpi["kpi_id"], "action_id":
                       action["action_id"], "theme": theme,
                       "pointer": json_pointer((*a, "kpis", k))}


def stamp(fact: Fact, as_of: date, covenant: str) -> Fact:
    """Adds the covenant, the submission date and date ages, in place; returns the fact."""
    _add_ages(fact, as_of)
    fact["covenant"] = covenant
    fact["as_of"] = as_of.isoformat()
    fact["as_of_day"] = as_of.toordinal()
    return fact


def _add_ages(node: dict[str, Any], as_of: date) -> None:
    for key, value in list(node.items()):
        if isinstance(value, str) and _DATE.match(value):
            node[key + AGE] = (as_of - date.fromisoformat(value)).days
        elif isinstance(value, dict):
            _add_ages(value, as_of)


def _part_facts(document: dict[str, Any], wanted: frozenset[str]) -> Iterator[Fact]:
    for kind, pattern in PARTS.items():
        if kind not in wanted:
            continue
        parent = PARENT_KEYS.get(kind)
        if parent is None:
            yield from (make_fact(kind, path, part) for path, part in walk(document, pattern))
            continue
        parent_kind, key = parent
        for parent_path, parent_part in walk(document, PARTS[parent_kind]):
            child_pattern = pattern.removeprefix(PARTS[parent_kind] + "/")
            for path, part in walk(parent_part, child_pattern):
                yield {**make_fact(kind, (*parent_path, *path), part), key: parent_part[key]}


def _link_facts(document: dict[str, Any], wanted: frozenset[str]) -> Iterator[Fact]:
    for kind, (parent, field, single) in LINKS.items():
        if kind not in wanted:
            continue
        for path, part in walk(document, PARTS[parent]):
            base = make_fact(kind, path, part)
            base.pop(field, None)
            for i, value in enumerate(part.get(field, [])):
                # the element's own pointer keeps every fact unique: the engine refuses a
                # second fact with the same content (a plan may list one id twice)
                yield {**base, single: value, "pointer": json_pointer((*path, field, i))}


def make_fact(kind: str, path: tuple[str | int, ...], part: dict[str, Any]) -> Fact:
    fields = {k: v for k, v in part.items() if not _nested_parts(v) and v not in ("", [])}
    for name, pattern in PROJECTIONS.get(kind, {}).items():
        values = [v for _, v in walk(part, pattern)]
        if values:
            fields[name] = values
    for reserved in ENGINE_RESERVED & fields.keys():
        fields[f"{reserved}_"] = fields.pop(reserved)
    return {**fields, "kind": kind, "pointer": json_pointer(path)}


def _nested_parts(value: Any) -> bool:
    """Lists of objects become facts of their own."""
    return isinstance(value, list) and bool(value) and isinstance(value[0], dict)


# --- memory across years ------------------------------------------------------------------

def prior_facts(prior: Prior, as_of: date, covenant: str) -> list[Fact]:
    """The company's history as facts: `history` (plans accepted before), `same_year` (other
    accepted plans for this reporting year), and the previous plan's parts and findings."""
    facts: list[Fact] = [{"kind": "history", "accepted_plans": prior.accepted_before,
                          "pointer": "/submission"}] if prior.known else []
    facts += [{"kind": "same_year", "submission_id": sid, "pointer": "/submission"}
              for sid in prior.same_year]
    if prior.previous is not None:
        document = prior.previous.plan
        for kind, part in PRIOR_PARTS.items():
            for path, value in walk(document, PARTS[part]):
                facts.append(make_fact(kind, ("previous", *path), value))
        facts += [{"kind": "prev_finding", "finding_id": f["finding_id"], "rule_id": f["rule_id"],
                   "severity": f["severity"], "pointer": f"/previous/findings/{i}"}
                  for i, f in enumerate(prior.previous.findings)]
    return [stamp(f, as_of, covenant) for f in facts]


# --- measures ---------------------------------------------------------------------------

def grouped(facts: list[Fact]) -> dict[str, list[Fact]]:
    """The facts by kind, in their order."""
    by_kind: dict[str, list[Fact]] = {}
    for f in facts:
        by_kind.setdefault(f["kind"], []).append(f)
    return by_kind


def measure_facts(rules: list[RuleSpec], facts: list[Fact], as_of: date) -> list[Fact]:
    """One `measure` fact per measuring rule whose population is not empty."""
    by_kind = grouped(facts)
    found = []
    for rule in rules:
        m = rule.match.measure
        if m is None:
            continue
        population = [f for f in by_kind.get(m.of, []) if all_hold(rule, m.where, f)]
        value = _measure(rule, population)
        if value is not None:
            pointer = _collection_pointer(m.of)
            found.append(stamp({"kind": "measure", "rule": rule.id, "value": value,
                                "count": len(population), "pointer": pointer}, as_of,
                               population[0]["covenant"]))
    return found


def _measure(rule: RuleSpec, population: list[Fact]) -> float | None:
    m = rule.match.measure
    assert m is not None

    def quantity(facts: list[Fact], field: str | None) -> float:
        if field is None:
            return float(len(facts))
        return float(sum(v for f in facts if isinstance(v := lookup(f, field), int | float)))

    if m.share_where is not None:
        whole = quantity(population, m.sum)
        part = quantity([f for f in population if all_hold(rule, m.share_where, f)], m.sum)
        return part / whole if whole else None
    if m.divide_by is not None:
        whole = quantity(population, m.divide_by)
        return quantity(population, m.sum) / whole if whole else None
    return quantity(population, m.sum) if population else None


def _collection_pointer(kind: str) -> str:
    pattern = PARTS.get(kind) or PARTS[LINKS[kind][0]]
    return "/" + pattern.split("/*")[0]
