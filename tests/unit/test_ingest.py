import json
import uuid

import pytest

from services.ingest.adapters import SqlSubmissionLedger
from services.ingest.handlers import IngestHandler
from services.shared.contracts import SubmissionAccepted, SubmissionRejected
from services.shared.db import Database
from services.shared.messaging.handling import Delivery
from tests.support import BANKING, INVALID, TEXTILE, example, variant


@pytest.fixture
def ledger(database):
    return SqlSubmissionLedger(database)


def fresh(name: str) -> bytes:
    """The example under a submission id no other test uses (the PostgreSQL ledger is shared)."""
    sid = str(uuid.uuid4())
    return variant(name, lambda d: d["submission"].update(submission_id=sid))


def handle(handler: IngestHandler, body: bytes):
    return handler(Delivery(body=body, routing_key="plan.textile", message_id="m-1",
                            correlation_id="c-1"))


def test_a_valid_plan_is_accepted_and_marked_published_after_the_confirm(ledger):
    handler = IngestHandler(ledger, max_bytes=1_000_000)
    body = fresh(TEXTILE)
    outcome = handle(handler, body)
    [message] = outcome.messages
    event = SubmissionAccepted.model_validate_json(message.body)
    assert (outcome.label, message.routing_key) == ("accepted", "submission.accepted.textile")
    assert event.correlation_id == "c-1"
    assert not ledger.find(event.plan.submission.submission_id).published
    outcome.after_publish()
    assert ledger.find(event.plan.submission.submission_id).published


def test_an_exact_repeat_after_publishing_yields_no_second_assessment(ledger):
    handler = IngestHandler(ledger, max_bytes=1_000_000)
    body = fresh(BANKING)
    handle(handler, body).after_publish()
    repeat = handle(handler, json.dumps(json.loads(body), indent=2).encode())
    assert (repeat.label, repeat.messages) == ("duplicate", [])


def test_a_repeat_before_the_confirm_is_published_again_under_the_same_message_id(ledger):
    handler = IngestHandler(ledger, max_bytes=1_000_000)
    body = fresh(TEXTILE)
    first = handle(handler, body)  # the process dies before after_publish runs
    again = handle(handler, body)
    assert again.label == "accepted"
    assert again.messages[0].message_id == first.messages[0].message_id


def test_the_same_id_with_different_content_is_rejected_as_a_conflict(ledger):
    handler = IngestHandler(ledger, max_bytes=1_000_000)
    body = fresh(TEXTILE)
    handle(handler, body).after_publish()
    changed = json.loads(body)
    changed["governance"]["dd_fte"] = 9
    outcome = handle(handler, json.dumps(changed).encode())
    event = SubmissionRejected.model_validate_json(outcome.messages[0].body)
    assert (outcome.label, event.reason.value) == ("rejected", "conflict")
    assert [(e.pointer, e.code) for e in event.errors] == [
        ("/submission/submission_id", "conflict")]
    assert [c.email for c in event.contacts] == ["mvo@voorbeeldmode.example"]


def test_an_invalid_plan_of_an_unknown_company_is_rejected_to_the_secretariat_only(ledger):
    """Its payload names contacts and a company name, neither of which was ever accepted: the
    rejection carries no contacts and no name, so notify writes to the secretariat only and
    nobody's subject line holds the payload's text."""
    handler = IngestHandler(ledger, max_bytes=1_000_000)
    outcome = handle(handler, example(INVALID))
    [message] = outcome.messages
    event = SubmissionRejected.model_validate_json(message.body)
    assert message.routing_key == "submission.rejected.textile"
    assert (event.errors_total, event.company_id) == (11, "AGT-0099")
    assert (event.contacts, event.company_name) == ([], None)


def test_an_invalid_plan_of_a_known_company_goes_to_the_contacts_recorded_from_its_last_plan(
        ledger):
    handler = IngestHandler(ledger, max_bytes=1_000_000)
    company_id = f"AGT-{uuid.uuid4().hex[:8]}"

    def as_company(doc, contacts, name):
        doc["submission"]["submission_id"] = str(uuid.uuid4())
        doc["company"].update(company_id=company_id, legal_name=name, contacts=contacts)

    accepted = handle(handler, variant(TEXTILE, lambda d: as_company(
        d, [{"email": "mvo@bekend.example", "name": "MVO"}], "Bekend B.V.")))
    assert accepted.label == "accepted"
    invalid = variant(INVALID, lambda d: as_company(
        d, [{"email": f"victim{k}@elsewhere.example"} for k in range(20)],
        "Gratis \u202egnidaolnwoD"))
    event = SubmissionRejected.model_validate_json(handle(handler, invalid).messages[0].body)
    assert [(c.email, c.name) for c in event.contacts] == [("mvo@bekend.example", "MVO")]
    assert event.company_name == "Bekend B.V."
    # the same company under the other covenant is not known there
    banking = variant(INVALID, lambda d: (as_company(d, [], "x"), d["submission"].update(
        covenant="banking")))
    other = SubmissionRejected.model_validate_json(handle(handler, banking).messages[0].body)
    assert other.contacts == []


def test_a_redelivered_invalid_plan_is_rejected_under_the_same_message_id():
    """A crash after the rejection was confirmed but before the ack redelivers the plan; the
    second rejection must carry the same id, or notify would tell the company twice."""
    handler = IngestHandler(SqlSubmissionLedger(Database("sqlite://")), max_bytes=1_000_000)
    ids = [handle(handler, example(INVALID)).messages[0].message_id for _ in range(2)]
    resent = handler(Delivery(body=example(INVALID), routing_key="plan.textile",
                              message_id="m-2")).messages[0].message_id
    other = handle(handler, example(INVALID) + b" ").messages[0].message_id
    assert ids[0] == ids[1]
    assert len({ids[0], resent, other}) == 3  # a new message id or other bytes: a new rejection


def test_garbage_is_rejected_to_the_secretariat_under_the_unknown_covenant():
    handler = IngestHandler(SqlSubmissionLedger(Database("sqlite://")), max_bytes=1_000_000)
    outcome = handle(handler, b"\x00\x01 garbage")
    event = SubmissionRejected.model_validate_json(outcome.messages[0].body)
    assert outcome.messages[0].routing_key == "submission.rejected.unknown"
    assert (event.reason.value, event.contacts) == ("invalid", [])


def test_a_body_over_the_size_limit_is_rejected_without_being_parsed():
    handler = IngestHandler(SqlSubmissionLedger(Database("sqlite://")), max_bytes=100)
    event = SubmissionRejected.model_validate_json(
        handle(handler, example(TEXTILE)).messages[0].body)
    assert (event.reason.value, event.errors[0].code) == ("too_large", "too_large")


@pytest.mark.parametrize("clients, refused", [(3_700, False), (3_800, True)])
def test_a_plan_the_rules_could_not_hold_in_one_engine_state_is_refused_naming_the_limit(
        clients, refused):
    """A bank's clients, with their engagements, risk links and texts, go into every engine
    state (financings are spread over states, clients cannot be): accepted, a plan above the
    bound could only be dead-lettered by the rules, so ingest refuses it and says why."""
    from bench.plans import bank_plan
    from services.rules.core.facts import MAX_SHARED_FACTS, shared_facts
    from services.shared import i18n

    plan = bank_plan(50, clients=clients)
    parts = shared_facts(plan)
    assert (parts > MAX_SHARED_FACTS) == refused and parts > 14_000
    handler = IngestHandler(SqlSubmissionLedger(Database("sqlite://")), max_bytes=20_000_000)
    outcome = handler(Delivery(body=json.dumps(plan.to_json_dict()).encode(),
                               routing_key="plan.banking", message_id="m-1", correlation_id="c"))
    assert outcome.label == ("rejected" if refused else "accepted")
    if refused:
        [error] = SubmissionRejected.model_validate_json(outcome.messages[0].body).errors
        assert (error.code, error.context) == ("too_many_shared_parts",
                                               {"parts": parts, "max_parts": 15_000})
        assert i18n.error_text(error, "nl").startswith(
            f"Het plan heeft {parts // 1000}.{parts % 1000:03d} onderdelen en lijstwaarden")
        assert "at most 15,000 for now" in i18n.error_text(error, "en")


def test_the_shared_facts_counted_at_ingest_are_those_the_rules_make():
    """Ingest counts the parts, links and free texts where they stand rather than making their
    facts: every example, and a bank with its clients' texts, counts exactly the facts of the
    kinds not spread."""
    from bench.plans import bank_plan
    from services.rules.core.facts import plan_facts, shared_facts
    from services.rules.core.vocabulary import FACT_KINDS, SHARD_KEYS, parts_of
    from services.shared.contracts import parse_plan
    from tests.support import EXAMPLES

    plans = [parse_plan(p.read_bytes()) for p in sorted(EXAMPLES.glob("*.json"))
             if "invalid" not in p.name] + [bank_plan(50, clients=200)]
    for plan in plans:
        with parts_of(plan.covenant):
            made = list(plan_facts(plan, frozenset(FACT_KINDS - SHARD_KEYS.keys())))
        assert any(f["kind"] == "free_text" for f in made)
        assert shared_facts(plan) == len(made), plan.covenant


PUBLISHERS = {"textile": ["upstream-textile"], "banking": ["upstream-banking"]}


def test_with_publishers_set_only_the_covenants_publisher_may_submit(ledger):
    handler = IngestHandler(ledger, max_bytes=1_000_000, publishers=PUBLISHERS)
    handle(IngestHandler(ledger, max_bytes=1_000_000), fresh(TEXTILE))  # the company is known
    body = fresh(TEXTILE)
    # a publisher of another covenant: the plan is read, and refused for its covenant;
    # a publisher of no covenant (or none named): refused before the body is read at all
    for user_id, pointer, code in (("upstream-banking", "/submission/covenant", "unauthorised"),
                                   (None, "", "unauthorised_publisher")):
        outcome = handler(Delivery(body=body, routing_key="plan.textile", message_id="m",
                                   correlation_id="c", user_id=user_id))
        event = SubmissionRejected.model_validate_json(outcome.messages[0].body)
        assert (outcome.label, event.reason.value) == ("rejected", "unauthorised")
        assert [(e.pointer, e.code) for e in event.errors] == [(pointer, code)]
        assert event.covenant == "textile"  # that covenant's secretariat hears of it
        assert event.contacts == []  # only the secretariat: the known company is not told
        assert ledger.find(json.loads(body)["submission"]["submission_id"]) is None
    accepted = handler(Delivery(body=body, routing_key="plan.textile", message_id="m",
                                correlation_id="c", user_id="upstream-textile"))
    assert accepted.label == "accepted"


def test_without_publishers_anyone_may_submit(ledger):
    handler = IngestHandler(ledger, max_bytes=1_000_000)
    assert handle(handler, fresh(BANKING)).label == "accepted"


def test_every_rejection_reason_has_a_dutch_and_an_english_text():
    from services.notify.wording import WORDING
    from services.shared.contracts import RejectionReason

    for words in WORDING.values():
        assert set(words["reason"]) == {r.value for r in RejectionReason}


def test_a_rejected_payload_names_its_company_only_by_a_well_formed_id(ledger):
    """The secretariat's letter names an unknown company by the id it gave, if that id is one
    the contract would accept; free text never reaches a subject line."""
    handler = IngestHandler(ledger, max_bytes=1_000_000)
    for given, kept in (("AGT-0099", "AGT-0099"), ("Gratis \u202eexe.cod", None),
                        ("x" * 300, None)):
        body = variant(INVALID, lambda d, c=given: d["company"].update(company_id=c))
        event = SubmissionRejected.model_validate_json(handle(handler, body).messages[0].body)
        assert event.company_id == kept, given
