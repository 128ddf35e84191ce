"""Bad input ends in a rejection with a reason, never in a crash: the committed corpus
(tests/corpus, 582 cases, regenerate with `python -m tests.corpus.generate`), oversized
payloads, and property-based fuzzing of ingest and of rule-file loading."""

import json
import re
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.adapters import SqlSubmissionLedger
from services.ingest.handlers import IngestHandler
from services.rules.adapters.rulefiles import RuleFileError, load_rulebook
from services.shared.contracts import SubmissionRejected
from services.shared.contracts.messages import MAX_ERRORS_CARRIED
from services.shared.db import Database
from services.shared.messaging.handling import Delivery
from tests.corpus.generate import changed, leaves
from tests.support import ROOT, TEXTILE, example_doc

CORPUS = ROOT / "tests" / "corpus"
STRUCTURAL = [json.loads(line) for line in
              (CORPUS / "structural.jsonl").read_text(encoding="utf-8").splitlines()]
BYTES = json.loads((CORPUS / "index.json").read_text())
MAX_BYTES = 20 * 1024 * 1024
POINTER = re.compile(r"^(/([^~/]|~[01])*)*$")
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
# each example of the rule-file fuzzing loads a whole rule book (about 0.4 s): fewer of them
RULE_FILE_FUZZ = settings(FUZZ, max_examples=60)


@pytest.fixture(scope="module")
def handler(tmp_path_factory):
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('ingest')}/db.sqlite3")
    return IngestHandler(SqlSubmissionLedger(db), max_bytes=MAX_BYTES)


def handled(handler, body: bytes):
    return handler(Delivery(body=body, routing_key="plan.textile", message_id="m",
                            correlation_id="c"))


def rejection(handler, body: bytes) -> SubmissionRejected:
    return rejected_event(handled(handler, body))


def rejected_event(outcome) -> SubmissionRejected:
    """The outcome's one SubmissionRejected, checked: errors, each with a code, a message and a
    well-formed JSON pointer."""
    assert outcome.label == "rejected"
    [message] = outcome.messages
    event = SubmissionRejected.model_validate_json(message.body)
    assert event.errors and event.errors_total >= len(event.errors)
    for error in event.errors:
        assert error.message.strip() and error.code and POINTER.match(error.pointer), error
    return event


def test_the_corpus_is_large_and_varied(report_figures):
    labels = {c["label"].split("-", 1)[1] for c in STRUCTURAL}
    report_figures(f"bad input: {len(STRUCTURAL)} structural and {len(BYTES)} byte-level "
                   f"malformed submissions, each tested for its rejection ({len(labels)} kinds)")
    assert len(STRUCTURAL) + len(BYTES) >= 300
    assert {"wrong-type", "unknown-field", "bad-date", "unknown-country", "duplicate-id",
            "dangling-reference", "unknown-covenant"} <= labels


@pytest.mark.parametrize("case", STRUCTURAL, ids=lambda c: f"{c['label']}{c['expect']}")
def test_every_structural_fault_is_rejected_at_its_pointer(handler, case):
    document = changed(example_doc(case["source"]), case["path"], case["value"])
    event = rejection(handler, json.dumps(document).encode())
    pointers = [e.pointer for e in event.errors]
    assert any(p == case["expect"] or p.startswith(case["expect"] + "/") for p in pointers), \
        pointers


@pytest.mark.parametrize("name", sorted(BYTES))
def test_every_byte_level_fault_is_rejected(handler, name):
    event = rejection(handler, (CORPUS / "bytes" / name).read_bytes())
    expect = BYTES[name]  # "": a fault of the whole payload, any pointer will do
    assert not expect or any(e.pointer == expect or e.pointer.startswith(expect + "/")
                             for e in event.errors)


def test_a_50_mb_payload_is_refused_by_size_before_parsing(handler):
    event = rejection(handler, b'{"schema": "irbc-plan/1.0", "x": "' + b"x" * 50_000_000 + b'"}')
    assert event.reason.value == "too_large"
    assert "limit" in event.errors[0].message


def test_a_huge_array_within_the_limit_is_rejected_with_a_capped_error_list(handler):
    document = example_doc(TEXTILE)
    document["actions"][0]["risk_ids"] = ["NO-SUCH-RISK"] * 500_000
    event = rejection(handler, json.dumps(document).encode())
    assert event.errors_total >= 500_000 > len(event.errors) == MAX_ERRORS_CARRIED


def test_a_rejected_payload_of_a_known_company_routes_to_its_recorded_contacts(handler):
    accepted = example_doc(TEXTILE)
    accepted["submission"]["submission_id"] = "0a11ce00-0000-4000-8000-000000000001"
    assert handled(handler, json.dumps(accepted).encode()).label == "accepted"
    document = example_doc(TEXTILE)
    document["policy"] = "not an object"
    document["company"]["contacts"] = [{"email": "someone@elsewhere.example"}]
    event = rejection(handler, json.dumps(document).encode())
    assert event.company_id == document["company"]["company_id"]
    assert [c.email for c in event.contacts] == [
        c["email"] for c in accepted["company"]["contacts"]]


@pytest.mark.parametrize(("field", "raw", "code"), [
    ("turnover_eur", b"1e400", "finite_number"),  # read as infinity by a JSON parser
    ("turnover_eur", b"-1e400", "finite_number"),
    ("turnover_eur", b"1e300", "less_than_equal"),  # finite, but beyond any real amount
    ("employees", b"9007199254740993", "less_than_equal"),  # 2**53 + 1: not exact in JSON
])
def test_numbers_the_rules_stage_cannot_carry_are_refused_at_ingest(handler, field, raw, code):
    """Accepted means assessed: such a number used to be accepted, serialised as null and
    dead-lettered by the rules service, with nobody told."""
    document = example_doc(TEXTILE)
    document["company"][field] = "<number>"
    body = json.dumps(document).encode().replace(b'"<number>"', raw)
    event = rejection(handler, body)
    assert [(e.pointer, e.code) for e in event.errors] == [(f"/company/{field}", code)]


def test_an_address_outside_ascii_is_refused_with_a_clear_error(handler):
    document = example_doc(TEXTILE)
    document["company"]["contacts"] = [{"email": "jürgen@müller.example"}]
    event = rejection(handler, json.dumps(document).encode())
    [error] = event.errors
    assert error.pointer == "/company/contacts/0/email" and "ASCII" in error.message


# --- fuzzing ------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30)


@FUZZ
@given(body=st.binary(max_size=2_000))
def test_fuzz_arbitrary_bytes_are_rejected(handler, body):
    rejection(handler, body)


@FUZZ
@given(value=json_values)
def test_fuzz_arbitrary_json_is_rejected(handler, value):
    rejection(handler, json.dumps(value).encode())


TEXTILE_PATHS = [p for p, _ in leaves(example_doc(TEXTILE)) if p and p[0] != "submission"]


@FUZZ
@given(path=st.sampled_from(TEXTILE_PATHS), value=json_values)
def test_fuzz_one_value_of_a_valid_plan_replaced_never_crashes_ingest(handler, path, value):
    outcome = handled(handler, json.dumps(changed(example_doc(TEXTILE), path, value)).encode())
    assert outcome.label in {"accepted", "rejected", "duplicate"}
    if outcome.label == "rejected":
        rejected_event(outcome)


@pytest.fixture(scope="module")
def rules_copy(tmp_path_factory):
    copy = tmp_path_factory.mktemp("rules") / "rules"
    shutil.copytree(ROOT / "rules", copy)
    return copy


@RULE_FILE_FUZZ
@given(text=st.text(max_size=500))
def test_fuzz_any_rule_file_text_loads_or_is_refused_with_a_rule_file_error(rules_copy, text):
    (rules_copy / "fuzzed.yaml").write_text(text, encoding="utf-8")
    try:
        load_rulebook(rules_copy)
    except RuleFileError as e:
        assert str(e)


@RULE_FILE_FUZZ
@given(rule=st.fixed_dictionaries({}, optional={
    "id": st.text(max_size=20), "severity": st.sampled_from(["high", "low", "x", 3]),
    "scope": st.lists(st.sampled_from(["textile", "banking", "mining"])),
    "when": json_values, "message": json_values, "references": json_values}))
def test_fuzz_rule_shaped_documents_are_refused_with_a_rule_file_error(rules_copy, rule):
    (rules_copy / "fuzzed.yaml").write_text(json.dumps({"rules": [rule]}), encoding="utf-8")
    with pytest.raises(RuleFileError):
        load_rulebook(rules_copy)


def test_a_rule_file_with_an_unsafe_yaml_tag_is_refused_and_runs_nothing(rules_copy, tmp_path):
    marker = tmp_path / "pwned"
    (rules_copy / "fuzzed.yaml").write_text(
        f"rules: !!python/object/apply:os.system ['touch {marker}']\n", encoding="utf-8")
    with pytest.raises(RuleFileError, match="not valid YAML"):
        load_rulebook(rules_copy)
    assert not marker.exists()
