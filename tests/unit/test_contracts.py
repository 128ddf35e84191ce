import json

import pytest

from services.rules.tooling import schema as rule_schema
from services.shared.contracts import (
    PlanInvalid,
    content_digest,
    parse_plan,
    plan_routing_key_for,
)
from services.shared.contracts.schemas import generate
from tests.support import BANKING, INVALID, ROOT, TEXTILE, example, variant


def errors_of(body: bytes) -> list[tuple[str, str]]:
    with pytest.raises(PlanInvalid) as caught:
        parse_plan(body)
    return [(e.pointer, e.code) for e in caught.value.errors]


@pytest.mark.parametrize("name", [TEXTILE, BANKING])
def test_example_plans_are_valid(name):
    plan = parse_plan(example(name))
    assert plan.submission.submission_id


def test_invalid_example_reports_every_error_with_its_pointer_in_one_round():
    assert errors_of(example(INVALID)) == [
        ("/submission/submitted_at", "timezone_aware"),
        ("/company/size_class", "enum"),
        ("/policy/approved_on", "date_from_datetime_parsing"),
        ("/risk_assessment/scoping/countries/1", "unknown_country"),
        ("/risk_assessment/risks/0/severity/irremediability", "less_than_equal"),
        ("/actions/0/status", "enum"),
        ("/actions/0/owner", "extra_forbidden"),
        ("/risk_assessment/risks/1/theme", "theme_not_in_covenant"),
        ("/risk_assessment/risks/1/risk_id", "duplicate_id"),
        ("/actions/0/risk_ids/0", "dangling_reference"),
        ("/policy/document_ref", "dangling_reference"),
    ]


def test_duplicate_and_dangling_ids_cite_the_catalogue_rule_they_enforce():
    with pytest.raises(PlanInvalid) as caught:
        parse_plan(example(INVALID))
    cited = {(e.code, e.rule_id) for e in caught.value.errors}
    assert ("duplicate_id", "PROC-REFERENCES-RESOLVE") in cited
    assert ("dangling_reference", "PROC-REFERENCES-RESOLVE") in cited
    assert ("enum", None) in cited


def test_error_messages_never_repeat_the_offending_value():
    secret = "Geheime Leverancier <script>"
    body = variant(TEXTILE, lambda d: d["company"].update(size_class=secret))
    with pytest.raises(PlanInvalid) as caught:
        parse_plan(body)
    assert all(secret not in e.message for e in caught.value.errors)


def test_country_codes_are_upper_cased_and_strings_trimmed():
    plan = parse_plan(variant(TEXTILE, lambda d: d["company"].update(legal_name="  Mode B.V. ")))
    assert plan.section("textile")["production_locations"][0]["country"] == "IN"  # "in" there
    assert plan.company.legal_name == "Mode B.V."


def test_unknown_country_code_is_refused():
    body = variant(TEXTILE, lambda d: d["textile"]["production_locations"][0].update(country="UK"))
    assert errors_of(body) == [("/textile/production_locations/0/country", "unknown_country")]


def test_foreign_extension_and_missing_extension_are_reported():
    def swap(d):
        d["banking"] = {"scope": {"corporate_lending": True, "project_finance": False}}
        del d["textile"]

    errors = set(errors_of(variant(TEXTILE, swap)))
    assert {("/banking", "foreign_extension"), ("/textile", "missing_extension")} <= errors


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"\xff\xfe not utf-8", "invalid_utf8"),
        (b"{\"schema\": ", "invalid_json"),
        (b"{\"a\": 1, \"a\": 2}", "duplicate_key"),
        (b"{\"a\": NaN}", "invalid_json"),
        (b"[1, 2]", "not_an_object"),
        (b"[" * 100_000 + b"]" * 100_000, "too_deep"),
    ],
)
def test_malformed_bodies_are_rejected_with_a_reason(body, code):
    assert errors_of(body) == [("", code)]


def test_the_content_digest_ignores_formatting_but_not_content():
    plan = parse_plan(example(TEXTILE))
    reformatted = json.dumps(json.loads(example(TEXTILE)), indent=8).encode()
    changed = variant(TEXTILE, lambda d: d["governance"].update(dd_fte=3))
    assert content_digest(parse_plan(reformatted)) == content_digest(plan)
    assert content_digest(parse_plan(changed)) != content_digest(plan)


@pytest.mark.parametrize(("name", "digest"), [
    (TEXTILE, "c053cf80976926b47246c65297baf0cef19fd4f2164151061715aec840111f08"),
    (BANKING, "55bd82136fe06256b48201970d013bae7530e40c8944623cc2dbbdaeb17b8a93")])
def test_the_content_digest_of_a_plan_never_changes_across_versions(name, digest):
    """Ingest's ledger keeps the digest of every accepted plan and refuses the same
    submission_id with another one as a conflict: a digest computed differently after an
    upgrade would refuse a publisher's retry of a plan accepted before it. (An edit of the
    example itself changes its digest: then pin the new one.)"""
    assert content_digest(parse_plan(example(name))) == digest


def test_routing_key_names_the_covenant_or_unknown():
    assert plan_routing_key_for(example(BANKING)) == "plan.banking"
    assert plan_routing_key_for(b"not json") == "plan.unknown"
    assert plan_routing_key_for(b'{"submission": {"covenant": "cosmetics"}}') == "plan.unknown"


def test_committed_json_schemas_match_the_models():
    for name, text in {**generate(), rule_schema.NAME: rule_schema.generate(),
                       rule_schema.FRAMEWORK_NAME: rule_schema.generate_framework(),
                       rule_schema.COVENANT_NAME: rule_schema.generate_covenant()}.items():
        committed = ROOT / "contracts" / name
        assert committed.read_text(encoding="utf-8") == text, f"run `make schemas`: {name}"


def _property_names(schema):
    if isinstance(schema, dict):
        for key, value in schema.get("properties", {}).items():
            yield key
            yield from _property_names(value)
        for value in schema.values():
            if isinstance(value, dict | list):
                yield from _property_names(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _property_names(item)


def test_no_contract_field_is_named_like_the_engines_identity_fields():
    # durable-rules treats `id` and `sid` as message identity and segfaults on joins over `id`
    names = set()
    for text in generate().values():
        names |= set(_property_names(json.loads(text)))
    assert {"id", "sid"} & names == set()


@pytest.mark.parametrize("path, pointer", [
    ((), ""), (("a",), "/a"), (("risks", 0, "themes", 2), "/risks/0/themes/2"),
    (("a/b", 1), "/a~1b/1"), (("~x",), "/~0x"), (("~1",), "/~01"), (("",), "/"),
    (("", ""), "//"), (("a", ""), "/a/"), (iter(("a", 0)), "/a/0")])
def test_a_json_pointer_escapes_tilde_and_slash_as_rfc_6901_says(path, pointer):
    from services.shared.contracts.errors import json_pointer

    assert json_pointer(path) == pointer
