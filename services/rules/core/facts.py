"""From a plan to engine facts.

One fact per plan part (`policy`, each `risk`, each `location`, ...), link facts for id lists
(`action_risk`: one per action and risk it addresses) so that joins are plain equalities, the
reference facts (`country`, `dol_good`, `calendar`, `nace_chain`) and one `measure` fact per
measure of a rule (per group with `group_by`). Every fact carries `kind`, the JSON `pointer`
of its part and the submission date (`as_of`, `as_of_day`); the derived fields compiled rules
ask for (ages, day numbers, month keys, join keys; see `compiler.py`) are added by `derive`.
Empty texts and lists are left out, at any depth, so "missing" covers them too; fields named
like the engine's identity fields (`id`, `sid`) are renamed.
"""

import functools
import re
from collections.abc import Iterator, Mapping, Set
from datetime import date
from typing import Any

from unidecode import unidecode

from services.rules.core.compiler import FAR, LIST_SLOTS, NOTHING, Derived
from services.rules.core.evaluator import (
    MISSING,
    Env,
    as_date,
    lookup,
    month_key,
    predicate,
)
from services.rules.core.language import Measure, RuleSpec
from services.rules.core.prior import Prior
from services.rules.core.vocabulary import (
    FACT_KINDS,
    PRIOR_PARTS,
    SHARD_KEYS,
    FollowsCovenants,
    collection_pointer,
    parts_of,
    plan_shape,
)
from services.shared import covenants
from services.shared.contracts import PlanSubmission
from services.shared.contracts.errors import json_pointer
from services.shared.contracts.integrity import walk
from services.shared.contracts.shapes import Shape

Fact = dict[str, Any]

# the vocabulary's declarations, in the shapes the builder walks
PARTS: Mapping[str, str] = FollowsCovenants(
    lambda kinds: {name: k.path for name, k in kinds.items() if k.source == "plan"})
LINKS: Mapping[str, tuple[str, str, str]] = FollowsCovenants(
    lambda kinds: {name: (k.parent, k.list_field, k.value) for name, k in kinds.items()
                   if k.source == "link"})
# nested kind -> (parent kind, the parent's id copied onto each nested fact, to join on)
PARENT_KEYS: Mapping[str, tuple[str, str]] = FollowsCovenants(
    lambda kinds: {name: (k.parent, kinds[k.parent].id_field) for name, k in kinds.items()
                   if k.source == "plan" and k.parent})
COMPUTED: Mapping[str, dict[str, Any]] = FollowsCovenants(
    lambda kinds: {name: {f: c.compute for f, c in k.computed.items()}
                   for name, k in kinds.items() if k.computed})
PROJECTIONS: Mapping[str, dict[str, str]] = FollowsCovenants(
    lambda kinds: {name: dict(k.projections) for name, k in kinds.items() if k.projections})
# links across parts, derived before the engine runs (its negation covers one part only)
THEMED_KINDS = frozenset({"kpi_theme", "action_theme"})
PAIRED_KINDS = frozenset({"risk_material_country"})
# the plan's free text: one `free_text` fact per text the contract leaves free (a string of up to
# 100 characters or more with no pattern: descriptions, summaries, outcomes, rationales,
# responses, ...; see contracts/shapes.py), wherever it stands; the company part (with its
# contacts), the submission header, the attachments and published data (`x-free-text: false`:
# production locations' names and addresses) excepted
FREE_TEXT_SKIPPED = frozenset({"submission", "company", "attachments"})
ENGINE_RESERVED = frozenset({"id", "sid"})


# The most facts of its own a plan may give that every engine state must hold: all but the
# parts of the long lists a covenant lets the engine spread over states (`shardable`), and
# their links. Ingest refuses a plan above it, which the rules could not assess. A state holds
# 20,000 (adapters/durable_engine.MAX_FACTS_PER_RULESET); beside a plan's own go the reference
# data's and the measures' (under 1,000 for every bundled covenant), the previous plan's
# risks, actions and KPIs, and some of the spread parts. So a plan at the bound is assessed
# unless its previous plan had more than about 4,000 risks, actions and KPIs (none near that
# is known; the rules then dead-letter it with the engine's limit as its reason).
MAX_SHARED_FACTS = 15_000


def shared_facts(plan: PlanSubmission) -> int:
    """How many of the plan's own facts every engine state needs (see MAX_SHARED_FACTS). The
    parts, links and free texts are counted where they stand, not made into facts (making
    them was most of ingest's time for a small plan)."""
    with parts_of(plan.covenant):
        document = plan.read_only_json()
        shared = covenants.derived(("shared kinds", plan.covenant),
                                   lambda _: frozenset(FACT_KINDS - SHARD_KEYS.keys()))
        return sum(1 for _ in _part_places(document, shared)) \
            + sum(len(values) for _, _, links in _link_places(document, shared)
                  for *_, values in links) \
            + len(_derived_facts(document, shared - {"free_text"})) \
            + (sum(1 for _ in _free_text_places(document)) if "free_text" in shared else 0)


def plan_facts(plan: PlanSubmission, kinds: frozenset[str] | None = None) -> Iterator[Fact]:
    """The plan's facts, of the given kinds only (all kinds without `kinds`), made as they are
    read: read them inside `parts_of(plan.covenant)`, whose declarations they are made by."""
    as_of = plan.submission.submitted_at.date()
    return (stamp(f, as_of, plan.covenant) for f in _plan_facts(
        plan.read_only_json(), FACT_KINDS if kinds is None else kinds))


def _plan_facts(document: dict[str, Any], wanted: Set[str]) -> Iterator[Fact]:
    """The plan's facts of these kinds, not yet stamped: each part's, followed by its links'
    (the part pruned once for both, and not kept: a bank's financings with an empty list
    were each held pruned until the last link was made), then those made across parts."""
    links = _links_by_parent(wanted)
    for kind, path, part, inherited in _part_places(document, wanted | links.keys()):
        fields = _pruned(part, nested_parts=False)
        if kind in wanted:
            fact = make_fact(kind, path, part, fields)
            yield fact if inherited is None else {**fact, inherited[0]: inherited[1]}
        if kind in links:
            yield from _link_facts(path, part, fields, links[kind])
    yield from _derived_facts(document, wanted)


def _derived_facts(document: dict[str, Any], wanted: Set[str]) -> list[Fact]:
    """The facts of these kinds that are not a part or a link: made across parts (themes,
    material-country pairs) and the free texts."""
    facts: list[Fact] = []
    if wanted & THEMED_KINDS:
        facts += [f for f in _themed(document) if f["kind"] in wanted]
    if wanted & PAIRED_KINDS:
        facts += _material_countries(document)
    if "free_text" in wanted:
        facts += _free_texts(document)
    return facts


def _free_texts(document: dict[str, Any]) -> Iterator[Fact]:
    return (make_fact("free_text", path, {"field": str(path[-1]), "text": text})
            for path, text in _free_text_places(document))


def _free_text_places(document: dict[str, Any]
                      ) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Each free text of the plan with its path."""
    for name, shape in plan_shape().free_texts():
        if name not in FREE_TEXT_SKIPPED:
            yield from _texts_in(document.get(name), shape, (name,))


def _texts_in(value: Any, shape: Shape, path: tuple[str | int, ...]
              ) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """The free texts in a value of the given shape (`Shape.free_text`: long text without
    a pattern, not published data), with their paths."""
    if value is None:
        return
    if isinstance(value, list) and shape.item is not None:
        for i, item in enumerate(value):
            yield from _texts_in(item, shape.item, (*path, i))
    elif shape.free_text and isinstance(value, str) and value.strip():
        yield path, value
    elif isinstance(value, dict):
        for name, inner in shape.free_texts():
            yield from _texts_in(value.get(name), inner, (*path, name))


def _material_countries(document: dict[str, Any]) -> Iterator[Fact]:
    """`risk_material_country` facts: each (material, country) pair a risk names, so that a
    rule can ask for a risk that covers both (food's priority materials by origin)."""
    for r, risk in walk(document, PARTS["risk"]):
        for material in risk.get("materials", ()):
            for country in risk.get("countries", ()):
                yield {"kind": "risk_material_country", "risk_id": risk["risk_id"],
                       "theme": risk["theme"], "material": material, "country": country,
                       "identified_on": risk["identified_on"],
                       "closed": risk.get("closed") is not None, "pointer": json_pointer(r)}


def _themed(document: dict[str, Any]) -> Iterator[Fact]:
    """`action_theme` and `kpi_theme` facts: each theme of the risks an action addresses."""
    themes = {r["risk_id"]: r["theme"] for _, r in walk(document, PARTS["risk"])}
    for a, action in walk(document, PARTS["action"]):
        for theme in sorted({themes[r] for r in action.get("risk_ids", []) if r in themes}):
            yield {"kind": "action_theme", "action_id": action["action_id"],
                   "type": action["type"], "theme": theme, "pointer": json_pointer(a)}
            for k, kpi in enumerate(action.get("kpis", [])):
                yield {"kind": "kpi_theme", "kpi_id": kpi["kpi_id"], "action_id":
                       action["action_id"], "theme": theme,
                       "pointer": json_pointer((*a, "kpis", k))}


def stamp(fact: Fact, as_of: date, covenant: str) -> Fact:
    """Adds the covenant and the submission date, in place; returns the fact. Every fact of
    an evaluation holds the same two objects (a bank's million financings: about 170 MB
    less)."""
    fact["covenant"] = covenant
    fact["as_of"], fact["as_of_day"] = _day(as_of)
    return fact


@functools.lru_cache(maxsize=16)
def _day(as_of: date) -> tuple[str, int]:
    return as_of.isoformat(), as_of.toordinal()


# --- derived fields (see compiler.py) -------------------------------------------------------

def submission_values(plan: PlanSubmission) -> dict[str, Any]:
    """The submission's values that conditions can compare with (`submission.<name>`)."""
    s = plan.submission
    return {"as_of": s.submitted_at.date().isoformat(), "reporting_year": s.reporting_year,
            "submitted_at": s.submitted_at.date().isoformat(),
            "plan_period.start": s.plan_period.start.isoformat(),
            "plan_period.end": s.plan_period.end.isoformat()}


def derive(facts: list[Fact], derived: dict[str, frozenset[Derived]],
           submission: dict[str, Any]) -> None:
    """Adds, in place, the derived fields the compiled rules read, per kind (see `Derivation`).
    """
    derivation = Derivation(derived, submission)
    for fact in facts:
        derivation.add_to(fact, fact)


class Derivation:
    """The derived fields of a fact, as the compiled rules read them, per kind: each value is
    converted once per fact (the submission's once per evaluation), then given every name the
    rules ask it under. The engine adapter adds them to what it asserts, not to the facts it
    keeps: a derived list slot or date grows each kept fact by about half."""

    def __init__(self, derived: dict[str, frozenset[Derived]], submission: dict[str, Any]):
        self._recipes = {kind: _recipe(wanted, submission) for kind, wanted in derived.items()}

    def add_to(self, fact: Fact, fields: dict[str, Any]) -> None:
        """Writes the fact's derived fields into `fields` (the fact itself, or what the
        engine is given of it)."""
        recipe = self._recipes.get(fact["kind"])
        if recipe is None:
            return
        constants, slots, conversions = recipe
        fields.update(constants)
        for d in slots:
            values = lookup(fact, d.field)
            values = values if isinstance(values, list) else []
            if len(values) > LIST_SLOTS:
                raise ValueError(f"{fact['kind']}.{d.field} holds more than {LIST_SLOTS} values")
            fields.update({d.slot(i): values[i] if i < len(values) else NOTHING
                           for i in range(LIST_SLOTS)})
        for field, form, names, missing in conversions:
            value = lookup(fact, field)
            if form == "k":  # most derived fields: a join key (`_form`, without the call)
                value = value if isinstance(value, str | int | float) else NOTHING
            else:
                value = _form(value, form, fact)
            if value is not None:
                for name in names:
                    fields[name] = value
            else:
                for name, side in missing:
                    fields[name] = -FAR if side == "lo" else FAR


# (the submission's values, ready; the list slots; the conversions: field, form, the names of
# its value, the names and sides of its stand-in when it has none)
Recipe = tuple[dict[str, Any], list[Derived],
               list[tuple[str, str, list[str], list[tuple[str, str]]]]]


def _recipe(wanted: frozenset[Derived], submission: dict[str, Any]) -> Recipe:
    constants = {d.name: _form(submission[d.field], d.form, {}) for d in wanted
                 if d.of_submission}
    slots = [d for d in wanted if d.form == "slots"]
    by_value: dict[tuple[str, str], list[Derived]] = {}
    for d in wanted:
        if not d.of_submission and d.form != "slots":
            by_value.setdefault((d.field, d.form), []).append(d)
    conversions = [(field, form, [d.name for d in variants],
                    [(d.name, d.missing) for d in variants if d.missing])
                   for (field, form), variants in by_value.items()]
    return constants, slots, conversions


def _form(value: Any, form: str, fact: Fact) -> Any:
    """The value in a derived form (see `compiler.Derived`); None when it has none."""
    if form == "k":
        return value if isinstance(value, str | int | float) else NOTHING
    if isinstance(value, bool) or value is None or value is MISSING:
        return None
    if isinstance(value, int | float):
        return value if form == "n" else None
    day = as_date(value)
    if day is None:
        return None
    match form:
        case "n":
            return day.toordinal()
        case "mk" | "mke":
            return month_key(day, end_of_month=form == "mke")
        case "age_days":
            return (date.fromisoformat(fact["as_of"]) - day).days
        case "age_mk":
            return month_key(date.fromisoformat(fact["as_of"])) - month_key(day)
    raise ValueError(f"unknown derived form {form}")


# (kind, path, value, the key a part takes from its parent part or None)
PartPlace = tuple[str, tuple[str | int, ...], dict[str, Any], tuple[str, Any] | None]


def _part_places(document: dict[str, Any], wanted: Set[str]) -> Iterator[PartPlace]:
    """Each part of the wanted kinds: its kind, path and value, and the key it takes from
    its parent part (PARENT_KEYS), if any."""
    for kind, pattern in PARTS.items():
        if kind not in wanted:
            continue
        parent = PARENT_KEYS.get(kind)
        if parent is None:
            yield from ((kind, path, part, None) for path, part in walk(document, pattern))
            continue
        parent_kind, key = parent
        for parent_path, parent_part in walk(document, PARTS[parent_kind]):
            child_pattern = pattern.removeprefix(PARTS[parent_kind] + "/")
            for path, part in walk(parent_part, child_pattern):
                yield kind, (*parent_path, *path), part, (key, parent_part[key])


Link = tuple[str, str, str]  # (link kind, its list's field, the name of one value)


def _links_by_parent(wanted: Set[str]) -> dict[str, list[Link]]:
    """The wanted link kinds, by the kind of part whose lists they are."""
    by_parent: dict[str, list[Link]] = {}
    for kind, (parent, field, single) in LINKS.items():
        if kind in wanted:
            by_parent.setdefault(parent, []).append((kind, field, single))
    return by_parent


LinkedLists = list[tuple[str, str, str, list[Any]]]  # (link kind, field, one value's name, values)


def _linked_lists(part: dict[str, Any], links: list[Link]) -> LinkedLists:
    return [(kind, field, single, values) for kind, field, single in links
            if (values := part.get(field) or [])]


def _link_places(document: dict[str, Any], wanted: Set[str]
                 ) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any], LinkedLists]]:
    """Each part with linked lists of the wanted kinds that are not empty: its path, its
    value, and per list the link kind, the field, the name of one value and the values."""
    for parent, links in _links_by_parent(wanted).items():
        for path, part in walk(document, PARTS[parent]):
            if lists := _linked_lists(part, links):
                yield path, part, lists


def _link_facts(path: tuple[str | int, ...], part: dict[str, Any], fields: dict[str, Any],
                links: list[Link]) -> Iterator[Fact]:
    """One fact per value of each of the part's linked lists, from its pruned `fields`."""
    lists = _linked_lists(part, links)
    if not lists:
        return
    fields = _renamed(dict(fields))
    for kind, field, single, values in lists:
        base = {k: v for k, v in fields.items() if k != field}
        base["kind"] = kind
        computing = COMPUTED.get(kind, {}).items()
        at = json_pointer((*path, field))
        for i, value in enumerate(values):
            # the element's own pointer keeps every fact unique: the engine refuses a
            # second fact with the same content (a plan may list one id twice)
            link = {**base, single: value, "pointer": f"{at}/{i}"}
            for name, compute in computing:
                if (computed := compute(link)) is not None:
                    link[name] = computed
            yield link


def make_fact(kind: str, path: tuple[str | int, ...], part: dict[str, Any],
              pruned: dict[str, Any] | None = None) -> Fact:
    """The part's fact; `pruned`: its fields pruned (`_pruned`), where they were already."""
    fields = dict(_pruned(part, nested_parts=False) if pruned is None else pruned)
    for name, compute in COMPUTED.get(kind, {}).items():
        value = compute(part)
        if value is not None:
            fields[name] = value
    for name, pattern in PROJECTIONS.get(kind, {}).items():
        values = [v for _, v in walk(part, pattern)]
        if values:
            fields[name] = values
    fields = _renamed(fields)
    fields["kind"], fields["pointer"] = kind, json_pointer(path)
    return fields


def _renamed(fields: dict[str, Any]) -> dict[str, Any]:
    """Fields named like the engine's identity fields (`id`, `sid`) get a trailing `_`."""
    for reserved in ENGINE_RESERVED & fields.keys():
        fields[f"{reserved}_"] = fields.pop(reserved)
    return fields


def _pruned(node: dict[str, Any], nested_parts: bool = True) -> dict[str, Any]:
    """The object without its empty texts, lists and objects, at any depth (so `missing` sees
    them too), and at the top without the lists of objects (`nested_parts=False`: those
    become facts of their own). The object itself when nothing goes: read, never changed,
    it is not copied (a bank's million financings are not held twice while facts are made).
    """
    found: dict[str, Any] = {}
    changed = False
    for key, value in node.items():
        if isinstance(value, dict):
            inner = _pruned(value)
            if inner:
                found[key] = inner
            if inner is not value or not inner:
                changed = True
        elif isinstance(value, list):
            # an empty list goes; so do lists of objects where they are parts of their own
            if value and (nested_parts or not isinstance(value[0], dict)):
                found[key] = value
            else:
                changed = True
        elif value == "":
            changed = True
        else:
            found[key] = value
    return found if changed else node


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
            for path, value in walk(document, PARTS[part]):  # with the part's computed fields
                facts.append({**make_fact(part, ("previous", *path), value), "kind": kind})
        facts += [{"kind": "prev_finding", "finding_id": f["finding_id"], "rule_id": f["rule_id"],
                   "severity": f["severity"], "pointer": f"/previous/findings/{i}"}
                  for i, f in enumerate(prior.previous.findings)]
    facts += [{"kind": "signal", "signal_ref": s.signal_ref, "forwarded_on": s.forwarded_on,
               "pointer": "/grievance/cases"} for s in prior.signals]
    return [stamp(f, as_of, covenant) for f in facts]


# --- measures ---------------------------------------------------------------------------

def grouped(facts: list[Fact]) -> dict[str, list[Fact]]:
    """The facts by kind, in their order."""
    by_kind: dict[str, list[Fact]] = {}
    for f in facts:
        by_kind.setdefault(f["kind"], []).append(f)
    return by_kind


def measure_facts(rules: list[RuleSpec], facts: list[Fact], as_of: date,
                  submission: dict[str, Any] | None = None) -> list[Fact]:
    """The `measure` facts of every measure of the rules whose population is not empty: one
    per measure, or one per group with `group_by`."""
    by_kind = grouped(facts)
    env: Env = {"submission": submission or {}}
    populations: dict[str, list[Fact]] = {}  # several measures count the same parts
    found = []
    for rule in rules:
        for name, m in rule.measures():
            key = repr((m.of, m.where, rule.parameters if m.where else None))
            if key not in populations:
                belongs = predicate(rule, m.where)
                populations[key] = [f for f in by_kind.get(m.of, []) if belongs(f, env)]
            population = populations[key]
            having = predicate(rule, m.having)
            for group, members in _groups(m, population):
                value = _measure(rule, m, members, env)
                if value is None:
                    continue
                fact = {"kind": "measure", "rule": name, "value": value, "count": len(members),
                        "pointer": members[0]["pointer"] if m.group_by
                        else collection_pointer(m.of)}
                if group is not None:
                    fact["group"] = group
                stamp(fact, as_of, members[0]["covenant"])
                if having(fact, env):
                    found.append(fact)
    return found


def _groups(m: Measure, population: list[Fact]) -> list[tuple[Any, list[Fact]]]:
    if not m.group_by:
        return [(None, population)] if population else []
    groups: dict[Any, list[Fact]] = {}
    for fact in population:
        key = [lookup(fact, f) for f in m.group_by]
        if any(k is MISSING or k is None for k in key):
            continue
        if m.normalise:
            key = [normalised(k) for k in key]
        groups.setdefault(key[0] if len(key) == 1 else "|".join(map(str, key)), []).append(fact)
    return list(groups.items())


_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]")


def normalised(value: Any) -> Any:
    """Text compared the way people mean it: transliterated to ASCII, without case, spacing
    and punctuation ("Çelik Tekstil A.Ş." = "celik tekstil as")."""
    if not isinstance(value, str):
        return value
    return _NOT_ALPHANUMERIC.sub("", unidecode(value).lower())


def _measure(rule: RuleSpec, m: Measure, population: list[Fact], env: Env) -> float | None:
    def quantity(facts: list[Fact], field: str | None) -> float:
        if field is None:
            return float(len(facts))
        return float(sum(v for f in facts if _number(v := lookup(f, field))))

    if m.min is not None or m.max is not None:
        values = [v for f in population if _number(v := lookup(f, m.min or m.max or ""))]
        return None if not values else float(min(values) if m.min else max(values))
    if m.share_where is not None:
        whole = quantity(population, m.sum)
        share = predicate(rule, m.share_where)
        part = quantity([f for f in population if share(f, env)], m.sum)
        return part / whole if whole else None
    if m.divide_by is not None:
        whole = quantity(population, m.divide_by)
        return quantity(population, m.sum) / whole if whole else None
    return quantity(population, m.sum) if population else None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
