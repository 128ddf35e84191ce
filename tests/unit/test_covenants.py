"""Covenants as configuration: definitions are read, checked with file and line, and everything
that used to name a covenant in code takes it from them (services/shared/covenants.py)."""

import json
import shutil
from pathlib import Path

import pytest

from services.cli import main
from services.notify.letters import plan_parts
from services.rules.adapters.rulefiles import RuleFileError, load_rulebook
from services.rules.factory import engine_from_folder
from services.rules.tooling.lint import lint as lint_rules
from services.shared import covenants, i18n
from services.shared.contracts import validate_plan
from services.shared.contracts.integrity import check_integrity
from services.shared.contracts.messages import plan_routing_key_for
from services.shared.contracts.parsing import PlanInvalid
from services.shared.covenants import CovenantError, lint, load
from tests.support import ROOT, TEXTILE, example_doc

RULES = ROOT / "rules"


@pytest.fixture
def using():
    """Makes the process work with the covenants of a folder for one test."""
    before = covenants.use(None)

    def use(folder: Path) -> covenants.Covenants:
        defined = load(folder)
        covenants.use(defined)
        return defined

    yield use
    covenants.use(before)


def line(path: Path, text: str) -> int:
    return path.read_text().splitlines().index(text) + 1


def test_the_bundled_definitions_are_the_covenants_built_so_far_and_lint_clean():
    defined, problems = lint(RULES)
    assert problems == []
    assert defined.names == ("banking", "food", "gold", "insurance", "metals", "natural_stone",
                             "textile")
    assert defined["textile"].extension == "textile"
    assert "living_wage" in defined["textile"].themes
    assert "living_wage" not in defined["banking"].themes
    assert defined.due_on("textile", 2019).isoformat() == "2019-04-01"
    assert defined.due_on("banking", 2019).isoformat() == "2019-03-31"
    assert defined.due_on("textile", 1999) is None
    assert defined["natural_stone"].extension == "natural_stone"
    assert defined.due_on("natural_stone", 2021).isoformat() == "2021-12-31"


def test_an_unknown_field_and_a_missing_translation_are_refused_with_file_and_line(rules_copy):
    path = rules_copy / "covenants" / "banking" / "covenant.yaml"
    text = path.read_text()
    text = text.replace("  indigenous_peoples: {nl: inheemse volken, en: indigenous peoples}",
                        "  indigenous_peoples: {en: indigenous peoples}")
    text = text.replace("calendar: calendar.csv", "calendar: calendar.csv\ncolour: blue")
    path.write_text(text)
    _, problems = lint(rules_copy)
    found = {(p.file.name, p.line, p.message.split(":")[0]) for p in problems}
    assert ("covenant.yaml", line(path, "  indigenous_peoples: {en: indigenous peoples}"),
            "themes/indigenous_peoples/nl") in found
    assert ("covenant.yaml", line(path, "colour: blue"), "colour") in found
    with pytest.raises(CovenantError, match=r"covenant\.yaml:"):
        load(rules_copy)


def test_a_folder_name_a_calendar_without_provenance_and_shared_sections_are_refused(
        rules_copy):
    covenants_dir = rules_copy / "covenants"
    shutil.copytree(covenants_dir / "banking", covenants_dir / "pensions")
    calendar = covenants_dir / "pensions" / "calendar.csv"
    calendar.write_text(calendar.read_text().replace(",sample,invented for testing", ",,", 1))
    _, problems = lint(rules_copy)
    messages = [str(p) for p in problems]
    assert any("pensions/covenant.yaml:" in m and "folder named banking" in m
               for m in messages), messages
    assert any("pensions/calendar.csv:2: no edition, source" in m for m in messages), messages


def test_a_vocabulary_two_covenants_declare_is_one_vocabulary(rules_copy):
    """Gold and metals both declare the RMAP statuses: accepted while alike, refused when one
    words them otherwise."""
    _, problems = lint(rules_copy)
    assert problems == []
    path = rules_copy / "covenants" / "metals" / "covenant.yaml"
    path.write_text(path.read_text().replace("{nl: RMAP-conform, en: RMAP conformant}",
                                             "{nl: RMAP-conform, en: conformant}"))
    _, problems = lint(rules_copy)
    assert any("metals/covenant.yaml" in str(p) and "vocabulary RmapStatus differs from "
               "covenant gold's" in str(p) for p in problems), problems


def test_raw_materials_are_each_covenants_own(rules_copy):
    """A food plan's risk may name cocoa, not cotton (a textile material); a material two
    covenants declare has one wording."""
    document = json.loads((ROOT / "rules" / "fixtures" / "compliant-food.json").read_text())
    document["risk_assessment"]["risks"][0]["materials"] = ["cocoa", "cotton"]
    document["risk_assessment"]["scoping"]["materials"] = ["gold"]
    codes = {(e.pointer, e.code) for e in check_integrity(document)}
    assert codes == {("/risk_assessment/risks/0/materials/1", "material_not_in_covenant"),
                     ("/risk_assessment/scoping/materials/0", "material_not_in_covenant")}
    document["risk_assessment"]["risks"][0]["materials"] = ["kryptonite"]
    with pytest.raises(PlanInvalid) as caught:
        validate_plan(document)
    assert ("/risk_assessment/risks/0/materials/0", "unknown_material") in {
        (e.pointer, e.code) for e in caught.value.errors}
    path = rules_copy / "covenants" / "metals" / "covenant.yaml"
    path.write_text(path.read_text().replace("other: {nl: overig materiaal, en: other material}",
                                             "other: {nl: ander metaal, en: another metal}"))
    _, problems = lint(rules_copy)
    assert any("material other is worded differently" in str(p) for p in problems), problems


def test_a_name_for_a_field_its_section_does_not_have_is_refused_at_its_line(rules_copy):
    """A covenant names its section's fields for readers (`fields`); a name for a field the
    section lacks (misspelt, or left behind when the field went) is a problem at its line."""
    path = rules_copy / "covenants" / "textile" / "covenant.yaml"
    text = path.read_text()
    path.write_text(text.replace("  union_present:", "  union_presence:", 1))
    _, problems = lint(rules_copy)
    line = text.splitlines().index(next(x for x in text.splitlines()
                                        if x.startswith("  union_present:"))) + 1
    assert [str(p) for p in problems] == [
        f"{path}:{line}: fields: 'union_presence' is no field of the plan section 'textile'"]


def test_a_covenant_may_name_a_field_it_shares_with_the_core_its_own_way(rules_copy, using):
    """Within its section only: the core's field of that name keeps the core's words."""
    path = rules_copy / "covenants" / "textile" / "covenant.yaml"
    path.write_text(path.read_text().replace("\nfields:\n",
                                             "\nfields:\n  tier: {nl: schakel, en: link}\n", 1))
    using(rules_copy)
    parts = plan_parts("textile")
    assert i18n.place("/textile/production_locations/0/tier", "en", parts) == \
        "Production location 1, link"
    assert i18n.place("/risk_assessment/risks/0/tier", "en", parts) == "Risk 1, tier"


def test_themes_shared_by_two_covenants_have_one_wording(rules_copy):
    path = rules_copy / "covenants" / "banking" / "covenant.yaml"
    path.write_text(path.read_text().replace("{nl: kinderarbeid, en: child labour}",
                                             "{nl: kinderarbeid, en: child work}"))
    _, problems = lint(rules_copy)
    assert any("theme child_labour is worded differently" in str(p) for p in problems)


def test_a_rule_scoped_to_an_unknown_covenant_is_refused_with_file_and_line(rules_copy):
    path = rules_copy / "dd6-remedy.yaml"
    text = path.read_text()
    every = "    scope: [textile, banking, natural_stone, gold, food, metals, insurance]\n"
    assert every in text
    path.write_text(text.replace(every, "    scope: [textile, bankng]\n", 1))
    problems = [str(p) for p in lint_rules(rules_copy)]
    at = line(path, "    scope: [textile, bankng]")
    assert any(f"dd6-remedy.yaml:{at}:" in p and "'bankng'" in p for p in problems), problems
    with pytest.raises(RuleFileError, match="bankng"):
        load_rulebook(rules_copy)


def test_a_new_covenant_folder_is_a_new_covenant_everywhere(rules_copy, using):
    """Routing, the plan's covenant and extension, its themes, its labels: from the folder."""
    folder = rules_copy / "covenants" / "pensions"
    folder.mkdir()
    (folder / "covenant.yaml").write_text(
        "name: pensions\n"
        "title: {nl: pensioenfondsen, en: pension funds}\n"
        "agreement: {nl: IMVO-convenant Pensioenfondsen, en: Pension Funds Agreement}\n"
        "extension: pensions\n"
        "themes:\n"
        "  child_labour: {nl: kinderarbeid, en: child labour}\n"
        "  investee_engagement: {nl: dialoog met ondernemingen, en: engagement with investees}\n"
        "instruments:\n"
        "  PFA: {nl: IMVO-convenant pensioenfondsen, en: Pension Funds Agreement}\n")
    (folder / "extension.schema.yaml").write_text(
        "type: object\n"
        "additionalProperties: false\n"
        "properties:\n"
        "  mandates: {type: array, items: {type: string}}\n")
    defined = using(rules_copy)
    assert defined.names == ("banking", "food", "gold", "insurance", "metals", "natural_stone",
                             "pensions", "textile")
    assert i18n.label("Covenant", "pensions", "nl") == "pensioenfondsen"
    assert i18n.theme("investee_engagement", "en") == "engagement with investees"
    assert i18n.instrument_covenant("PFA") == "pensions"
    body = json.dumps({"submission": {"covenant": "pensions"}}).encode()
    assert plan_routing_key_for(body) == "plan.pensions"
    document = example_doc(TEXTILE)
    document["submission"]["covenant"] = "pensions"
    codes = {(e.pointer, e.code) for e in check_integrity(document)}
    assert ("/pensions", "missing_extension") in codes
    assert ("/textile", "foreign_extension") in codes
    assert any(code == "theme_not_in_covenant" for _, code in codes)  # living_wage and others


def test_a_plan_of_a_covenant_not_defined_is_refused_with_the_known_ones():
    document = example_doc(TEXTILE)
    document["submission"]["covenant"] = "cosmetics"
    with pytest.raises(PlanInvalid) as caught:
        validate_plan(document)
    [error] = [e for e in caught.value.errors if e.pointer == "/submission/covenant"]
    assert error.code == "unknown_covenant"
    assert "banking, food, gold, insurance, metals, natural_stone, textile" in error.message
    assert i18n.error_text(error, "nl") == (
        "'cosmetics' is geen convenant; bekend zijn: "
        "banking, food, gold, insurance, metals, natural_stone, textile.")


def test_covenants_list_show_and_lint_speak_the_readers_language(capsys):
    assert main(["covenants", "list", "--lang", "en"]) == 0
    listed = capsys.readouterr().out
    assert "textile: garments and textile (Dutch Agreement on Sustainable Garments and " \
           "Textile); rules that apply: " in listed
    assert main(["covenants", "show", "banking"]) == 0
    shown = capsys.readouterr().out
    assert "routeringssleutel" in shown and "plan.banking" in shown
    assert "31 maart 2019" in shown and "arbeidsrechten" in shown
    assert main(["covenants", "show", "cosmetics", "--lang", "en"]) == 78
    assert "'cosmetics' is not a covenant; known are: banking, food, gold, insurance, " \
        "metals, natural_stone and textile" in capsys.readouterr().err
    assert main(["covenants", "lint"]) == 0


def test_covenants_show_names_the_fields_a_reader_would_see_by_their_code(rules_copy,
                                                                          monkeypatch, capsys):
    """A field without a name for readers is not a problem lint refuses (letters show it as
    "veld 'union_present'"), so `covenants show` lists them, for the definition's author."""
    path = rules_copy / "covenants" / "textile" / "covenant.yaml"
    path.write_text("".join(line for line in path.read_text().splitlines(keepends=True)
                            if not line.startswith(("  union_present:", "  cba_present:"))))
    monkeypatch.setenv("RULES_DIR", str(rules_copy))
    assert main(["covenants", "show", "textile", "--lang", "en"]) == 0
    assert "fields without a name for readers (fields)  cba_present, union_present\n" in \
        capsys.readouterr().out
    assert main(["covenants", "show", "banking", "--lang", "en"]) == 0
    assert "fields without a name for readers (fields)  \u2013\n" in capsys.readouterr().out


def test_covenants_lint_fails_on_a_broken_definition(rules_copy, monkeypatch, capsys):
    path = rules_copy / "covenants" / "textile" / "covenant.yaml"
    path.write_text(path.read_text().replace("extension: textile", "extension: Textile"))
    monkeypatch.setenv("RULES_DIR", str(rules_copy))
    assert main(["covenants", "lint"]) == 1
    out = capsys.readouterr().out
    assert f"covenant.yaml:{line(path, 'extension: Textile')}: extension:" in out


def test_a_covenant_sets_its_own_values_of_a_rules_parameters():
    rulebook = load_rulebook(RULES)
    rule = "DD1-POLICY-SCOPE-VALUE-CHAIN"
    assert rulebook.by_id()[rule].parameters["required_scope"] == ["own_operations",
                                                                   "supply_chain"]
    assert rulebook.of_covenant("textile")[rule].parameters["required_scope"] == [
        "own_operations", "supply_chain"]
    assert rulebook.of_covenant("banking")[rule].parameters["required_scope"] == [
        "own_operations", "clients"]


BANKING_OWN = ("banking", "    DD5-PUBLIC-DD-REPORT: {report_owed_after: {days: 0}}")
FOOD_OWN = ("food", "    DD5-PUBLIC-DD-REPORT: info")  # a severity


@pytest.mark.parametrize(("own", "entry", "complaint"), [
    (BANKING_OWN, "    DD9-NO-SUCH-RULE: {x: 1}", "DD9-NO-SUCH-RULE: no such rule"),
    (BANKING_OWN, "    DD1-BUYER-TRAINING: {min_share_pct: 50}",
     "DD1-BUYER-TRAINING: not in scope of banking"),
    (BANKING_OWN, "    DD6-GM-AVAILABLE: {colour: blue}",
     "DD6-GM-AVAILABLE has no parameter 'colour'"),
    (BANKING_OWN, "    DD5-PUBLIC-DD-REPORT: {report_owed_after: 3}",
     "'report_owed_after' is a length or mapping in the rule, not a number"),
    (BANKING_OWN, "    DD5-PUBLIC-DD-REPORT: {report_owed_after: {weeks: 3}}",
     "with these parameters"),
    (FOOD_OWN, "    DD9-NO-SUCH-RULE: low", "DD9-NO-SUCH-RULE: no such rule"),
    (FOOD_OWN, "    DD6-COVENANT-SIGNALS-FOLLOWED-UP: low",
     "DD6-COVENANT-SIGNALS-FOLLOWED-UP: not in scope of food"),
], ids=["unknown rule", "rule out of scope", "unknown parameter", "other shape", "not compiling",
        "severity of an unknown rule", "severity of a rule out of scope"])
def test_rule_choices_a_covenant_cannot_make_are_refused_with_file_and_line(rules_copy, own,
                                                                            entry, complaint):
    """Parameters and severities a covenant sets for rules (its definition's `rules`)."""
    covenant, line = own
    path = rules_copy / "covenants" / covenant / "covenant.yaml"
    path.write_text(path.read_text().replace(line, entry))
    at = path.read_text().splitlines().index(entry) + 1
    problems = [str(p) for p in lint_rules(rules_copy)]
    assert any(f"covenant.yaml:{at}: " in p and complaint in p for p in problems), problems
    with pytest.raises(RuleFileError, match=complaint.split(":")[0]):
        load_rulebook(rules_copy)


def test_a_covenants_severity_is_its_plans_findings_severity():
    rulebook = load_rulebook(ROOT / "rules")
    assert rulebook.by_id()["DD5-PUBLIC-DD-REPORT"].severity == "high"
    assert rulebook.of_covenant("food")["DD5-PUBLIC-DD-REPORT"].severity == "info"
    assert rulebook.of_covenant("metals")["DD5-PUBLIC-DD-REPORT"].severity == "medium"
    assert rulebook.of_covenant("textile")["DD5-PUBLIC-DD-REPORT"].severity == "high"


def test_a_sixth_covenant_made_of_files_only_runs_through_the_one_process_mode(
        tmp_path, monkeypatch, using):
    """No Python added: a definition, a section schema, a calendar and two rules in files."""
    import email
    from email import policy

    from services.pipeline import LocalPipeline
    from tests import new_covenant

    rules, plan_file = new_covenant.make(tmp_path)
    monkeypatch.setenv("RULES_DIR", str(rules))
    monkeypatch.delenv("SMTP_URL", raising=False)
    using(rules)
    [report] = LocalPipeline.on_embedded_defaults(tmp_path / "outbox").run([plan_file])
    assert report.outcome == "accepted", report
    findings = {f.rule_id: f for f in report.assessment.findings}
    assert set(findings) == {"PF-ASSET-CLASSES-SCREENED", "PF-PLAN-ON-TIME"}
    assert findings["PF-ASSET-CLASSES-SCREENED"].pointers == ["/pensions/asset_classes/1"]
    assert [str(r) for r in findings["PF-PLAN-ON-TIME"].references] == ["PFA 9"]
    letters = [email.message_from_bytes(p.read_bytes(), policy=policy.default)
               for p in (tmp_path / "outbox").glob("*.eml")]
    [letter] = [m for m in letters if m["To"] == new_covenant.CONTACT]
    text = letter.get_body(("plain",)).get_content()
    assert "Pension Funds Agreement 9" in text  # its own instrument, in the plan's language
    assert "10 days after the deadline" in text
    assert "The investments in corporate bonds (40% of the assets) were not screened" in text
    # its fields named as its definition names them
    assert i18n.place("/pensions/asset_classes/1/screened", "nl", plan_parts(
        new_covenant.NAME)) == "Beleggingscategorie 2, gescreend"


def test_ids_and_references_of_a_section_come_from_its_schema(tmp_path, using):
    """`x-collection` and `x-references` in a section's schema: the bank's clients are
    referable, and a covenant whose section has no locations leaves a risk's location dangle."""
    from tests import new_covenant

    rules, _ = new_covenant.make(tmp_path)
    using(rules)
    document = new_covenant.plan()
    document["risk_assessment"]["risks"][0]["location_ids"] = ["L-01"]
    document["risk_assessment"]["risks"][1]["client_refs"] = ["C-01"]
    codes = {(e.pointer, e.code) for e in check_integrity(document)}
    assert codes == {("/risk_assessment/risks/0/location_ids/0", "dangling_reference"),
                     ("/risk_assessment/risks/1/client_refs/0", "dangling_reference")}
    bank = example_doc("banking-voorbeeldbank-2019.json")
    bank["banking"]["financings"][0]["client_ref"] = "NOBODY"
    bank["banking"]["clients"][1]["client_ref"] = bank["banking"]["clients"][0]["client_ref"]
    codes = {(e.pointer, e.code) for e in check_integrity(bank)}
    assert ("/banking/financings/0/client_ref", "dangling_reference") in codes
    assert ("/banking/clients/1/client_ref", "duplicate_id") in codes


@pytest.mark.parametrize(("declaration", "complaint"), [
    ("  asset_classes: {path: holdings/*, what: x}", "the section's schema has no object at"),
    ("  policy: {path: asset_classes/*, what: x}", "'policy' is a part of every plan"),
    ("  fund: {path: asset_classes/*, what: x, parent: nothing}",
     "'nothing' is no part of this section"),
], ids=["path not in the schema", "a core part's name", "unknown parent"])
def test_parts_a_covenant_cannot_declare_are_refused_with_file_and_line(tmp_path, declaration,
                                                                         complaint):
    from tests import new_covenant

    rules, _ = new_covenant.make(tmp_path)
    path = rules / "covenants" / new_covenant.NAME / "covenant.yaml"
    path.write_text(path.read_text() + declaration + "\n")
    at = len(path.read_text().splitlines())
    problems = [str(p) for p in lint_rules(rules)]
    assert any(f"covenant.yaml:{at}: parts: " in p and complaint in p for p in problems), problems
    with pytest.raises(RuleFileError, match="parts: "):
        load_rulebook(rules)


@pytest.mark.parametrize(("names", "complaint"), [
    ("nothing", "its values name 'nothing', which is no part with an id"),
    ("asset_class", None),
    ("risk", None),  # a part of every plan, with an id
    ("location", "its values name 'location', which is no part with an id"),  # textile's
    ("risk_country", "its values name 'risk_country', which is no part with an id"),
])
def test_a_link_names_only_parts_with_an_id(tmp_path, names, complaint):
    """A link whose values are the ids of a long list's parts (`names`) goes with those parts
    when they are spread over engine states: they must be parts, with ids."""
    from tests import new_covenant

    rules, _ = new_covenant.make(tmp_path)
    own = rules / "covenants" / new_covenant.NAME
    schema = own / "extension.schema.yaml"
    schema.write_text(schema.read_text().replace(
        "        screened: {type: boolean, default: false}\n",
        "        screened: {type: boolean, default: false}\n"
        "        peers: {type: array, items: {type: string}}\n"))
    definition = own / "covenant.yaml"
    definition.write_text(definition.read_text() + "links:\n  asset_peer: {parent: asset_class, "
                          f"list: peers, value: peer, names: {names}}}\n")
    problems = [str(p) for p in lint_rules(rules)]
    if complaint is None:
        assert not any("links: " in p for p in problems), problems
    else:
        at = len(definition.read_text().splitlines())
        assert any(f"covenant.yaml:{at}: links: " in p and complaint in p for p in problems), \
            problems


def test_a_rule_on_production_locations_runs_over_another_covenants_sites_uncopied(
        tmp_path, using):
    """A covenant may give a common part name to its own list: `location` for quarries. The
    rule on locations then runs over them too, once its scope names the covenant."""
    import json as _json

    from services.rules.factory import engine_from_folder
    from services.shared.contracts import validate_plan
    from tests import new_covenant

    rules, _ = new_covenant.make(tmp_path)
    stone = rules / "covenants" / "stone"
    stone.mkdir()
    themes = (rules / "covenants" / "pensions" / "covenant.yaml").read_text()
    themes = themes[themes.index("themes:"):themes.index("instruments:")]
    (stone / "covenant.yaml").write_text(
        "name: stone\n"
        "title: {nl: natuursteen, en: natural stone}\n"
        "agreement: {nl: IMVO-convenant Natuursteen, en: TruStone Initiative}\n"
        "extension: stone\n" + themes +
        "parts:\n"
        "  location: {path: quarries/*, id: location_id, what: one quarry}\n")
    (stone / "extension.schema.yaml").write_text(
        "type: object\n"
        "additionalProperties: false\n"
        "properties:\n"
        "  quarries:\n"
        "    type: array\n"
        "    x-collection: {name: location, id: location_id}\n"
        "    items:\n"
        "      type: object\n"
        "      additionalProperties: false\n"
        "      required: [location_id, country]\n"
        "      properties:\n"
        "        location_id: {type: string}\n"
        "        name: {type: string}\n"
        "        country: {type: string, x-vocabulary: country}\n"
        "        active: {type: boolean, default: true}\n"
        "        last_monitoring:\n"
        "          type: object\n"
        "          properties: {date: {type: string, format: date}}\n")
    track = rules / "dd4-track.yaml"
    text = track.read_text()
    start = text.index("  - id: DD4-LOCATION-MONITORING-RECENT")
    track.write_text(text[:start] + text[start:].replace("scope: [textile]",
                                                         "scope: [textile, stone]", 1))
    using(rules)
    assert [str(e) for e in lint_rules(rules)] == []
    document = new_covenant.plan()
    del document["pensions"]
    document["submission"]["covenant"] = "stone"
    document["stone"] = {"quarries": [
        {"location_id": "Q-1", "name": "Groeve Noord", "country": "in",
         "last_monitoring": {"date": "2015-01-10"}},
        {"location_id": "Q-2", "name": "Groeve Zuid", "country": "IN",
         "last_monitoring": {"date": "2019-01-10"}}]}
    engine = engine_from_folder(rules)
    found = [f for f in engine.evaluate(validate_plan(_json.loads(_json.dumps(document))))
             if f.rule_id == "DD4-LOCATION-MONITORING-RECENT"]
    assert [f.pointers for f in found] == [["/stone/quarries/0"]]
    assert "Q-1 (Groeve Noord" in found[0].message.en
    assert [str(r) for r in found[0].references] == ["DDG 4.1"]  # not the garments guidance
    textile = [f.pointers[0] for f in engine.evaluate(validate_plan(example_doc(TEXTILE)))
               if f.rule_id == "DD4-LOCATION-MONITORING-RECENT"]
    assert textile and all(p.startswith("/textile/production_locations/") for p in textile)


def test_a_covenants_reference_list_needs_provenance_and_its_declared_types(rules_copy):
    gold = rules_copy / "covenants" / "gold"
    refiners = gold / "refiners.csv"
    rows = refiners.read_text().splitlines()
    rows[1] = rows[1].replace(",sample,", ",,", 1)  # no edition
    rows[2] = rows[2].replace(",true,2020-11-30,", ",yes,2020-11-30,", 1)  # not a flag
    refiners.write_text("\n".join(rows) + "\n")
    definition = gold / "covenant.yaml"
    definition.write_text(definition.read_text().replace("file: cahra.csv", "file: cahra2.csv"))
    _, problems = lint(rules_copy)
    messages = [str(p) for p in problems]
    assert any("gold/refiners.csv:2: no edition" in m for m in messages), messages
    assert any("gold/refiners.csv:3: 'yes' is not true or false" in m for m in messages), messages
    at = line(definition, "    file: cahra2.csv")
    assert any(f"gold/covenant.yaml:{at}: reference: no file cahra2.csv" in m
               for m in messages), messages


def test_a_calendar_that_is_not_there_is_named_at_its_line(rules_copy):
    definition = rules_copy / "covenants" / "gold" / "covenant.yaml"
    definition.write_text(definition.read_text().replace("calendar: calendar.csv",
                                                         "calendar: agenda.csv"))
    _, problems = lint(rules_copy)
    at = line(definition, "calendar: agenda.csv")
    assert f"gold/covenant.yaml:{at}: calendar: no file agenda.csv here" in \
        [str(p).split("covenants/", 1)[-1] for p in problems]


def test_a_covenants_reference_rows_are_facts_of_its_plans_only():
    engine = engine_from_folder(RULES)
    gold = validate_plan(json.loads((RULES / "fixtures" / "compliant-gold.json").read_text()))
    facts = engine.facts(gold)
    listed = {f["facility_id"]: f for f in facts if f["kind"] == "refiner_status"}
    assert listed["CID-SAMPLE-002"]["rjc_coc_certified"] is True
    assert listed["CID-SAMPLE-002"]["last_assurance_on"] == "2020-11-30"
    assert listed["CID-SAMPLE-002"]["edition"] == "sample"
    assert "last_assurance_on" not in listed["CID-SAMPLE-003"]  # left empty: absent
    assert {f["country"] for f in facts if f["kind"] == "cahra"} >= {"CD", "CF"}
    textile = validate_plan(example_doc(TEXTILE))
    assert not [f for f in engine.facts(textile) if f["kind"] in ("refiner_status", "cahra")]


def test_a_progress_table_or_a_location_list_the_plans_do_not_hold_is_refused(rules_copy):
    banking = rules_copy / "covenants" / "banking" / "covenant.yaml"
    banking.write_text(banking.read_text().replace("      items: financings/*",
                                                   "      items: financing/*"))
    textile = rules_copy / "covenants" / "textile" / "covenant.yaml"
    textile.write_text(textile.read_text().replace("locations: {part: location,",
                                                   "locations: {part: site,"))
    _, problems = lint(rules_copy)
    found = {(p.file.parent.name, p.line, p.message) for p in problems}
    assert ("banking", line(banking, "      items: financing/*"),
            "progress: 'financing/*' is nowhere in the plan section 'banking'") in found
    assert ("textile", line(textile, "locations: {part: site, sector: Apparel}"),
            "locations: 'site' is none of the covenant's parts") in found


def test_what_is_derived_from_the_covenants_is_made_once_and_again_for_others(using, rules_copy):
    made = []

    def make(registry):
        made.append(registry)
        return sorted(registry.names)

    first = using(RULES)
    assert covenants.derived("names", make) is covenants.derived("names", make)
    assert made == [first]
    definition = rules_copy / "covenants" / "textile" / "covenant.yaml"
    definition.write_text(definition.read_text().replace(
        "label: {nl: het deel kleding en textiel, en: the garments and textile section}",
        "label: {nl: het textieldeel, en: the textile part}"))
    second = using(rules_copy)
    assert covenants.derived("names", make) == sorted(second.names) and made == [first, second]
    # the labels of plan parts follow the covenants in use: a letter names the reloaded ones
    assert i18n.parts()["textile:textile"] == {"nl": "het textieldeel", "en": "the textile part"}
    using(RULES)
    assert i18n.parts()["textile:textile"]["en"] == "the garments and textile section"
