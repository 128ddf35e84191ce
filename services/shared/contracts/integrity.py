"""Checks that span objects of a plan: the extension fits the covenant, themes fit the covenant,
ids are unique within their collection, and every id reference resolves.

They run on the parsed JSON document rather than on the model, so that a submitter with a
structural error elsewhere still gets these errors in the same round. Collections and
references are declared as path patterns (`*` is every element of a list): the common core's
here (adding an id field to the core means adding one line here), a covenant's section's in its
schema (`x-collection`, `x-references`; see shapes.py). The core may reference a section's
collection (a risk's `location_ids`); in a plan whose covenant defines none, such a reference
resolves to nothing.
"""

from collections.abc import Iterator
from typing import Any

from services.shared import covenants
from services.shared.covenants import Covenant

from .errors import FieldError, json_pointer
from .extensions import section_shape
from .shapes import Shape

# the catalogue row these checks enforce (reference.md 5.2); its clause about the previous
# plan needs the company's history and is the rules service's
REFERENCES_RULE = "PROC-REFERENCES-RESOLVE"

Path = tuple[str | int, ...]

# collection name -> (pattern of the objects, their id field); a section's collection may
# gather several lists (natural stone's quarries and factories are both `location`s a risk
# names), whose ids are then unique across them
COLLECTIONS: dict[str, tuple[str, str]] = {
    "risk": ("risk_assessment/risks/*", "risk_id"),
    "consultation": ("risk_assessment/stakeholder_consultations/*", "consultation_id"),
    "action": ("actions/*", "action_id"),
    "kpi": ("actions/*/kpis/*", "kpi_id"),
    "case": ("grievance/cases/*", "case_id"),
    "remediation": ("remediation/*", "remediation_id"),
    "attachment": ("attachments/*", "attachment_id"),
    "response": ("previous_findings_responses/*", "finding_id"),
}

# (pattern of the referring values, collection referred to)
REFERENCES: list[tuple[str, str]] = [
    ("risk_assessment/risks/*/location_ids/*", "location"),
    ("risk_assessment/risks/*/client_refs/*", "client"),
    ("risk_assessment/risks/*/financing_ids/*", "financing"),
    ("actions/*/risk_ids/*", "risk"),
    ("actions/*/disengagement/prior_action_ids/*", "action"),
    ("tracking/kpi_results/*/kpi_id", "kpi"),
    ("communication/public_report/covers_risk_ids/*", "risk"),
    ("grievance/cases/*/location_ids/*", "location"),
    ("grievance/cases/*/financing_ids/*", "financing"),
    ("remediation/*/risk_ids/*", "risk"),
    ("remediation/*/case_ids/*", "case"),
    ("previous_findings_responses/*/action_ids/*", "action"),
    ("policy/document_ref", "attachment"),  # or an https URL, see _is_external
]

THEMED: list[str] = [
    "risk_assessment/risks/*/theme",
    "policy/themes_covered/*",
    "grievance/cases/*/theme",
    "communication/public_report/covers_themes/*",
]  # a section's themed fields: its schema's `x-vocabulary: theme` (the covenant's themes)
MATERIALS: list[str] = [
    "risk_assessment/risks/*/materials/*",
    "risk_assessment/scoping/materials/*",
]  # a section's materials: its schema's `x-vocabulary: Material` (the covenant's materials)


def check_integrity(document: Any) -> list[FieldError]:
    if not isinstance(document, dict):
        return []
    covenant = _covenant(document)
    collections = collections_for(covenant)
    ids = {name: {v for _, v in _ids(document, lists)} for name, lists in collections.items()}
    return [
        *(_extension_matches(document, covenant) if covenant else []),
        *(_own_values_fit(document, covenant) if covenant else []),
        *(e for lists in collections.values() for e in _unique(document, lists)),
        *_references_resolve(document, ids, [  # a plan of no known covenant: only the core's
            r for r in references_for(covenant) if covenant is not None or r[1] in ids]),
    ]


def collections_for(covenant: Covenant | None) -> dict[str, list[tuple[str, str]]]:
    """Collection -> [(pattern of its parts, their id field)]: the core's and those the
    covenant's section declares (`x-collection`; several lists may declare one). Made once
    per covenant in use (read, never changed)."""
    return covenants.derived(("collections", covenant and covenant.name),
                             lambda _: _collections_for(covenant))


def _collections_for(covenant: Covenant | None) -> dict[str, list[tuple[str, str]]]:
    found = {name: [collection] for name, collection in COLLECTIONS.items()}
    for section, path, node in _section_nodes(covenant):
        if node.collection:
            found.setdefault(node.collection["name"], []).append(
                (f"{section}/{path}/*", node.collection["id"]))
    return found


def references_for(covenant: Covenant | None) -> list[tuple[str, str]]:
    """(pattern of the referring values, collection referred to): the core's and those the
    covenant's section declares (`x-references`). Made once per covenant in use."""
    return covenants.derived(("references", covenant and covenant.name),
                             lambda _: _references_for(covenant))


def _references_for(covenant: Covenant | None) -> list[tuple[str, str]]:
    return [*REFERENCES, *((f"{section}/{path}", node.references)
                           for section, path, node in _section_nodes(covenant)
                           if node.references)]


def _section_nodes(covenant: Covenant | None) -> list[tuple[str, str, Shape]]:
    """(the section, a path in it, its shape) of every node of the covenant's section."""
    if covenant is None:
        return []
    return [(covenant.extension, path, node) for path, node in section_shape(covenant).nodes()]


def walk(document: Any, pattern: str) -> Iterator[tuple[Path, Any]]:
    """Every (path, value) in the document that the pattern matches; silently skips parts whose
    shape does not fit (those are the structural validator's to report). The last step is
    taken as it is read: a bank's million financings are not first listed with their paths
    (about 130 MB)."""
    *steps, last = pattern.split("/")
    nodes: Iterator[tuple[Path, Any]] = iter((((), document),))
    for step in steps:
        nodes = iter(list(_step(nodes, step)))
    return _step(nodes, last)


def _step(nodes: Iterator[tuple[Path, Any]], step: str) -> Iterator[tuple[Path, Any]]:
    for path, node in nodes:
        if step == "*" and isinstance(node, list):
            for i, item in enumerate(node):
                yield (*path, i), item
        elif step != "*" and isinstance(node, dict) and node.get(step) is not None:
            yield (*path, step), node[step]


def _strings(document: Any, pattern: str) -> Iterator[tuple[Path, str]]:
    return ((p, v.strip()) for p, v in walk(document, pattern) if isinstance(v, str))


def _covenant(document: dict[str, Any]) -> Covenant | None:
    value = next((v for _, v in _strings(document, "submission/covenant")), None)
    return covenants.current().get(value)


def _ids(document: Any, lists: list[tuple[str, str]]) -> Iterator[tuple[Path, str]]:
    for pattern, key in lists:
        yield from _strings(document, f"{pattern}/{key}")


def _unique(document: Any, lists: list[tuple[str, str]]) -> Iterator[FieldError]:
    first_seen: dict[str, Path] = {}
    for path, value in _ids(document, lists):
        if value in first_seen:
            yield FieldError(
                pointer=json_pointer(path),
                code="duplicate_id",
                message=f"{path[-1]} '{value}' is used twice; the first is at "
                f"{json_pointer(first_seen[value])}",
                # the part that uses it first, for a reader (i18n.error_text names it)
                context={"id": value[:100], "first": json_pointer(first_seen[value][:-1])},
                rule_id=REFERENCES_RULE,
            )
        else:
            first_seen.setdefault(value, path)


def _is_external(collection: str, value: str) -> bool:
    return collection == "attachment" and value.startswith("https://")


def _references_resolve(document: Any, ids: dict[str, set[str]],
                        references: list[tuple[str, str]]) -> Iterator[FieldError]:
    for pattern, collection in references:
        for path, value in _strings(document, pattern):
            if value not in ids.get(collection, ()) and not _is_external(collection, value):
                yield FieldError(
                    pointer=json_pointer(path),
                    code="dangling_reference",
                    message=f"no {collection} with id '{value}' in this plan",
                    context={"id": value[:100]},
                    rule_id=REFERENCES_RULE,
                )


def _extension_matches(document: dict[str, Any], covenant: Covenant) -> Iterator[FieldError]:
    if document.get(covenant.extension) is None:
        yield FieldError(
            pointer=f"/{covenant.extension}",
            code="missing_extension",
            message=f"a plan under the {covenant.name} covenant needs the "
            f"'{covenant.extension}' section",
            context={"covenant": covenant.name, "section": covenant.extension},
        )
    for other in sorted(covenants.current().extensions - {covenant.extension}):
        if document.get(other) is not None:
            yield FieldError(
                pointer=f"/{other}",
                code="foreign_extension",
                message=f"the '{other}' section does not belong in a plan under the "
                f"{covenant.name} covenant",
                context={"covenant": covenant.name, "section": other},
            )


def _own_values_fit(document: dict[str, Any], covenant: Covenant) -> Iterator[FieldError]:
    """The themes and raw materials the core's fields name are the plan's covenant's (the
    contract takes those of any covenant)."""
    for what, patterns, allowed in (("theme", THEMED, covenant.themes),
                                    ("material", MATERIALS, covenant.materials)):
        for pattern in patterns:
            for path, value in _strings(document, pattern):
                if value not in allowed:
                    yield FieldError(
                        pointer=json_pointer(path),
                        code=f"{what}_not_in_covenant",
                        message=f"'{value}' is not a {what} of the {covenant.name} covenant; "
                        f"use one of: {', '.join(sorted(allowed)) or 'none'}",
                        context={what: value[:60], "covenant": covenant.name},
                    )
