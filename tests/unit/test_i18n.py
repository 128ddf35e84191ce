"""Every value that reaches a reader has a Dutch and an English label, and numbers, dates and
names follow CLDR."""

import csv
from datetime import date
from enum import StrEnum

import pytest

from services.notify.letters import plan_parts
from services.rules.core.presenting import field_presentation
from services.rules.core.vocabulary import KINDS, field_values, parts_of, shape_of_kind
from services.shared import covenants, i18n
from services.shared.contracts import FieldError, PlanSubmission, Severity, vocab
from services.shared.contracts.countries import ISO_3166_ALPHA2
from services.shared.contracts.integrity import check_integrity
from tests.support import ROOT

ENUMS = {name: e for name, e in vars(vocab).items()
         if isinstance(e, type) and issubclass(e, StrEnum) and e is not StrEnum
         and e is not vocab.Language} | {"Severity": Severity}


def reference_values(file: str, column: str) -> set[str]:
    with open(ROOT / "rules" / "reference" / file, newline="") as f:
        return {row[column] for row in csv.DictReader(f)}


EXPECTED = {name: set(e) for name, e in ENUMS.items()} | {
    "Good": reference_values("dol_goods.csv", "good") | {"footwear"}}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_vocabulary_value_has_a_dutch_and_an_english_label(name):
    labels = i18n.vocabularies().get(name)
    assert labels is not None, f"labels.yaml lacks the vocabulary {name}"
    assert set(labels) >= EXPECTED[name], f"{name}: no labels for {EXPECTED[name] - set(labels)}"
    assert set(labels) <= EXPECTED[name], f"{name}: labels for unknown values " \
        f"{set(labels) - EXPECTED[name]}"
    for value, label in labels.items():
        assert set(label) == {"nl", "en"} and all(isinstance(t, str) and t.strip()
                                                  for t in label.values()), (name, value)


def test_labels_yaml_has_no_vocabulary_the_contracts_do_not_know():
    # the names of covenants, their themes and materials, and the covenants' own vocabularies,
    # come from the covenant definitions
    own = {name for c in covenants.current() for name in c.spec.vocabularies}
    assert "StoneType" in own
    assert set(i18n.vocabularies()) == set(EXPECTED) | {"Covenant", "Theme", "Material"} | own
    assert set(i18n.vocabularies()["Covenant"]) == set(covenants.names())


def test_every_field_shown_from_a_vocabulary_names_a_known_one():
    known = set(i18n.vocabularies()) | {"country", "language", "theme", "percent", "euros"}
    named = {(k, f): field_values(k, f) for k in KINDS for f in _fields(k)}
    assert {v for v in named.values() if v} <= known
    assert len([v for v in named.values() if v]) >= 60  # most coded fields have a vocabulary
    # the parts the letters speak of most are shown from their vocabularies
    with parts_of("textile"):
        assert field_presentation("location", "country") == "country"
        assert field_presentation("location_product", "product_type") == "ProductType"
        assert field_presentation("raw_material", "material") == "Material"
    with parts_of("natural_stone"):  # a quarry
        assert field_presentation("location", "stone_type") == "StoneType"
    assert field_presentation("risk", "theme") == "theme"
    assert field_presentation("dol_good", "good") == "Good"
    assert field_presentation("mechanism", "coverage_pct_locations") == "percent"
    assert field_presentation("chain_exposure", "exposure_eur") == "euros"


def _fields(kind: str) -> list[str]:
    """The kind's own fields: its schema model's, its declared ones, its link value."""
    k, shape = KINDS[kind], shape_of_kind(kind) or shape_of_kind(KINDS[kind].parent)
    return [*(shape.fields if shape else ()), *k.fields, *k.vocabularies,
            *k.projections, *([k.value] if k.value else [])]


def test_every_instrument_has_names_and_a_known_covenant_if_any():
    for name, instrument in i18n.instruments().items():
        assert set(instrument["name"]) == {"nl", "en"}, name
        assert instrument.get("covenant") in (None, *covenants.names()), name
    for words, texts in i18n.locators().items():
        assert set(texts) == {"nl", "en"} and texts["en"] == words, words


def test_every_country_has_a_name_in_both_languages():
    for code in ISO_3166_ALPHA2:
        for language in i18n.LANGUAGES:
            assert i18n.country(code, language) != code, (code, language)
    assert (i18n.country("TR", "nl"), i18n.country("BD", "nl")) == ("Turkije", "Bangladesh")


@pytest.mark.parametrize("language", ["nl", "en"])
def test_numbers_and_shares_are_written_as_babel_writes_them(language):
    """`number` writes small counts itself and reads Babel's patterns once: the same text as
    Babel's own functions, for whole numbers either side of the shortcut, fractions, negative
    and large values."""
    from babel.numbers import format_decimal, format_percent
    locale = {"nl": "nl_NL", "en": "en_GB"}[language]
    for value in (0, 7, 999, 1000, 1234, 65_536, 2_000_000, -3, -1234, 2.5, 1234.567, 0.125):
        assert i18n.number(value, language) == format_decimal(
            value, format="#,##0.##", locale=locale), value
    for fraction in (0, 0.5, 0.965, 1, 1.5, 0.12345):
        assert i18n.share(fraction, language) == format_percent(
            fraction, format="#,##0.#%", locale=locale), fraction
    assert i18n.number(1234, language) == {"nl": "1.234", "en": "1,234"}[language]


@pytest.mark.parametrize(("language", "expected"), [
    ("nl", ["4 juli 2019", "96,5%", "1.234,5", "€\xa08.000.000", "€\xa012,50", "1 beoordeling",
            "3 beoordelingen", "12 maanden", "Bengaals", "katoen, wol en zijde", "ja"]),
    ("en", ["4 July 2019", "96.5%", "1,234.5", "€8,000,000", "€12.50", "1 assessment",
            "3 assessments", "12 months", "Bangla", "cotton, wool and silk", "yes"]),
])
def test_numbers_dates_and_plurals_follow_cldr(language, expected):
    forms = {"nl": {"one": "{n} beoordeling", "other": "{n} beoordelingen"},
             "en": {"one": "{n} assessment", "other": "{n} assessments"}}[language]
    assert [i18n.day(date(2019, 7, 4), language), i18n.show(0.965, "share", language),
            i18n.show(1234.5, "number", language), i18n.show(8_000_000, "euros", language),
            i18n.show(12.5, "euros", language), i18n.plural(1, forms, language),
            i18n.plural(3, forms, language), i18n.show({"months": 12}, "duration", language),
            i18n.show("bn", "language", language),
            i18n.show(["cotton", "wool", "silk"], "Material", language),
            i18n.show(True, "flag", language)] == expected


def test_a_citation_reads_in_the_readers_language():
    assert i18n.citation("AGT-AF", "3", "nl") == "Beoordelingskader Kleding en Textiel 3"
    assert i18n.citation("GFG", "step 4", "nl") == "OESO-handreiking kleding en schoeisel stap 4"
    assert i18n.citation("UNGP", "16(a)", "en") == "UNGP 16(a)"


def test_a_change_is_signed_with_a_true_minus_and_localised():
    assert [i18n.signed(v, "nl") for v in (2, -4.3, 0)] == ["+2", "\u22124,3", "±0"]
    assert i18n.signed(-1234.5, "en") == "\u22121,234.5"


def test_every_plan_part_has_its_names():
    """A letter says where in the plan a finding is, in words: the core's parts are named in
    labels.yaml, a covenant's section parts in its definition (`label`)."""
    named = i18n.parts()
    for covenant in covenants.current().names:
        for part, _ in plan_parts(covenant):
            assert set(named.get(part, {})) == {"nl", "en"}, (covenant, part)


def test_every_field_of_the_core_and_of_each_covenants_section_has_its_names():
    """A rejection says which field is wrong in words ("grootteklasse", not "size_class"):
    the core's fields are named in labels.yaml (and only fields the core has), a covenant's
    section's in its definition or, for a name the core shares, in labels.yaml."""
    core = set(covenants.field_names(PlanSubmission.model_json_schema(by_alias=True)))
    assert set(i18n.fields()) == core
    for c in covenants.current():
        named = i18n.fields(c.extension)
        for name in covenants.field_names(c.schema):
            labels = named.get(name, {})
            assert set(labels) == {"nl", "en"} and all(labels.values()), (c.name, name)


PARTS = plan_parts("textile")


@pytest.mark.parametrize(("pointer", "nl", "en"), [
    ("/company/size_class", "De bedrijfsgegevens, grootteklasse",
     "The company details, size class"),
    ("/actions/0/risk_ids/1", "Actie 1, risico's, nr. 2", "Action 1, risks, no. 2"),
    ("/risk_assessment/risks/2/severity/irremediability", "Risico 3, ernst, onherstelbaarheid",
     "Risk 3, severity, irremediability"),
    ("/actions/0/owner", "Actie 1, veld 'owner'", "Action 1, field 'owner'"),
    ("/schema", "Formaat", "Format"),
    ("", "Het plan als geheel", "The plan as a whole"),
    ("/banking", "Het onderdeel 'banking'", "The part 'banking'"),  # another covenant's
    # a section's field by its covenant's name for it, a field it shares with the core too
    ("/textile/production_locations/1/product_types/0", "Productielocatie 2, productsoorten, nr. 1",
     "Production location 2, product types, no. 1"),
    ("/textile/production_locations/0/tier", "Productielocatie 1, schakel in de keten",
     "Production location 1, tier"),
    ("/previous/tracking/kpi_results/0/value", "Het vorige plan: KPI-resultaat 1, waarde",
     "The previous plan: KPI result 1, value"),
])
def test_a_place_in_a_plan_is_named_in_words(pointer, nl, en):
    assert (i18n.place(pointer, "nl", PARTS), i18n.place(pointer, "en", PARTS)) == (nl, en)


def test_what_a_plan_names_does_not_add_to_the_names_kept():
    """A pointer's first step chooses the names (a covenant's section has its own); a member
    a plan should not have gets the core's, not names made and kept again for it."""
    for member in ("colour", "size", "/"):
        assert i18n.fields(member) is i18n.fields()
    assert i18n.fields("textile") is not i18n.fields()
    assert i18n.fields("textile")["union_present"]["nl"] == "vakbond aanwezig"


def test_an_id_used_twice_names_the_part_that_used_it_first_in_words():
    document = {"risk_assessment": {"risks": [{"risk_id": "R-1"}, {"risk_id": "R-1"}]}}
    [error] = [e for e in check_integrity(document) if e.code == "duplicate_id"]
    assert error.pointer == "/risk_assessment/risks/1/risk_id"
    assert i18n.error_text(error, "nl", PARTS) == \
        "Het id 'R-1' wordt twee keer gebruikt, eerst bij risico 1."
    assert i18n.error_text(error, "en", PARTS) == "The id 'R-1' is used twice, first by risk 1."


@pytest.mark.parametrize(("expected", "nl", "en"), [
    ("'small', 'medium' or 'large'", "'small' (klein), 'medium' (middelgroot) of 'large' (groot)",
     "'small', 'medium' (medium-sized) or 'large'"),  # a label that says no more is left out
    # two vocabularies of these values word them otherwise: a bank's Equator Principles
    # categories, a natural stone company's groups
    ("'A', 'B' or 'C'", "'A', 'B' of 'C'", "'A', 'B' or 'C'"),
    ("'x' or 'y'", "'x' of 'y'", "'x' or 'y'"),  # no vocabulary has them
])
def test_the_values_a_field_takes_are_named_as_written_and_in_words(expected, nl, en):
    error = FieldError(pointer="/company/size_class", code="enum", message="-",
                       context={"expected": expected})
    assert i18n.error_text(error, "nl").endswith(f"kies uit {nl}.")
    assert i18n.error_text(error, "en").endswith(f"choose from {en}.")
