"""Every letter kind, in both languages, over every example and every rule-test case plan:
no untranslated vocabulary value or country code in running text, no other covenant's
agreement cited, a next step with its date and a contact; finding ids that stay the same from
one year to the next; and the HTML rendered without errors in a real browser."""

import dataclasses
import email
import json
import os
import re
from datetime import date
from email import policy

import pytest

from services.ingest.domain import examine
from services.notify.domain import Renderer, Secretariat, letters_for
from services.notify.letters import SHOWN_PER_RULE, grouped, told
from services.pipeline import LocalPipeline
from services.rules.adapters.rulefiles import load_rulebook
from services.rules.core.prior import Prior
from services.rules.handlers import assessment_of
from services.rules.tooling.testing import (
    Case,
    CaseEngines,
    all_cases,
    case_plan,
    case_prior,
)
from services.shared import i18n
from services.shared.contracts import (
    AssessmentCompleted,
    Language,
    RecipientRole,
    ReviewFinalised,
    Severity,
    SubmissionRejected,
)
from services.shared.contracts.countries import ISO_3166_ALPHA2
from services.shared.contracts.messages import RejectionReason
from services.shared.contracts.parsing import validate_plan
from tests.corpus.generate import changed
from tests.support import EXAMPLES, ROOT, example_doc

RULES = ROOT / "rules"
SENDER = "IMVO-convenanten <noreply@imvo-convenanten.example>"
SECRETARIAT = Secretariat(
    {"*": "secretariaat@imvo-convenanten.example", "banking": "banken@imvo-convenanten.example"},
    Language.NL, contacts={"*": {"name": "Secretariaat IMVO-convenanten",
                                 "phone": "+31 70 000 0000"}})
CASE_FILES = sorted({path.name for path, _ in all_cases(RULES)})
CORPUS = ROOT / "tests" / "corpus"
SCREENSHOT = ROOT / "docs" / "letter-company-nl.png"


def parsed(message) -> email.message.EmailMessage:
    return email.message_from_bytes(message.as_bytes(), policy=policy.default)


# --- what a reader must not find ------------------------------------------------------------

def _untranslated() -> re.Pattern[str]:
    """Vocabulary values whose Dutch label is another word: seen in a Dutch letter, they are
    English fragments or codes. Not single letters (categories A, B, C), nor values Dutch
    uses as they are (a word of a Dutch label: `management`, `UNGP`, `open`)."""
    dutch = {w.lower() for labels in i18n.vocabularies().values() for label in labels.values()
             for w in re.findall(r"[\w-]+", label["nl"])}
    values = {value for labels in i18n.vocabularies().values() for value in labels
              if len(value) > 1 and value.lower() not in dutch}
    words = sorted(values, key=len, reverse=True)
    return re.compile(r"(?<![\w/.'-])(" + "|".join(
        re.escape(w) if w.islower() else f"(?-i:{re.escape(w)})" for w in words)
        + r")(?![\w/-])", re.IGNORECASE)


UNTRANSLATED = _untranslated()
COUNTRY_CODE = re.compile(r"(?<![\w/'-])([A-Z]{2})(?![\w/'-])")  # quoted: a value to type
SMALL_PRINT = re.compile(r"^\s*\(|^(Inzending|Submission|Regelset|Rule set): ")


def running_text(text: str, own_words: set[str]) -> str:
    """The text a reader reads, without the small print (rule ids, finding ids, pointers,
    error codes), the submission and rule-set ids, the headings (in capitals) and the
    company's own words quoted from its plan (names of locations, responses)."""
    lines = [line for line in text.splitlines()
             if not SMALL_PRINT.match(line) and not line.isupper()]
    kept = "\n".join(lines)
    for words in sorted(own_words, key=len, reverse=True):
        kept = kept.replace(words, "")
    return kept


def own_words(document) -> set[str]:
    """The free texts of a plan (every text with a space or a capital, names and prose)."""
    found: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and (" " in node or node[:1].isupper()) and len(node) > 3:
            found.add(node)

    walk(document)
    return found


def foreign_instruments(covenant: str) -> list[str]:
    return [name for instrument in i18n.instruments().values()
            if instrument.get("covenant") not in (None, covenant)
            for name in instrument["name"].values()]


def problems(message, language: str, covenant: str | None, quoted: set[str] = frozenset()
             ) -> list[str]:
    """What is wrong with a letter's text and HTML for a reader; `quoted`: the plan's own
    words, which the letter may quote."""
    m = parsed(message)
    text = running_text(m.get_body(("plain",)).get_content(), quoted)
    html = m.get_body(("html",)).get_content()
    found = []
    if language == "nl":
        found += [f"untranslated '{w}'" for w in sorted({m.group(1) for m in
                                                         UNTRANSLATED.finditer(text)})]
    found += [f"country code '{c}'" for c in sorted(set(COUNTRY_CODE.findall(text)))
              if c in ISO_3166_ALPHA2]
    if covenant:
        found += [f"cites '{name}'" for name in foreign_instruments(covenant)
                  if name in text or name in html]
    return found


# --- the events -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def engines():
    return CaseEngines(load_rulebook(RULES))


def case_events(engines, file: str) -> list[tuple[str, AssessmentCompleted, set[str]]]:
    """(case, its assessment, the plan's own words) for the cases of one file."""
    events = []
    for path, case in all_cases(RULES):
        if path.name != file:
            continue
        document = case_plan(RULES, path, case)
        plan = validate_plan(document)
        prior = case_prior(RULES, path, case)
        engine = engines.for_case(case)
        event = assessment_of(plan, engine.evaluate(plan, prior), prior, engine,
                              correlation_id="c")
        events.append((f"{case.rule}: {case.note}", event, own_words(document)))
    return events


def letters_of(event, language: Language | None = None):
    """The company's and the secretariat's letters, both in `language` when given."""
    for letter in letters_for(event, SECRETARIAT):
        if language is not None:
            letter = dataclasses.replace(letter, language=language)
        yield letter, Renderer().compose(event, letter, SENDER)


@pytest.mark.parametrize("file", CASE_FILES)
def test_no_letter_about_a_case_plan_has_codes_english_fragments_or_foreign_citations(
        engines, file):
    found = {}
    rules = engines.rulebook.by_id()
    for name, event, quoted in case_events(engines, file):
        for f in event.findings:  # every reference of its covenant and the general ones
            assert f.references == i18n.cited(rules[f.rule_id].references,
                                              event.covenant), (name, f.rule_id)
        for language in Language:
            for letter, message in letters_of(event, language):
                wrong = problems(message, language.value, event.covenant, quoted)
                if wrong:
                    found[f"{name} ({letter.role.value}, {language.value})"] = wrong
    assert not found, json.dumps(found, indent=1, ensure_ascii=False)[:3000]


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    """The examples through the pipeline, in order: the 2019 plan knows the 2018 one."""
    outbox = tmp_path_factory.mktemp("outbox")
    names = ["textile-voorbeeld-mode-2018.json", "textile-voorbeeld-mode-2019.json",
             "banking-voorbeeldbank-2019.json", "natural_stone-voorbeeld-natuursteen-2021.json",
             "gold-voorbeeld-goud-2021.json", "food-voorbeeld-voeding-2021.json",
             "metals-voorbeeld-metaal-2023.json", "insurance-voorbeeld-verzekeraar-2021.json",
             "invalid-plan-errors.json"]
    reports = LocalPipeline.on_embedded_defaults(outbox).run([EXAMPLES / n for n in names])
    return dict(zip(names, reports, strict=True))


def test_no_letter_about_an_example_has_codes_english_fragments_or_foreign_citations(
        examples):
    found = {}
    for name, report in examples.items():
        event = report.assessment or report.rejection
        covenant = event.covenant
        quoted = own_words(example_doc(name))
        for language in Language:
            for letter, message in letters_of(event, language):
                wrong = problems(message, language.value, covenant, quoted)
                if wrong:
                    found[f"{name} ({letter.role.value}, {language.value})"] = wrong
    assert not found, json.dumps(found, indent=1, ensure_ascii=False)


def test_every_letter_says_where_in_the_plan_in_words_never_as_a_pointer(examples):
    """The small print names the place of each finding as the reader finds it in the plan
    ("Productielocatie 4", "Het vorige plan: actie 3"); it gave JSON pointers before."""
    pointer = re.compile(r"(?<![\w.:])/[a-z_]+(/[\w-]+)*")
    places = {}
    for name, report in examples.items():
        if report.assessment is None:
            continue
        for language in Language:
            for letter, message in letters_of(report.assessment, language):
                text = parsed(message).get_body(("plain",)).get_content()
                small = [line for line in text.splitlines()
                         if re.search(r"(plaats in het plan|place in the plan): ", line)]
                assert small, (name, letter.role)
                assert not [line for line in small if pointer.search(line)], (name, small)
                places.update((p, name) for line in small
                              for p in line.split(": ", 1)[1].rstrip(")").split("; "))
    assert {"Productielocatie 4", "Production location 4", "Het vorige plan: actie 3",
            "The previous plan: action 3", "De bevindingen over het vorige plan",
            "The findings on the previous plan"} <= places.keys(), "\n".join(sorted(places))


def test_a_company_letter_tells_the_next_step_its_date_and_a_contact(examples):
    event = examples["textile-voorbeeld-mode-2019.json"].assessment
    company, _ = letters_for(event, SECRETARIAT)
    m = parsed(Renderer().compose(event, company, SENDER))
    text = m.get_body(("plain",)).get_content()
    assert event.language is Language.NL and event.next_plan_due_on == date(2020, 4, 1)
    assert "Verwerk deze bevindingen in uw plan van aanpak 2020. Dat plan moet uiterlijk " \
           "1 april 2020 bij het secretariaat zijn. Het secretariaat neemt contact met u op " \
           "over het beoordelingsgesprek." in text
    assert "Secretariaat IMVO-convenanten, secretariaat@imvo-convenanten.example of " \
           "+31 70 000 0000" in text
    assert m["Reply-To"] == "secretariaat@imvo-convenanten.example"
    assert m["Message-ID"].endswith("@imvo-convenanten.example>")
    assert "automatische voortoets" in text and "nog niet het oordeel van het secretariaat" \
        in text
    # what to do comes before the findings
    assert text.index("VOLGENDE STAP") < text.index(event.findings[0].title.nl)


def test_the_secretariat_letter_leads_with_the_change_from_last_year_and_what_recurs(examples):
    event = examples["textile-voorbeeld-mode-2019.json"].assessment
    before = examples["textile-voorbeeld-mode-2018.json"].assessment
    company, secretariat = letters_for(event, SECRETARIAT)
    m = parsed(Renderer().compose(event, secretariat, SENDER))
    text = m.get_body(("plain",)).get_content()
    assert m["Subject"] != parsed(Renderer().compose(event, company, SENDER))["Subject"]
    assert m["Subject"].startswith("Voortoets Voorbeeld Mode B.V., plan 2019: ")
    recurring = event.recurring()
    assert recurring and f"{len(recurring)} terugkerend" in m["Subject"]
    high_now, high_before = (sum(f.severity.value == "high" for f in e.findings)
                             for e in (event, before))
    assert f"  hoog: {high_now} (Vorig plan (2018): {high_before}, verschil " in text
    summary, rest = text.split("TERUGKERENDE BEVINDINGEN", 1)
    assert "Het bedrijf krijgt zijn eigen brief, aan 1 contactpersoon." in summary
    assert all(f.finding_id in rest.split("STAP 1")[0] for f in recurring)


def _one_rule_at(event: AssessmentCompleted, places: int) -> AssessmentCompleted:
    """The event with one of its rules' finding at `places` production locations instead."""
    model = next(f for f in event.findings if f.rule_id == "DD4-LOCATION-MONITORING-RECENT")
    many = [model.model_copy(update={"finding_id": f"F-{i:012d}",
                                     "pointers": [f"/textile/production_locations/{i}"]})
            for i in range(places)]
    return event.model_copy(update={"findings": [
        *(f for f in event.findings if f.rule_id != model.rule_id), *many]})


@pytest.mark.parametrize(("places", "listed", "more"), [(1_000, 500, 490), (511, 500, 1),
                                                        (SHOWN_PER_RULE + 1, 1, 0)])
def test_a_rule_found_at_many_places_is_told_once_with_its_places(examples, places, listed,
                                                                  more):
    """Its first findings in full, the places of the next ones, how many more there are and
    where the reader finds them; the letter stays small however many there are."""
    event = _one_rule_at(examples["textile-voorbeeld-mode-2019.json"].assessment, places)
    to_company, to_secretariat = (parsed(m) for _, m in letters_of(event))
    for m, rest in ((to_company, "vraag het secretariaat om de volledige lijst"),
                    (to_secretariat, "de export van de voortoets in de console noemt ze alle")):
        text = m.get_body(("plain",)).get_content()
        told = [i for i in range(places) if f"F-{i:012d}" in text]
        assert told == list(range(SHOWN_PER_RULE))  # in full, with their ids
        assert f"Deze regel leverde {i18n.number(places, 'nl')} bevindingen op; de eerste " \
               f"{SHOWN_PER_RULE} staan hieronder" in text
        also = text.split("Ook bij: ", 1)[1].split("\n", 1)[0]
        assert also.count("Productielocatie") == listed
        assert also.startswith(f"Productielocatie {SHOWN_PER_RULE + 1}; ") or listed == 1
        assert (f"en nog {i18n.number(more, 'nl')} plaats" in also and rest in also) == bool(more)
    english = parsed(next(m for letter, m in letters_of(event, Language.EN)
                          if letter.role.value == "company")).get_body(("plain",)).get_content()
    assert "Also at: Production location 11" in english


def test_a_letter_does_not_grow_with_the_places_a_rule_is_found_at(examples):
    """4,000 findings of one rule made each letter 7.3 MB when each was told in full, more
    than mail servers take (Postfix's default limit is 10 MB)."""
    event = examples["textile-voorbeeld-mode-2019.json"].assessment
    sizes = [[len(m.as_bytes()) for _, m in letters_of(_one_rule_at(event, places))]
             for places in (1_000, 20_000)]
    assert all(abs(big - small) < small / 100 for small, big in zip(*sizes, strict=True))
    assert max(sizes[1]) < 300_000, sizes


def test_the_console_shows_each_finding_of_a_rule_on_its_own(examples):
    """Where the secretariat reviews them, one by one (letters.grouped without a reader)."""
    event = _one_rule_at(examples["textile-voorbeeld-mode-2019.json"].assessment, 1_000)
    views = [v for g in grouped(event.findings, "textile", "nl", set()) for v in g["findings"]]
    assert sorted(v["id"] for v in views) == sorted(f.finding_id for f in event.findings)


def test_a_rules_findings_from_last_year_are_told_apart_from_its_new_ones(examples):
    """The badge "Ook bij het vorige plan" stays true of every finding it stands for."""
    event = _one_rule_at(examples["textile-voorbeeld-mode-2019.json"].assessment, 30)
    mine = [f for f in event.findings if f.rule_id == "DD4-LOCATION-MONITORING-RECENT"]
    old = {f.finding_id for f in mine[::2]}
    views = told(mine, "textile", "nl", old, RecipientRole.SECRETARIAT)
    assert [(v["recurring"], v["count"].split(";")[0]) for v in views] == [
        (True, "Deze regel leverde 15 bevindingen op"),
        (False, "Deze regel leverde 15 bevindingen op")]


def test_up_to_the_bound_each_finding_of_a_rule_is_told_on_its_own(examples):
    event = _one_rule_at(examples["textile-voorbeeld-mode-2019.json"].assessment,
                         SHOWN_PER_RULE)
    _, message = next(letters_of(event))
    text = parsed(message).get_body(("plain",)).get_content()
    assert "Ook bij: " not in text and "Deze regel leverde" not in text
    assert all(f"F-{i:012d}" in text for i in range(SHOWN_PER_RULE))


# --- stable finding ids -----------------------------------------------------------------------

def test_the_same_finding_at_the_same_place_keeps_its_id_from_one_year_to_the_next(examples):
    before = examples["textile-voorbeeld-mode-2018.json"].assessment
    after = examples["textile-voorbeeld-mode-2019.json"].assessment
    ids = {(f.rule_id, f.message.en): f.finding_id for f in before.findings}
    same = [(f.finding_id, ids[(f.rule_id, f.message.en)]) for f in after.findings
            if (f.rule_id, f.message.en) in ids]
    assert len(same) >= 10 and all(now == then for now, then in same), same
    assert {now for now, _ in same} <= {f.finding_id for f in after.recurring()}
    # the previous findings the 2019 plan answers are found by their 2018 ids
    answered = {r["finding_id"] for r in
                example_doc("textile-voorbeeld-mode-2019.json")["previous_findings_responses"]}
    assert answered <= {f.finding_id for f in before.findings}


def test_finding_ids_follow_the_parts_not_their_order_in_the_plan(engines):
    document = example_doc("textile-voorbeeld-mode-2018.json")
    engine = engines.for_case(Case(note="the 2018 example", rule="PROC-SCHEMA-VALID",
                                   expect=[], base="compliant-textile"))
    shuffled = json.loads(json.dumps(document))
    shuffled["textile"]["production_locations"].reverse()
    shuffled["risk_assessment"]["risks"].reverse()
    shuffled["actions"].reverse()
    first, second = (engine.evaluate(validate_plan(d), Prior()) for d in (document, shuffled))
    assert sorted(f.finding_id for f in first) == sorted(f.finding_id for f in second)
    assert {f.pointers[0] for f in first} != {f.pointers[0] for f in second}  # they moved
    # another company's same finding is another finding
    other = json.loads(json.dumps(document))
    other["company"]["company_id"] = "AGT-0002"
    assert not {f.finding_id for f in first} & {
        f.finding_id for f in engine.evaluate(validate_plan(other), Prior())}


# --- rejections and digests ---------------------------------------------------------------------

def corpus_rejections() -> list[SubmissionRejected]:
    bodies = [(CORPUS / "bytes" / name).read_bytes()
              for name in json.loads((CORPUS / "index.json").read_text())]
    for line in (CORPUS / "structural.jsonl").read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        bodies.append(json.dumps(changed(example_doc(case["source"]), case["path"],
                                         case["value"])).encode())
    bodies.append((EXAMPLES / "invalid-plan-errors.json").read_bytes())
    events = []
    for body in bodies:
        verdict = examine(body, max_bytes=10_000_000)
        if hasattr(verdict, "errors"):
            events.append(SubmissionRejected(
                correlation_id="c", reason=verdict.reason, errors=verdict.errors[:100],
                errors_total=len(verdict.errors), covenant="textile", language="nl",
                contacts=[{"email": "mvo@voorbeeld-mode.example"}]))
    return events


def test_every_rejection_of_the_corpus_reads_in_plain_dutch_and_english():
    events = corpus_rejections()
    codes = {e.code for event in events for e in event.errors}
    assert len(events) >= 300 and len(codes) >= 15
    assert codes <= set(i18n.error_texts()), codes - set(i18n.error_texts())
    other = {i18n.error_texts()["_other"][lang] for lang in i18n.LANGUAGES}
    for event in events:
        for language in Language:
            for e in event.errors:
                assert i18n.error_text(e, language) not in other, (e.code, e.context)
    # one letter per language, whole
    event = next(e for e in events if any(x.code == "enum" for x in e.errors))
    for language in Language:
        [(_, message), _] = letters_of(event, language)
        text = parsed(message).get_body(("plain",)).get_content()
        assert "Input should" not in text and "Field required" not in text
        assert not problems(message, language.value, "textile")


def test_a_rejection_names_the_place_in_words_and_keeps_the_pointer():
    document = example_doc("textile-voorbeeld-mode-2019.json")
    document["textile"]["production_locations"][1]["product_types"] = ["socks"]
    verdict = examine(json.dumps(document).encode(), max_bytes=10_000_000)
    event = SubmissionRejected(correlation_id="c", reason=RejectionReason.INVALID,
                               errors=verdict.errors, errors_total=len(verdict.errors),
                               language="nl", contacts=[{"email": "a@b.example"}])
    [(_, message), (_, to_secretariat)] = letters_of(event)
    text = parsed(message).get_body(("plain",)).get_content()
    assert "Het bedrijf krijgt zijn eigen brief, aan 1 contactpersoon." in parsed(
        to_secretariat).get_body(("plain",)).get_content()
    assert "* Productielocatie 2, productsoorten, nr. 1: Deze waarde is niet toegestaan; kies " \
           "uit 'garments' (kleding), 'textiles' (textiel), " in text  # as written, and in words
    assert "(/textile/production_locations/1/product_types/0, enum)" in text


def test_the_secretariat_hears_when_an_unknown_company_is_not_told(examples):
    rejected = examples["invalid-plan-errors.json"].rejection
    [(letter, message)] = letters_of(rejected)
    text = parsed(message).get_body(("plain",)).get_content()
    assert letter.role.value == "secretariat" and "Het bedrijf is niet bekend uit een eerder " \
        "aanvaard plan en krijgt geen brief" in text and "VOLGENDE STAP" not in text


def test_the_digest_speaks_the_secretariats_language(examples):
    events = [examples[n].assessment for n in ("textile-voorbeeld-mode-2018.json",
                                              "textile-voorbeeld-mode-2019.json")]
    for language, subject, intro in (
            (Language.NL, "Dagoverzicht kleding en textiel 4 juli 2019: 2 beoordelingen",
             "Op 4 juli 2019 zijn 2 plannen van aanpak onder het convenant kleding en textiel "
             "voorgetoetst."),
            (Language.EN, "Daily digest garments and textile 4 July 2019: 2 assessments",
             "On 4 July 2019, 2 plans of action under the garments and textile covenant were "
             "pre-assessed.")):
        secretariat = Secretariat(SECRETARIAT.addresses, language, True, SECRETARIAT.contacts)
        m = parsed(Renderer().digest("textile", "2019-07-04", events, secretariat, SENDER))
        text = m.get_body(("plain",)).get_content()
        assert m["Subject"] == subject and intro in text
        assert not problems(m, language.value, "textile")


# --- a real browser ---------------------------------------------------------------------------

def test_every_letter_kind_renders_in_a_real_browser(browser, examples, tmp_path):
    from selenium.webdriver.common.by import By

    textile = examples["textile-voorbeeld-mode-2019.json"].assessment
    rejected = examples["invalid-plan-errors.json"].rejection
    company, secretariat = letters_for(textile, SECRETARIAT)
    [rejection] = letters_for(rejected, SECRETARIAT)
    digest = Renderer().digest("textile", "2019-07-04", [textile], SECRETARIAT, SENDER)
    review = feedback_event(examples)
    [feedback] = letters_for(review, SECRETARIAT)
    kinds = {"company": Renderer().compose(textile, company, SENDER),
             "secretariat": Renderer().compose(textile, secretariat, SENDER),
             "rejection": Renderer().compose(rejected, rejection, SENDER), "digest": digest,
             "feedback": Renderer().compose(review, feedback, SENDER)}
    for kind, message in kinds.items():
        m = parsed(message)
        page = tmp_path / f"{kind}.html"
        page.write_text(m.get_body(("html",)).get_content(), encoding="utf-8")
        browser.get(page.as_uri())
        assert browser.title == m["Subject"], kind
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == [], (kind, errors)
        body = browser.find_element(By.TAG_NAME, "body")
        assert "serif" not in body.value_of_css_property("font-family").replace(
            "sans-serif", ""), kind  # styled, not the browser's default serif
        heading = browser.find_element(By.TAG_NAME, "h1")
        assert heading.is_displayed() and heading.text, kind
        assert browser.execute_script("return document.styleSheets.length") == 0, kind  # inlined
        if kind in ("company", "secretariat", "feedback"):
            cards = browser.find_elements(By.CSS_SELECTOR, "div.finding")
            assert len(cards) >= len(textile.findings) - 1, kind  # feedback: one withdrawn
            badge = cards[0].find_element(By.CSS_SELECTOR, "span")
            assert badge.value_of_css_property("background-color") != "rgba(0, 0, 0, 0)"
    # UPDATE_SCREENSHOTS=1 renews the README's picture of the company's letter
    shot = SCREENSHOT if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path / "c.png"
    browser.get((tmp_path / "company.html").as_uri())
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


def test_the_readme_shows_a_letter():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/letter-company-nl.png" in readme and SCREENSHOT.stat().st_size > 10_000



# --- the feedback of a final review ---------------------------------------------------------

def feedback_event(examples, round_: int = 1) -> ReviewFinalised:
    """The secretariat's feedback on the 2019 example: its first finding dismissed, one with
    another severity, one of its own, remarks."""
    from services.console.review import (
        Review,
        Verdict,
        add,
        confirm_rest,
        decide,
        feedback,
        finalise,
    )

    event = examples["textile-voorbeeld-mode-2019.json"].assessment
    findings = [f.model_dump(mode="json") for f in event.findings]
    ids = [f["finding_id"] for f in findings]
    review = decide(Review(event.submission_id, round=round_), ids, ids[0], Verdict.DISMISSED,
                    None, "besproken")
    review = decide(review, ids, ids[1], Verdict.CONFIRMED, Severity.CRITICAL,
                    "Kinderarbeid bevestigd bij het bezoek.")
    review = add(review, "textile", "Geen klachtenfunctionaris",
                 "Niemand behandelt klachten van werkers.", Severity.HIGH, "AGT", "§2.1")
    review = dataclasses.replace(review, remarks="Dank voor het open gesprek.\n\nTot volgend "
                                 "jaar.")
    final = finalise(confirm_rest(review, ids), ids)
    return feedback(final, example_doc("textile-voorbeeld-mode-2019.json"), findings,
                    date(2020, 4, 1))


def test_the_feedback_goes_to_the_company_only_and_reads_in_its_language(examples):
    event = feedback_event(examples)
    [letter] = letters_for(event, SECRETARIAT)
    assert letter.role.value == "company" and letter.template == "feedback"
    for language in Language:
        m = parsed(Renderer().compose(event, dataclasses.replace(letter, language=language),
                                      SENDER))
        assert not problems(m, language.value, "textile", own_words(
            example_doc("textile-voorbeeld-mode-2019.json")) | {"besproken"})
    m = parsed(Renderer().compose(event, letter, SENDER))
    text = m.get_body(("plain",)).get_content()
    assert m["Subject"] == "Terugkoppeling van het secretariaat op uw plan van aanpak 2019: " \
                           "Voorbeeld Mode B.V."
    assert "Dank voor het open gesprek." in text and "Tot volgend jaar." in text
    assert "1 bevinding van de automatische voortoets is vervallen." in text
    assert "Kinderarbeid bevestigd bij het bezoek." in text  # why the severity changed
    assert "BEVINDINGEN VAN HET SECRETARIAAT" in text and "Geen klachtenfunctionaris" in text
    assert "1 april 2020" in text and "automatische voortoets van uw plan" not in text
    assert "vervangt de eerdere" not in text
    assert "beoordelingsgesprek" not in text  # the meeting was before the feedback
    again = parsed(Renderer().compose(feedback_event(examples, round_=2), letter, SENDER))
    assert "Deze terugkoppeling vervangt de eerdere." in again.get_body(
        ("plain",)).get_content()
    assert again["Message-ID"] != m["Message-ID"]


def test_after_review_the_company_hears_only_from_the_feedback(examples):
    event = examples["textile-voorbeeld-mode-2019.json"].assessment
    roles = [letter.role.value for letter in letters_for(event, SECRETARIAT,
                                                         company_letter="after_review")]
    assert roles == ["secretariat"]
    [feedback] = letters_for(feedback_event(examples), SECRETARIAT,
                             company_letter="after_review")
    assert feedback.role.value == "company"
