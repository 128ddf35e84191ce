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


def test_an_invalid_plan_is_rejected_with_its_errors_and_routed_to_its_contact(tmp_path):
    handler = IngestHandler(SqlSubmissionLedger(Database("sqlite://")), max_bytes=1_000_000)
    outcome = handle(handler, example(INVALID))
    [message] = outcome.messages
    event = SubmissionRejected.model_validate_json(message.body)
    assert message.routing_key == "submission.rejected.textile"
    assert (event.errors_total, event.company_id) == (11, "AGT-0099")
    assert [c.email for c in event.contacts] == ["duurzaamheid@foutieftextiel.example"]


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


def test_a_malformed_contact_address_is_not_used_for_routing():
    body = variant(INVALID, lambda d: d["company"].update(
        contacts=[{"email": "x@y.example\r\nBcc: all@evil.example"}, {"email": "ok@z.example"}]))
    handler = IngestHandler(SqlSubmissionLedger(Database("sqlite://")), max_bytes=1_000_000)
    event = SubmissionRejected.model_validate_json(handle(handler, body).messages[0].body)
    assert [c.email for c in event.contacts] == ["ok@z.example"]


PUBLISHERS = {"textile": ["upstream-textile"], "banking": ["upstream-banking"]}


def test_with_publishers_set_only_the_covenants_publisher_may_submit(ledger):
    handler = IngestHandler(ledger, max_bytes=1_000_000, publishers=PUBLISHERS)
    body = fresh(TEXTILE)
    for user_id in ("upstream-banking", None):
        outcome = handler(Delivery(body=body, routing_key="plan.textile", message_id="m",
                                   correlation_id="c", user_id=user_id))
        event = SubmissionRejected.model_validate_json(outcome.messages[0].body)
        assert (outcome.label, event.reason.value) == ("rejected", "unauthorised")
        assert [(e.pointer, e.code) for e in event.errors] == [
            ("/submission/covenant", "unauthorised")]
        assert event.contacts == []  # only the secretariat hears of it
        assert ledger.find(event.submission_id) is None  # the id is not taken
    accepted = handler(Delivery(body=body, routing_key="plan.textile", message_id="m",
                                correlation_id="c", user_id="upstream-textile"))
    assert accepted.label == "accepted"


def test_without_publishers_anyone_may_submit(ledger):
    handler = IngestHandler(ledger, max_bytes=1_000_000)
    assert handle(handler, fresh(BANKING)).label == "accepted"


def test_every_rejection_reason_has_a_dutch_and_an_english_text():
    from services.notify.domain import LABELS
    from services.shared.contracts import RejectionReason

    for labels in LABELS.values():
        assert set(labels["reason"]) == {r.value for r in RejectionReason}
