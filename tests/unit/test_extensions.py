"""A covenant's plan section is checked against the JSON Schema in its definition
(services/shared/contracts/extensions.py): errors at their pointers, in the core's codes,
without the offending values; a valid section read and dumped as the core is."""

import copy
import json
import shutil

import pytest

from services.shared import covenants
from services.shared.contracts import content_digest, validate_plan
from services.shared.contracts.parsing import PlanInvalid
from services.shared.covenants import lint, load
from tests.support import ROOT, TEXTILE, example_doc

RULES = ROOT / "rules"
BANKING = "banking-voorbeeldbank-2019.json"
NATURAL_STONE = "natural_stone-voorbeeld-natuursteen-2021.json"


def errors_of(document) -> list[tuple[str, str]]:
    with pytest.raises(PlanInvalid) as caught:
        validate_plan(document)
    return sorted((e.pointer, e.code) for e in caught.value.errors)


def changed(name: str, change) -> dict:
    document = example_doc(name)
    change(document)
    return document


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d["textile"]["production_locations"][0].pop("tier"),
     ("/textile/production_locations/0/tier", "missing")),
    (lambda d: d["textile"]["production_locations"][0].update(colour="red"),
     ("/textile/production_locations/0/colour", "extra_forbidden")),
    (lambda d: d["textile"]["production_locations"][0].update(tier="one"),
     ("/textile/production_locations/0/tier", "int_type")),
    (lambda d: d["textile"]["production_locations"][0].update(tier=9),
     ("/textile/production_locations/0/tier", "less_than_equal")),
    (lambda d: d["textile"]["production_locations"][0].update(product_types=["boats"]),
     ("/textile/production_locations/0/product_types/0", "enum")),
    (lambda d: d["textile"]["production_locations"][0].update(product_types=[7]),
     ("/textile/production_locations/0/product_types/0", "enum")),
    (lambda d: d["textile"]["production_locations"][0].update(relationship_since="2019-02-30"),
     ("/textile/production_locations/0/relationship_since", "date_from_datetime_parsing")),
    (lambda d: d["textile"]["production_locations"][0].update(relationship_since=2019),
     ("/textile/production_locations/0/relationship_since", "date_type")),
    (lambda d: d["textile"]["production_locations"][0].update(name="x" * 501),
     ("/textile/production_locations/0/name", "string_too_long")),
    (lambda d: d["textile"]["production_locations"][0].update(os_id="nope"),
     ("/textile/production_locations/0/os_id", "string_pattern_mismatch")),
    (lambda d: d["textile"]["production_locations"][0].update(country="XX"),
     ("/textile/production_locations/0/country", "unknown_country")),
    (lambda d: d["textile"].update(themes={}),
     ("/textile/themes", "list_type")),
    (lambda d: d["textile"]["themes"][0].update(theme="privacy_data"),  # banking's theme
     ("/textile/themes/0/theme", "enum")),
], ids=["missing", "unknown field", "wrong type", "above maximum", "outside vocabulary",
        "not even text", "impossible date", "date of another type", "too long",
        "pattern", "unknown country", "object for list", "another covenant's theme"])
def test_a_fault_in_the_section_is_named_at_its_pointer_with_the_cores_code(change, expected):
    assert expected in errors_of(changed(TEXTILE, change))


def test_the_errors_never_carry_the_values_submitted():
    secret = "Geheime Fabriek BV"
    document = changed(TEXTILE, lambda d: d["textile"]["production_locations"][0].update(
        name=secret * 40, tier=secret, product_types=[secret]))
    with pytest.raises(PlanInvalid) as caught:
        validate_plan(document)
    assert len(caught.value.errors) == 3
    assert secret not in json.dumps([e.model_dump() for e in caught.value.errors])


def test_a_section_is_read_as_the_core_is_nulls_absent_texts_trimmed_codes_in_case():
    def loosen(d):
        location = d["textile"]["production_locations"][0]
        location.update(country=f" {location['country'].lower()} ", name=f"  {location['name']}  ",
                        exit=None, last_monitoring=None)
    plan = validate_plan(changed(TEXTILE, loosen))
    location = plan.section("textile")["production_locations"][0]
    original = example_doc(TEXTILE)["textile"]["production_locations"][0]
    assert original["country"] == "in" and location["country"] == "IN"
    assert location["name"] == original["name"]
    assert "exit" not in location and "last_monitoring" not in location


def test_defaults_are_filled_in_and_numbers_take_their_schemas_type():
    def bare(d):
        location = d["textile"]["production_locations"][0]
        for name in ("active", "via_intermediary", "processing_steps"):
            location.pop(name, None)
        location["purchase_share_pct"] = 40
        location["tier"] = 1.0
    location = validate_plan(changed(TEXTILE, bare)).section("textile")[
        "production_locations"][0]
    assert location["active"] is True and location["via_intermediary"] is False
    assert location["processing_steps"] == []
    assert location["purchase_share_pct"] == 40.0 and isinstance(
        location["purchase_share_pct"], float)
    assert location["tier"] == 1 and isinstance(location["tier"], int)


def test_the_same_plan_hashes_alike_however_its_section_is_written():
    document = example_doc(BANKING)
    loose = copy.deepcopy(document)
    for financing in loose["banking"]["financings"]:
        financing["amount_eur"] = int(financing["amount_eur"])
        financing["maturity_on"] = financing.get("maturity_on")
    assert content_digest(validate_plan(loose)) == content_digest(validate_plan(document))


def test_the_section_travels_with_the_plan_through_an_event():
    plan = validate_plan(example_doc(BANKING))
    again = type(plan).model_validate_json(plan.model_dump_json(by_alias=True))
    assert again.section("banking") == plan.section("banking")
    assert again.to_json_dict() == plan.to_json_dict()


@pytest.mark.parametrize("name", [BANKING, NATURAL_STONE, TEXTILE])
def test_the_rules_read_of_a_plan_is_its_json_without_copying_the_sections(name):
    plan = validate_plan(example_doc(name))
    view = plan.read_only_json()
    assert view == plan.to_json_dict()
    assert view[plan.covenant] is plan.section(plan.covenant)


def test_a_list_is_refused_above_the_items_the_assessment_takes():
    """Natural stone's factories are not spread over engine states (textile's locations are):
    5,000 items at most, each factory counting with its processes and quarries."""
    def many(d, factories):
        factory = d["natural_stone"]["factories"][0]  # two processes and one quarry: 4 items
        d["natural_stone"]["factories"] = [dict(factory, site_id=f"F-{i}")
                                           for i in range(factories)]
    assert ("/natural_stone/factories", "too_many_items") in errors_of(
        changed(NATURAL_STONE, lambda d: many(d, 1251)))
    try:
        validate_plan(changed(NATURAL_STONE, lambda d: many(d, 1250)))
    except PlanInvalid as e:  # other faults of so many copies may remain: not this one
        assert "too_many_items" not in {error.code for error in e.errors}


def test_a_schema_that_names_an_unknown_vocabulary_or_is_no_schema_is_refused_with_its_line(
        tmp_path):
    shutil.copytree(RULES, tmp_path / "rules")
    path = tmp_path / "rules" / "covenants" / "textile" / "extension.schema.yaml"
    text = path.read_text()
    path.write_text(text.replace("x-vocabulary: ProductType", "x-vocabulary: ProductKind"))
    [problem] = lint(tmp_path / "rules")[1]
    line = next(n for n, t in enumerate(path.read_text().splitlines(), 1) if "ProductKind" in t)
    assert (problem.file, problem.line) == (path, line) and "'ProductKind'" in problem.message
    path.write_text(text.replace("type: integer", "type: whole", 1))  # an unknown field type
    [problem] = lint(tmp_path / "rules")[1]
    line = next(n for n, t in enumerate(path.read_text().splitlines(), 1) if "type: whole" in t)
    assert (problem.file, problem.line) == (path, line)
    assert "not a valid JSON Schema" in problem.message and '"whole"' in problem.message


def test_a_covenants_own_vocabulary_gives_its_values_and_their_labels(tmp_path):
    from services.shared import i18n

    shutil.copytree(RULES, tmp_path / "rules")
    folder = tmp_path / "rules" / "covenants" / "textile"
    definition = folder / "covenant.yaml"
    definition.write_text(definition.read_text() + (
        "vocabularies:\n"
        "  Fibre:\n"
        "    cotton: {nl: katoen, en: cotton}\n"
        "    hemp: {nl: hennep, en: hemp}\n"))
    schema = folder / "extension.schema.yaml"
    schema.write_text(schema.read_text().replace(
        "      material: {type: string, x-vocabulary: Material}",
        "      material: {type: string, x-vocabulary: Material}\n"
        "      fibre: {type: string, x-vocabulary: Fibre}"))
    before = covenants.use(load(tmp_path / "rules"))
    try:
        assert i18n.label("Fibre", "hemp", "nl") == "hennep"
        errors = errors_of(changed(TEXTILE, lambda d: d["textile"]["raw_materials"][0].update(
            fibre="silk")))
        assert ("/textile/raw_materials/0/fibre", "enum") in errors
        plan = validate_plan(changed(TEXTILE, lambda d: d["textile"]["raw_materials"][0].update(
            fibre="hemp")))
        assert plan.section("textile")["raw_materials"][0]["fibre"] == "hemp"
    finally:
        covenants.use(before)


def test_reading_a_section_copies_only_what_it_changes_and_never_the_document():
    """A bank's section is held once: what reading leaves as it is, is the document's own;
    what it trims, cases or completes is a copy, and the document is left as it was given."""
    expected = validate_plan(example_doc(TEXTILE)).section("textile")
    document = example_doc(TEXTILE)
    locations = document["textile"]["production_locations"]
    locations[0]["name"] = f"  {locations[0]['name']} "
    locations[0]["country"] = locations[0]["country"].lower()
    locations[1]["via_intermediary"] = False  # its default: nothing to complete
    given = copy.deepcopy(document)
    read = validate_plan(document).section("textile")
    assert document == given
    assert read == expected
    assert read is not document["textile"] and read["production_locations"] is not locations
    assert read["production_locations"][1] is locations[1]
