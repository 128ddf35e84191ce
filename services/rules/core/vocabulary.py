"""The parts a rule can match or join, declared once.

Each `Kind` says where its facts come from (a path in the plan, a list inside another part, the
reference data, the company's history, the engine), which fields they carry (for plan parts:
the submission schema's fields, read from its JSON Schema (`contracts/shapes.py`), plus the
computed ones declared here; for the others: declared here with their types), its id field
and whether the engine may spread its facts over several states. The fact builder
(`facts.py`), the loader and lint (is the part known, does the field exist, what type is it),
the rule-file JSON Schema (the part names), the sharding of large plans and the README's list
of parts are derived from `KINDS`; `tests/unit/test_vocabulary.py` checks the declared fields
against the facts the builder and the reference loader actually produce.

The operators are declared in `operators.py`. A new kind of part of the common core goes
here (and, when it does not come from the plan, where its facts are made: `facts.py` or
`reference.py`); a part of a covenant's section is declared in its definition (`parts`,
`links` in rules/covenants/<name>/covenant.yaml) and joins the kinds here, which follow the
covenants the process works with (`FollowsCovenants`); a new reference indicator is a row of
`rules/reference/` plus its field on `country` here.
"""

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any, Literal, TypeVar

import pydantic

from services.shared import cache as kept_work
from services.shared import contracts, covenants
from services.shared.contracts import PlanSubmission
from services.shared.contracts.integrity import walk
from services.shared.contracts.shapes import FieldType, Shape, shape_of
from services.shared.covenants import Covenant, Covenants
from services.shared.errors import did_you_mean

Source = Literal["plan", "link", "derived", "reference", "prior", "engine"]


@dataclass(frozen=True)
class Computed:
    """A field computed from a part's own values when its facts are made."""

    type: FieldType
    compute: Callable[[dict[str, Any]], Any]  # the part (as JSON) -> the value, None for none
    what: str


@dataclass(frozen=True)
class Kind:
    name: str
    what: str  # what one fact of this kind stands for, for the README
    source: Source
    path: str = ""  # plan: the parts' path in the submission ("actions/*/kpis/*")
    parent: str = ""  # link: the kind holding the list; prior: the current kind it copies;
    # plan: the kind it is nested in (its id is copied onto each fact, to join on)
    list_field: str = ""  # link: the parent's list that gives one fact per value
    value: str = ""  # link: the field holding that value
    id_field: str = ""  # the field that identifies a part of this kind within a plan
    fields: Mapping[str, FieldType] = field(default_factory=dict)  # not from the schema
    computed: Mapping[str, Computed] = field(default_factory=dict)
    annotated: Mapping[str, FieldType] = field(default_factory=dict)  # set from reference data
    projections: Mapping[str, str] = field(default_factory=dict)  # list field: values' path
    shardable: bool = False  # its facts belong to one part of a long list, named by that
    # part's id (see `SHARD_KEYS` and durable_engine.shards)
    names: str = ""  # link: the kind of the parts its values name (a risk's location_ids:
    # locations); its facts then belong to the part each names, where that kind is shardable
    key: tuple[str, ...] | None = None  # the fields that identify a part from one year to the
    # next (finding ids); default: its id field, nothing for a part a plan has once, else the
    # part's pointer
    vocabularies: Mapping[str, str] = field(default_factory=dict)  # field -> the vocabulary
    # of its values (i18n labels, "country", "language", "theme"), for fields not from the plan


# fields every fact carries
COMMON_FIELDS: Mapping[str, FieldType] = {
    "kind": "text", "pointer": "text", "as_of": "date", "as_of_day": "number", "covenant": "text"}

EVIDENCE_CRITERIA = ("legitimate", "accessible", "predictable", "equitable", "transparent",
                     "rights_compatible", "continuous_learning", "engagement_dialogue")
# contact data in free text: an e-mail address, or a telephone number (a + or 0 followed by at
# least 9 digits in all, with at most two of space ( ) . - between them: +62 812 3456 7890,
# 0031 6 1234 5678, 06-12345678, +31 (0)6 12345678; not a date like 01-02-2019). Detected
# here, not with `matches`: the engine's regular expressions refuse patterns this long
# (errors 501-504, tests/unit/test_rules_engine.py)
CONTACT_DATA = (
    ("email", re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("phone", re.compile(r"(?<![\w+])(?:\+|0)\d(?:[ ().-]{0,2}\d){8,}")),
)


def _severity_score(part: dict[str, Any]) -> int | None:
    severity = part.get("severity") or {}
    return max((v for k in ("scale", "scope", "irremediability")
                if isinstance(v := severity.get(k), int)), default=None)


def _nace(length: int, name: str) -> Callable[[dict[str, Any]], str | None]:
    return lambda part: (part.get(name) or "")[:length] or None


DIVISION = "the NACE division (the code's first three characters, `A01`)"
SECTION = "the NACE section (its first letter)"

_PLAN: list[Kind] = [
    Kind("submission", "the submission header", "plan", "submission", id_field="submission_id",
         computed={"start_year": Computed("number", lambda p: int(p["plan_period"]["start"][:4]),
                                          "the plan period's first year"),
                   "end_year": Computed("number", lambda p: int(p["plan_period"]["end"][:4]),
                                        "the plan period's last year")}),
    Kind("company", "the company", "plan", "company", id_field="company_id"),
    Kind("policy", "the policy commitment", "plan", "policy",
         projections={"communicated_audiences": "communicated_to/*/audience"}),
    Kind("communication", "one audience the policy was communicated to", "plan",
         "policy/communicated_to/*", key=("audience",)),
    Kind("governance", "governance and responsibilities", "plan", "governance"),
    Kind("training", "one training", "plan", "governance/training/*", key=("audience", "year")),
    Kind("scoping", "the scoping of the risk assessment", "plan", "risk_assessment/scoping"),
    Kind("consultation", "one stakeholder consultation", "plan",
         "risk_assessment/stakeholder_consultations/*", id_field="consultation_id"),
    Kind("risk", "one identified risk", "plan", "risk_assessment/risks/*", id_field="risk_id",
         computed={"severity_score": Computed(
             "number", _severity_score, "the highest of scale, scope and irremediability")}),
    Kind("action", "one action", "plan", "actions/*", id_field="action_id"),
    Kind("kpi", "one KPI of an action", "plan", "actions/*/kpis/*", parent="action",
         id_field="kpi_id"),
    Kind("kpi_result", "one reported KPI result", "plan", "tracking/kpi_results/*",
         key=("kpi_id", "measured_on")),
    Kind("review", "one effectiveness review", "plan", "tracking/effectiveness_reviews/*",
         key=("date",)),
    Kind("public_report", "the public report", "plan", "communication/public_report"),
    Kind("mechanism", "the grievance mechanism", "plan", "grievance/mechanism",
         computed={"evidence_missing": Computed(
             "number", lambda p: len([k for k in EVIDENCE_CRITERIA
                                      if not (p.get("effectiveness_evidence") or {}).get(k)]),
             "how many of the eight UNGP 31 criteria lack evidence")}),
    Kind("case", "one grievance case", "plan", "grievance/cases/*", id_field="case_id"),
    Kind("remediation", "one remediation", "plan", "remediation/*", id_field="remediation_id"),
    Kind("response", "one response to a previous finding", "plan",
         "previous_findings_responses/*", id_field="finding_id"),
    Kind("attachment", "one attachment", "plan", "attachments/*", id_field="attachment_id"),
]


def _link(name: str, parent: str, list_field: str, value: str, *, shardable: bool = False,
          computed: Mapping[str, Computed] | None = None, names: str = "") -> Kind:
    return Kind(name, f"one value of a {parent}'s `{list_field}`, with the {parent}'s fields",
                "link", parent=parent, list_field=list_field, value=value,
                computed=computed or {}, shardable=shardable, names=names)


def _remembered(part: str) -> Kind:
    """The part as the company's previous accepted plan has it."""
    return Kind(f"prev_{part}", f"the previous accepted plan's {part}", "prior", parent=part)


_LINKS: list[Kind] = [
    _link("action_risk", "action", "risk_ids", "risk_id"),
    _link("risk_location", "risk", "location_ids", "location_id", names="location"),
    _link("risk_country", "risk", "countries", "country"),
    _link("risk_client", "risk", "client_refs", "client_ref"),
    _link("risk_financing", "risk", "financing_ids", "financing_id", names="financing"),
    _link("risk_material", "risk", "materials", "material"),
    _link("remediation_risk", "remediation", "risk_ids", "risk_id"),
    _link("report_risk", "public_report", "covers_risk_ids", "risk_id"),
    _link("report_theme", "public_report", "covers_themes", "theme"),
    _link("policy_theme", "policy", "themes_covered", "theme"),
    _link("scoping_country", "scoping", "countries", "country"),
    _link("scoping_sector", "scoping", "sectors", "sector",
          computed={"division": Computed("text", _nace(3, "sector"), DIVISION)}),
    _link("communication_language", "communication", "languages", "language"),
    _link("mechanism_language", "mechanism", "languages", "language"),
]

_OTHERS: list[Kind] = [
    Kind("action_theme", "an action and one theme of the risks it addresses", "derived",
         fields={"action_id": "text", "type": "text", "theme": "text"},
         key=("action_id", "theme"), vocabularies={"type": "ActionType", "theme": "theme"}),
    Kind("kpi_theme", "a KPI and one theme of the risks its action addresses", "derived",
         fields={"kpi_id": "text", "action_id": "text", "theme": "text"},
         key=("kpi_id", "theme"), vocabularies={"theme": "theme"}),
    Kind("risk_material_country", "a risk and one (material, country) pair it names",
         "derived", fields={"risk_id": "text", "theme": "text", "material": "text",
                            "country": "text", "identified_on": "date", "closed": "flag"},
         key=("risk_id", "material", "country"),
         vocabularies={"theme": "theme", "material": "Material", "country": "country"}),
    Kind("free_text", "one free text of the plan (descriptions, summaries, outcomes, ...)",
         "derived", fields={"field": "text", "text": "text"},
         computed={"contact_data": Computed(
             "text", lambda p: next((name for name, pattern in CONTACT_DATA
                                     if pattern.search(p.get("text", ""))), None),
             "`email` or `phone` when the text seems to hold contact data")}),
    Kind("country", "a country the plan names, with its indicators, risk flags and main "
         "languages (CLDR)", "reference", id_field="country",
         fields={"country": "text", "ituc_rating": "number", "tip_tier": "text",
                 "wgi_rule_of_law_pct": "number", "conflict_affected": "flag",
                 "hr_freedom_of_association": "flag", "hr_child_labour": "flag",
                 "hr_forced_labour": "flag", "hr_general": "flag", "hr_any": "flag",
                 "languages": "list"},
         vocabularies={"country": "country", "languages": "language"}),
    Kind("dol_good", "a good the US DoL lists for a country the plan names", "reference",
         fields={"country": "text", "good": "text", "child_labour": "flag",
                 "forced_labour": "flag", "edition": "text"},
         key=("country", "good"), vocabularies={"country": "country", "good": "Good"}),
    Kind("calendar", "the covenant's deadline for the reporting year", "reference",
         fields={"covenant": "text", "reporting_year": "number", "due_on": "date",
                 "grace_days": "number", "days_late": "number"},
         key=("reporting_year",), vocabularies={"covenant": "Covenant"}),
    Kind("nace_chain", "a financing whose NACE code falls in a mapped value chain",
         "reference", shardable=True,
         fields={"financing_id": "text", "nace": "text", "client_ref": "text",
                 "value_chain": "text"},
         key=("financing_id", "value_chain"), vocabularies={"value_chain": "ValueChain"}),
    Kind("chain_exposure", "the bank's exposure to one value chain", "reference",
         fields={"value_chain": "text", "exposure_eur": "number"},
         key=("value_chain",), vocabularies={"value_chain": "ValueChain"}),
    Kind("covenant_theme", "one theme of the covenant", "reference", fields={"theme": "text"},
         key=("theme",), vocabularies={"theme": "theme"}),
    Kind("history", "how many of the company's plans were accepted before", "prior",
         fields={"accepted_plans": "number"}, key=()),
    Kind("same_year", "another accepted plan of the company for the reporting year", "prior",
         fields={"submission_id": "text"}, key=("submission_id",)),
    *(_remembered(kind) for kind in ("submission", "risk", "action", "kpi", "location")),
    Kind("prev_finding", "a finding on the previous accepted plan", "prior",
         fields={"finding_id": "text", "rule_id": "text", "severity": "text"},
         key=("finding_id",), vocabularies={"severity": "Severity"}),
    Kind("signal", "a signal the secretariat forwarded to the company", "prior",
         fields={"signal_ref": "text", "forwarded_on": "date"}, key=("signal_ref",)),
    Kind("measure", "a measure of a rule (a count, sum, share, min or max), per group with "
         "`group_by`", "engine",
         fields={"rule": "text", "value": "number", "count": "number", "group": "text"},
         key=("rule", "group")),
    Kind("rule_outcome", "whether another rule in force found something in this plan "
         "(rules that read it run after the others)", "engine",
         fields={"rule_id": "text", "fails": "flag"}, key=("rule_id",)),
]

V = TypeVar("V")
def _total(name: str) -> Callable[[dict[str, Any]], float | None]:
    """The sum of the numbers of an object field (gold's `source_mix_pct`); None without any."""
    def total(part: dict[str, Any]) -> float | None:
        values = [v for v in (part.get(name) or {}).values()
                  if isinstance(v, int | float) and not isinstance(v, bool)]
        return sum(values) if values else None
    return total


def _year(name: str) -> Callable[[dict[str, Any]], int | None]:
    """The year of a date field (an ISO date's first four digits); None without one."""
    def year(part: dict[str, Any]) -> int | None:
        value = part.get(name)
        return int(value[:4]) if isinstance(value, str) and value[:4].isdigit() else None
    return year


# a covenant part's `computed` (covenants.py): the field it is computed from -> (its type,
# how, what)
COMPUTATIONS: Mapping[str, Callable[[str], tuple[FieldType, Callable[[dict[str, Any]], Any],
                                                  str]]] = {
    "nace_division": lambda of: ("text", _nace(3, of), DIVISION),
    "nace_section": lambda of: ("text", _nace(1, of), SECTION),
    # the value of another field under this name: a section's own id (natural stone's
    # `site_id`) as the id the common rules join on (`location_id`)
    "same": lambda of: ("text", lambda part: part.get(of), f"its `{of}`"),
    "total": lambda of: ("number", _total(of), f"the sum of the numbers in its `{of}`"),
    # the year of a date (food's self-assessment, completed in the reporting year)
    "year": lambda of: ("number", _year(of), f"the year of its `{of}`"),
}


def _covenant_kinds(covenant: Covenant) -> list[Kind]:
    """The parts and links a covenant's definition declares for its section."""
    section = covenant.extension
    found = [Kind(name, part.what, "plan", "/".join(filter(None, (section, part.path))),
                  parent=part.parent or "", id_field=part.id or "",
                  computed={f: Computed(*COMPUTATIONS[c.compute](c.of))
                            for f, c in part.computed.items()},
                  annotated=dict(part.annotated), shardable=part.shardable,
                  key=tuple(part.key) if part.key is not None else None)
             for name, part in covenant.spec.parts.items()]
    found += [_remembered(name) for name, part in covenant.spec.parts.items() if part.remembered]
    found += [_link(name, link.parent, link.list, link.value, shardable=link.shardable,
                    names=link.names or "") for name, link in covenant.spec.links.items()]
    found += [Kind(name, listed.what, "reference", fields={**listed.fields, "edition": "text"},
                   key=tuple(listed.key), vocabularies=dict(listed.vocabularies))
              for name, listed in covenant.spec.reference.items()]
    return found


def _kinds_for(registry: Covenants, covenant: str | None) -> dict[str, Kind]:
    """The core's kinds and one covenant's; without a covenant, every covenant's (a name two
    covenants declare: the first's, for what only asks whether a part exists)."""
    found = {k.name: k for k in (*_PLAN, *_LINKS, *_OTHERS)}
    for c in registry:
        if covenant is None or c.name == covenant:
            for kind in _covenant_kinds(c):
                found.setdefault(kind.name, kind)
    return found


_PARTS_OF: ContextVar[str | None] = ContextVar("the covenant whose parts", default=None)


@contextmanager
def parts_of(covenant: str | None) -> Iterator[None]:
    """Read the kinds as one covenant declares them (a part name may stand for another list
    in each covenant's section: `location` for production locations or quarries): the plan
    being evaluated, the covenant a rule is linted for. Outside, every covenant's."""
    token = _PARTS_OF.set(covenant)
    try:
        yield
    finally:
        _PARTS_OF.reset(token)


_CORE_PARTS = {k.name: k for k in _PLAN}


def part_problems(registry: Covenants) -> list[tuple[Covenant, tuple[str, str], str]]:
    """(covenant, where in its definition, what is wrong) of the parts and links it declares:
    a name the core already gives a part, a path that is not in its section's schema, a
    parent or a list that is not there, a parent without an id, values that name no part
    with an id. Another covenant may declare a part of the same name over its own list:
    rules on it then run over each's."""
    core = {k.name for k in (*_PLAN, *_LINKS, *_OTHERS)}
    problems = []
    for covenant in registry:
        shape = shape_of(dict(covenant.schema))
        declared = {k.name: k for k in _covenant_kinds(covenant)}
        for kind in declared.values():
            if kind.source not in ("plan", "link"):  # its lists and remembered parts follow
                continue
            where = ("parts" if kind.source == "plan" else "links", kind.name)
            if kind.name in core:
                problems.append((covenant, where, f"'{kind.name}' is a part of every plan"))
            parent = declared.get(kind.parent) if kind.parent else None
            if kind.parent and (parent is None or parent.source != "plan"):
                problems.append((covenant, where, f"'{kind.parent}' is no part of this section"))
            elif kind.source == "plan":
                inner = shape.at([s for s in kind.path.split("/")[1:]])
                if inner is None or inner.type != "object":
                    problems.append((covenant, where, f"the section's schema has no object at "
                                     f"'{kind.path}'"))
                elif kind.parent and not (parent and parent.id_field):
                    problems.append((covenant, where, f"its parent '{kind.parent}' has no id"))
                elif kind.shardable and not kind.id_field:
                    problems.append((covenant, where, "a shardable part needs an id: its facts "
                                     "are spread over engine states by it"))
            elif parent is not None and _shape_type(
                    shape.at(parent.path.split("/")[1:]), [kind.list_field]) != "list":
                problems.append((covenant, where, f"'{kind.parent}' has no list "
                                 f"'{kind.list_field}'"))
            elif kind.shardable and not (parent and parent.id_field):
                problems.append((covenant, where, f"a shardable link needs a parent with an "
                                 f"id: '{kind.parent}' has none"))
            elif kind.names and not getattr(
                    declared.get(kind.names) or _CORE_PARTS.get(kind.names), "id_field", ""):
                problems.append((covenant, where, f"its values name '{kind.names}', which is "
                                 "no part with an id"))
    return problems


class FollowsCovenants(Mapping[str, V]):
    """A table derived from the kinds of the covenants the process works with (the core's and
    those their definitions declare; one covenant's inside `parts_of`), derived again when the
    covenants change (`covenants.use`, a hot reload)."""

    def __init__(self, make: Callable[[Mapping[str, Kind]], dict[str, V]]):
        self._make = make
        self._made: tuple[Any, dict[str | None, dict[str, V]]] = (None, {})

    def _table(self) -> dict[str, V]:
        registry, covenant = covenants.current(), _PARTS_OF.get()
        if self._made[0] is not registry:
            self._made = (registry, {})
        tables = self._made[1]
        if covenant not in tables:
            tables[covenant] = self._make(_kinds_for(registry, covenant))
        return tables[covenant]

    def __getitem__(self, name: str) -> V:
        return self._table()[name]

    # the table's own, not Mapping's (which raise and catch KeyError for an absent name: read
    # for every fact a plan gives, most of them absent)
    def get(self, name: str, default: Any = None) -> Any:
        return self._table().get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in self._table()

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


def _where(test: Callable[[Kind], bool]) -> FollowsCovenants[Kind]:
    return FollowsCovenants(lambda kinds: {n: k for n, k in kinds.items() if test(k)})


KINDS: Mapping[str, Kind] = _where(lambda k: True)
FACT_KINDS = KINDS.keys()  # a live set of the names
PLAN_KINDS: Mapping[str, Kind] = _where(lambda k: k.source == "plan")
LINK_KINDS: Mapping[str, Kind] = _where(lambda k: k.source == "link")
# remembered kind -> the part it remembers, where the covenant has that part (a bank's plan has
# no locations: last year's locations are no fact of banking)
PRIOR_PARTS: Mapping[str, str] = FollowsCovenants(
    lambda kinds: {n: k.parent for n, k in kinds.items()
                   if k.source == "prior" and k.parent in kinds})


def unknown_parts(names: Iterable[str]) -> str | None:
    """What to tell the writer of a rule that names parts the vocabulary does not have, in
    one sentence: each with the known names it is close to, or else all of them; None when it
    has them all."""
    unknown = [n for n in dict.fromkeys(names) if n not in FACT_KINDS]
    if not unknown:
        return None
    guesses = {n: did_you_mean(n, FACT_KINDS) for n in unknown}
    said = "; ".join(f"unknown part '{n}'{close}" for n, close in guesses.items())
    return said if all(guesses.values()) else \
        f"{said}; the parts a rule can name: {', '.join(sorted(FACT_KINDS))}"


def _shard_key(kind: Kind, kinds: Mapping[str, Kind]) -> str:
    """The field naming the part of a long list a fact belongs to: the part's id, a link's
    parent's id (copied onto the link), a link's value when it names a part of a shardable
    kind (a risk's locations: each link goes with its location), a remembered part's id when
    the part itself is shardable, the first key field of another kind declared shardable; ""
    for a fact every engine state needs."""
    parent = kinds.get(kind.parent)
    named = kinds.get(kind.names)
    if named is not None and named.shardable:
        return kind.value
    if kind.source == "prior":
        return parent.id_field if parent is not None and parent.shardable else ""
    if not kind.shardable:
        return ""
    if kind.source == "plan":
        return kind.id_field
    if kind.source == "link":
        return parent.id_field if parent is not None else ""
    return kind.key[0] if kind.key else ""


# kind -> the field whose value names the part its facts belong to, for the kinds whose facts
# may be spread over several engine states (durable_engine.shards)
SHARD_KEYS: Mapping[str, str] = FollowsCovenants(
    lambda kinds: {n: key for n, k in kinds.items() if (key := _shard_key(k, kinds))})


def spread_parts(plan: PlanSubmission) -> int:
    """How many parts the plan's long lists hold (the parts of shardable kinds, which a
    covenant's section lists): what the facts of a large plan are parked by
    (adapters/parking.py)."""
    return sum(1 for k in PLAN_KINDS.values() if k.shardable
               for _ in walk(plan.sections, k.path))


def collection_pointer(kind: str) -> str:
    """The pointer of the collection a plan part (or a link's parent) stands in; "" for a
    part the plans at hand cannot have (another covenant's)."""
    k = KINDS.get(kind)
    if k is None or (k.source != "plan" and k.parent not in KINDS):
        return ""
    pattern = (k if k.source == "plan" else KINDS[k.parent]).path
    return "/" + pattern.split("/*")[0]


# --- what identifies a part from one year to the next ----------------------------------------

def key_fields(kind: str) -> tuple[str, ...] | None:
    """The fields whose values identify a part of the kind from one year to the next: its
    declared key, its id field, those of its parent and value (a link), those of the part a
    `prev_` kind copies; () for a part a plan has once; None when nothing but its place in
    the plan (its pointer) tells it apart."""
    k = KINDS[kind]
    if k.key is not None:
        return k.key
    if k.source == "link":
        parent = key_fields(k.parent)
        return None if parent is None else (*parent, k.value)
    if k.source == "prior" and k.parent:
        return key_fields(k.parent)
    if k.id_field:
        return (k.id_field,)
    if k.source == "plan" and "*" not in k.path:
        return ()
    return None


def stable_key(fact: Mapping[str, Any]) -> str:
    """`risk:R-01`, `location_product:L-07|garments`, `policy`; the pointer for a part with
    no key (stable only while the plan keeps its order)."""
    kind = fact.get("kind", "")
    fields = key_fields(kind) if kind in KINDS else None
    if fields is None:
        return f"{kind}@{fact.get('pointer', '')}"
    return ":".join([kind, "|".join(str(fact.get(f, "")) for f in fields)]) if fields else kind


# --- the fields of a kind --------------------------------------------------------------------

def field_type(kind: str, dotted: str) -> FieldType | None:
    """The type of a (dotted) field of a kind's facts; None when the facts cannot carry it or
    its type is not known (an object, a value of several types)."""
    k = KINDS.get(kind)
    if k is None:
        return None
    if dotted in COMMON_FIELDS:
        return COMMON_FIELDS[dotted]
    if dotted in k.computed:
        return k.computed[dotted].type
    if dotted in k.annotated:
        return k.annotated[dotted]
    if dotted in k.fields:
        return k.fields[dotted]
    if dotted in k.projections:
        return "list"
    match k.source:
        case "prior":
            return field_type(k.parent, dotted) if k.parent else None
        case "link":
            if dotted == k.value:
                return _shape_type(shape_of_kind(k.parent), [k.list_field], element=True)
            head = dotted.split(".")[0]
            return None if head == k.list_field else _own_type(KINDS[k.parent], dotted)
        case "plan":
            if k.parent and dotted == KINDS[k.parent].id_field:
                return "text"
            return _own_type(k, dotted)
    return None


def field_values(kind: str, dotted: str) -> str | None:
    """What a field's (or a list's) values are, beyond their type, for showing them: from a
    vocabulary (an enum of the contracts: its name, the key of its labels in
    `services/shared/i18n/labels.yaml`; or `country`, `language`, `theme`), or amounts
    (`percent`, `euros`); None for free text, ids, dates and other numbers."""
    k = KINDS.get(kind)
    if k is None:
        return None
    if dotted == "covenant":
        return "Covenant"
    if dotted in k.vocabularies:
        return k.vocabularies[dotted]
    if dotted in k.computed or dotted in k.annotated or dotted in k.fields:
        return None
    if dotted in k.projections:
        steps = [s for s in k.projections[dotted].split("/") if s != "*"]
        return _vocabulary(shape_of_kind(kind), steps)
    match k.source:
        case "prior":
            return field_values(k.parent, dotted) if k.parent else None
        case "link":
            if dotted == k.value:
                return _vocabulary(shape_of_kind(k.parent), [k.list_field])
            return None if dotted.split(".")[0] == k.list_field \
                else field_values(k.parent, dotted)
        case "plan":
            return _vocabulary(shape_of_kind(kind), dotted.split("."))
    return None


def field_exists(kind: str, dotted: str) -> bool:
    """Whether facts of the kind can carry the (dotted) field."""
    k = KINDS.get(kind)
    if k is None:
        return False
    if dotted.split(".")[0] in COMMON_FIELDS:
        return True
    if dotted in k.computed or dotted in k.annotated or dotted in k.fields \
            or dotted in k.projections:
        return True
    match k.source:
        case "prior":
            return bool(k.parent) and field_exists(k.parent, dotted)
        case "link":
            parent = KINDS[k.parent]
            return dotted == k.value or (dotted.split(".")[0] != k.list_field
                                         and _has(shape_of_kind(parent.name), dotted))
        case "plan":
            return (bool(k.parent) and dotted == KINDS[k.parent].id_field) \
                or _has(shape_of_kind(kind), dotted)
    return False


def plan_shape() -> Shape:
    """The shape of a plan, from its JSON Schemas (shapes.py): the common core's and each
    covenant's section's (its definition's)."""
    registry = covenants.current()
    if _shaped[0] is not registry:
        core = _core_shape()
        sections = {c.extension: shape_of(c.schema) for c in registry}
        _shaped[:] = [registry, replace(core, fields={**core.fields, **sections})]
    return _shaped[1]


_shaped: list[Any] = [None, None]  # (the covenants, the plan's shape for them)


@cache
def _core_shape() -> Shape:
    return shape_of(_core_schema(covenants.current()))


def _core_schema(registry: Covenants) -> dict[str, Any]:
    """The JSON Schema of a plan's common core, as the models give it. Pydantic takes about
    50 ms to make it, a tenth of a cold `covenant check`, so it is kept in the cache
    (services/shared/cache.py) under everything it is made from: pydantic's version, the
    contract modules' source and the covenant definitions (their names, themes and materials
    are in it)."""
    inputs = [pydantic.VERSION.encode()]
    for root, pattern in ((Path(contracts.__file__).parent, "*.py"),
                          (registry.folder, "**/*")):
        inputs += [f"\0{p.relative_to(root)}\0".encode() + p.read_bytes()
                   for p in sorted(root.glob(pattern)) if p.is_file()]
    key = b"".join(inputs)
    kept = kept_work.get("plan-schema", key)
    if kept is not None:
        with suppress(ValueError):
            return dict(json.loads(kept))
    schema = PlanSubmission.model_json_schema(by_alias=True, mode="validation")
    kept_work.put("plan-schema", key, json.dumps(schema).encode())
    return schema


def shape_of_kind(kind: str) -> Shape | None:
    """The shape of one part of a plan part's kind (an object)."""
    k = KINDS.get(kind)
    if k is None or k.source != "plan":
        return None
    return plan_shape().at(k.path.split("/"))


def _walk(shape: Shape | None, steps: list[str]) -> Shape | None:
    """The field at the steps, through lists to their elements' fields."""
    for step in steps:
        if shape is None:
            return None
        shape = shape.element().fields.get(step)
    return shape


def _has(shape: Shape | None, dotted: str) -> bool:
    return _walk(shape, dotted.split(".")) is not None


def _vocabulary(shape: Shape | None, steps: list[str]) -> str | None:
    found = _walk(shape, steps)
    return found.vocabulary if found is not None else None


def _own_type(k: Kind, dotted: str) -> FieldType | None:
    return _shape_type(shape_of_kind(k.name), dotted.split("."))


def _shape_type(shape: Shape | None, path: list[str], element: bool = False) -> FieldType | None:
    """The type at a path of a part; a list met on the way is "list" (`element`: the type of
    one value of the list at the end of the path instead)."""
    for step in path:
        shape = shape.fields.get(step) if shape is not None else None
        if shape is None:
            return None
        if shape.type == "list" and not element:
            return "list"
        shape = shape.element()
    return _SCALARS.get(shape.type or "") if shape is not None else None


_SCALARS: Mapping[str, FieldType] = {"date": "date", "number": "number", "text": "text",
                                     "flag": "flag"}


# --- the README's list of parts --------------------------------------------------------------

_SOURCES = {"plan": "the plan", "link": "a list in a part", "derived": "derived from the plan",
            "reference": "reference data", "prior": "the company's history",
            "engine": "the evaluation"}


def markdown() -> str:
    """The parts as a Markdown table (the README's list is this text): the core's, then each
    covenant's as it declares them (a name two covenants declare has a row for each)."""
    rows = ["| part | one fact is | from | fields beyond the schema's |",
            "|---|---|---|---|"]
    rows += [_row(KINDS[k.name]) for k in (*_PLAN, *_LINKS, *_OTHERS)]
    for covenant in covenants.current():
        with parts_of(covenant.name):
            rows += [_row(KINDS[k.name]) for k in _covenant_kinds(covenant)]
    return "\n".join(rows)


def _row(k: Kind) -> str:
    origin = {"plan": f"`/{k.path}`", "link": f"`{k.parent}.{k.list_field}`",
              "prior": f"`/previous`, as `{k.parent}`" if k.parent else ""}.get(k.source, "")
    where = _SOURCES[k.source] + (f": {origin}" if origin else "")
    extra = [f"`{name}` ({c.what})" for name, c in k.computed.items()]
    extra += [f"`{name}` (from reference data)" for name in k.annotated]
    extra += [f"`{name}` (the values at `{path}`)" for name, path in k.projections.items()]
    if k.source == "plan" and k.parent:
        extra.insert(0, f"`{KINDS[k.parent].id_field}` (of its {k.parent})")
    extra += [f"`{name}`" for name in k.fields]
    if k.source == "link":
        extra.insert(0, f"`{k.value}`")
    return f"| `{k.name}` | {k.what} | {where} | {', '.join(extra)} |"
