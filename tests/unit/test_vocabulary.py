"""The vocabulary is declared once (`core/vocabulary.py`, `core/operators.py`) and what is
derived from it agrees with what the system does: the facts the builder and the reference
loader make carry only declared fields, of the declared types; the README's lists are the
generated ones; the rule-file schema offers exactly the declared parts and operators; and the
rules service's layers import in one direction."""

import ast
import dataclasses
import json
import re
import typing
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from services.rules.core import compiler, operators, vocabulary
from services.rules.core.language import Op
from services.rules.core.values import MISSING, as_date
from services.rules.core.vocabulary import (
    KINDS,
    field_exists,
    field_type,
    parts_of,
    shape_of_kind,
)
from services.rules.factory import engine_from_folder
from services.rules.tooling.crosscheck import case_plans
from services.shared import covenants
from services.shared.covenants import BUNDLED_RULES
from tests.support import ROOT

SENTINEL = "evaluation"


@pytest.fixture(scope="module")
def seen() -> dict[tuple[str, str, str], set[Any]]:
    """(covenant, kind, field) -> the values it held, in every test case's evaluation (plans,
    previous plans, signals, reference data, measures): texts as themselves, other values as a
    sample of each Python type (enough to check a declared type), derived fields left out. A
    kind is its plan's covenant's (`location`: a production location or a quarry)."""
    engine = engine_from_folder(BUNDLED_RULES)
    found: dict[tuple[str, str, str], set[Any]] = defaultdict(set)
    samples: dict[tuple[str, str, str, type], Any] = {}
    for plan, prior in case_plans(BUNDLED_RULES):
        for fact in engine.facts(plan, prior):
            for name, value in fact.items():
                if "__" in name:
                    continue
                key = (plan.covenant, fact["kind"], name)
                if isinstance(value, str):
                    found[key].add(value)
                elif (*key, type(value)) not in samples:
                    samples[(*key, type(value))] = value
                    found[key].add(json.dumps(value) if isinstance(value, list | dict)
                                   else value)
    return found


def _as_declared(covenant: str, check: Callable[..., Any], *args: Any) -> Any:
    """`check(*args)` with the kinds as the covenant declares them."""
    with parts_of(covenant):
        return check(*args)


def test_every_field_a_fact_carries_is_declared(seen):
    kinds = {kind for _, kind, _ in seen}
    assert {(c, k, name) for c, k, name in seen
            if k != SENTINEL and not _as_declared(c, field_exists, k, name)} == set()
    assert ("natural_stone", "location", "stone_type") in seen  # a quarry
    assert kinds - {SENTINEL} <= set(KINDS)
    assert {compiler.OUTCOME_KIND, compiler.SENTINEL_KIND} - set(KINDS) == {SENTINEL}


_PYTHON: dict[str, Any] = {
    "date": lambda v: isinstance(v, str) and as_date(v) is not None,
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "text": lambda v: isinstance(v, str),
    "flag": lambda v: isinstance(v, bool),
    "list": lambda v: isinstance(v, str) and v.startswith("["),  # kept as its JSON
}


def test_every_value_has_its_declared_type(seen):
    wrong = {(kind, name, declared, repr(value)[:40])
             for (covenant, kind, name), values in seen.items()
             if (declared := _as_declared(covenant, field_type, kind, name)) is not None
             for value in values if not _PYTHON[declared](value)}
    assert not wrong


def test_declared_reference_fields_come_from_the_reference_files(seen):
    """Each field declared for reference data is made by the loader for some plan (a field
    the loader stopped making would silently match nothing)."""
    for kind in (k for k in KINDS.values() if k.source == "reference"):
        made = {name for _, k, name in seen if k == kind.name}
        assert set(kind.fields) <= made, kind.name


@pytest.mark.parametrize("covenant", covenants.current().names)
def test_plan_parts_resolve_to_the_submission_schema(covenant):
    with parts_of(covenant):  # the core's parts and the covenant's
        for kind in KINDS.values():
            if kind.source == "plan":
                shape = shape_of_kind(kind.name)
                assert shape is not None and shape.type == "object", kind.name
                if kind.id_field:
                    assert kind.id_field in shape.fields, kind.name
            if kind.source == "link":
                assert field_type(kind.parent, kind.list_field) == "list", kind.name
                assert field_type(kind.name, kind.value) in ("text", "number"), kind.name


def test_fields_resolve_to_their_types():
    assert field_type("financing", "start_on") == "date"
    assert field_type("risk_location", "severity.scale") == "number"
    assert field_type("risk_location", "location_ids") is None  # one value per fact instead
    assert field_type("prev_risk", "identified_on") == "date"
    assert field_type("submission", "submitted_at") == "date"
    assert not field_exists("risk", "no_such_field")
    assert not field_exists("no_such_kind", "pointer")


def _readme_block(name: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(rf"<!-- {name}: generated .*? -->\n(.*?)\n<!-- /{name} -->", text, re.S)
    assert found, f"README has no generated {name} block"
    return found.group(1)


def test_the_readme_lists_the_declared_parts_and_operators():
    assert _readme_block("parts") == vocabulary.markdown()
    assert _readme_block("operators") == operators.markdown()


def test_the_rule_file_schema_offers_the_declared_parts_and_operators():
    schema = json.loads((ROOT / "contracts" / "rule-file.schema.json").read_text())
    condition = schema["$defs"]["Condition"]["properties"]["op"]
    assert condition["enum"] == list(operators.NAMES)
    assert all(op.meaning in condition["description"] for op in operators.OPERATORS.values())
    assert schema["$defs"]["Measure"]["properties"]["of"]["enum"] == sorted(KINDS)
    assert typing.get_args(Op) == operators.NAMES


def test_every_operator_is_declared_with_both_readings():
    for op in operators.OPERATORS.values():
        assert callable(op.compile) and callable(op.holds) and op.meaning
    as_of = date(2020, 1, 1)
    # a missing field is "not equal" to anything, and never "equal"
    assert operators.OPERATORS["!="].holds(MISSING, 1, as_of)
    assert not operators.OPERATORS["=="].holds(MISSING, 1, as_of)
    # values that cannot be ordered (a text and a number) are neither less nor more
    assert not any(operators.OPERATORS[op].holds("12", 1, as_of) for op in ("<", "<=", ">", ">="))
    assert operators.OPERATORS["<"].holds(1, 12, as_of)
    assert {"missing", "present", "in_future"} == operators.NO_VALUE


# --- layers --------------------------------------------------------------------------------

RULES = ROOT / "services" / "rules"
# package -> what its modules may import from services.rules
ALLOWED = {
    "core": ("services.rules.core",),
    "tooling": ("services.rules.core", "services.rules.tooling", "services.rules.ports",
                "services.rules.factory", "services.rules.settings"),
    "adapters": ("services.rules.core", "services.rules.adapters", "services.rules.ports"),
}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_the_rules_service_layers_import_in_one_direction(package):
    wrong = {(path.name, module) for path in (RULES / package).glob("*.py")
             for module in _imports(path)
             if module.startswith("services.rules") and not module.startswith(ALLOWED[package])}
    assert not wrong
    if package == "core":  # the engine is an adapter
        assert not any(m.startswith("durable") for p in (RULES / "core").glob("*.py")
                       for m in _imports(p))


# --- each list operator, compiled and read plainly, on the same facts ----------------------

LIST_CASES = [["garments"], ["textiles"], ["garments", "textiles"], ["footwear"],
              ["garments", "footwear"]]


ON_LISTS = sorted(operators.LIST_VALUE - {"in", "not_in"} | {"contains", "lacks"})


@pytest.mark.parametrize("op", ON_LISTS)
def test_each_list_operator_fires_where_its_plain_reading_holds(op):
    """The operators on list fields, several of which no bundled rule uses yet: one rule per
    operator and value on the locations' product types (one holding two, one missing), the
    engine's findings against the plain reading of the same facts."""
    import copy

    from services.rules.adapters.durable_engine import DurableRulesEngine
    from services.rules.core.evaluator import condition_holds
    from services.rules.core.language import Condition, RuleSpec
    from services.rules.factory import load_rulebook
    from services.shared.contracts import parse_plan

    rulebook = load_rulebook(BUNDLED_RULES)
    base = rulebook.by_id()["DD2-HIGH-RISK-LOCATIONS-ASSESSED"].model_dump(
        by_alias=True, mode="json", exclude_none=True)
    document = json.loads((BUNDLED_RULES / "fixtures" / "compliant-textile.json").read_text())
    locations = document["textile"]["production_locations"]
    locations[1]["product_types"] = ["garments", "textiles"]
    del locations[3]["product_types"]
    plan = parse_plan(json.dumps(document).encode())
    for values in LIST_CASES:
        value = values[0] if op in ("contains", "lacks") else values
        when = {"part": "location", "where": [{"field": "product_types", "op": op,
                                               "value": value}]}
        rule = RuleSpec.model_validate({**copy.deepcopy(base), "id": "T-OPERATOR",
                                        "when": when, "escalate": [], "parameters": {},
                                        "message": {"nl": "x", "en": "x"}})
        engine = DurableRulesEngine(dataclasses.replace(rulebook, rules=(rule,)))
        fired = {p for f in engine.evaluate(plan) for p in f.pointers}
        condition = Condition.model_validate(when["where"][0])
        plain = {f["pointer"] for f in engine.facts(plan) if f["kind"] == "location"
                 and condition_holds(condition, value, f, {})}
        assert fired == plain, (op, value)
