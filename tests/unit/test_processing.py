import json

import pytest
from prometheus_client import CollectorRegistry
from pydantic import TypeAdapter

from services.shared.contracts import PlanSubmission, SubmissionAccepted, SubmissionRejected
from services.shared.contracts.messages import DEAD_LETTER_EXCHANGE, PLANS_EXCHANGE
from services.shared.errors import Unavailable
from services.shared.messaging import inprocess
from services.shared.messaging.handling import (
    REASON_HEADER,
    DeadLetter,
    Delivery,
    Hold,
    Outcome,
    Outgoing,
    PermanentFailure,
    Processor,
    Publish,
    Retry,
    decode,
)
from services.shared.messaging.inprocess import InProcessBroker, Unroutable
from services.shared.messaging.pika_adapter import Backoff
from services.shared.metrics import ServiceMetrics
from services.shared.topology import INGEST, Topology
from tests.support import TEXTILE, example


def processor(handler, limit=3) -> Processor:
    metrics = ServiceMetrics.create("ingest", CollectorRegistry())
    return Processor("ingest", handler, metrics, limit, DEAD_LETTER_EXCHANGE)


def failing(delivery):
    raise KeyError("Voorbeeld Mode B.V.")


def test_an_unexpected_failure_is_retried_while_deliveries_remain():
    assert isinstance(processor(failing).process(Delivery(b"x", "plan.textile")), Retry)


def test_an_unexpected_failure_on_the_last_delivery_is_dead_lettered_with_its_reason():
    result = processor(failing).process(Delivery(b"x", "plan.textile", delivery_count=2))
    assert isinstance(result, DeadLetter)
    assert result.message.exchange == DEAD_LETTER_EXCHANGE
    assert result.message.routing_key == "ingest"
    assert result.message.headers[REASON_HEADER] == (
        "KeyError in the ingest handler, on delivery 3 of 3")
    assert "Voorbeeld" not in result.reason  # exception text may carry plan contents


def away(delivery):
    raise Unavailable("database unavailable: OperationalError")


def test_a_dependency_away_holds_the_message_even_on_its_last_delivery():
    """An outage delays work; it never dead-letters it, however often it was delivered."""
    p = processor(away)
    for count in (0, 2, 50):
        result = p.process(Delivery(b"x", "plan.textile", delivery_count=count))
        assert result == Hold("database unavailable: OperationalError")
    assert p.metrics.outcomes.labels("held")._value.get() == 3


def test_in_process_a_held_message_is_handled_again_until_the_dependency_is_back():
    calls = []

    def flaky(delivery):
        calls.append(delivery.delivery_count)
        if len(calls) < 4:
            away(delivery)
        return Outcome("accepted", [])

    broker = InProcessBroker(Topology(), hold_pause=0.001)
    broker.publish(Outgoing(PLANS_EXCHANGE, "plan.textile", b"{}", "m-1"))
    broker.drain({INGEST.queue: processor(flaky, limit=1)})
    assert calls == [0, 0, 0, 0]  # four attempts, no delivery spent, not dead-lettered
    assert broker.messages(INGEST.queue) == []


def test_in_process_a_post_publish_step_waits_for_its_database_too():
    recorded = []

    def record() -> None:
        recorded.append(len(recorded))
        if len(recorded) < 3:
            raise Unavailable("database unavailable: OperationalError")

    broker = InProcessBroker(Topology(), hold_pause=0.001)
    broker.publish(Outgoing(PLANS_EXCHANGE, "plan.textile", b"{}", "m-1"))
    p = processor(lambda d: Outcome("accepted", [], after_publish=record))
    broker.drain({INGEST.queue: p})
    assert recorded == [0, 1, 2] and p.metrics.acked._value.get() == 1


def test_a_permanent_failure_is_dead_lettered_at_once():
    def refuse(delivery):
        raise PermanentFailure("not a valid event")

    result = processor(refuse).process(Delivery(b"x", "plan.textile", message_id="m-9"))
    assert isinstance(result, DeadLetter)
    assert (result.message.message_id, result.reason) == ("m-9", "not a valid event")


def test_a_handler_runs_with_the_garbage_collector_paused_and_it_runs_again_after():
    """Every service's handler, whatever its outcome (services/shared/collector.py: on a
    large plan the collector was half of ingest's time)."""
    import gc

    seen = []

    def watched(outcome):
        def handler(delivery):
            seen.append(gc.isenabled())
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        return handler

    for outcome in (Outcome("accepted"), KeyError("x"), PermanentFailure("no"),
                    Unavailable("away")):
        assert gc.isenabled()
        processor(watched(outcome)).process(Delivery(b"x", "plan.textile"))
        assert gc.isenabled()
    assert seen == [False] * 4


def test_the_outcome_is_published_and_counted():
    def ok(delivery):
        return Outcome("accepted", [Outgoing("x", "y", b"", "m")])

    p = processor(ok)
    result = p.process(Delivery(b"x", "plan.textile"))
    assert isinstance(result, Publish) and result.outcome.label == "accepted"
    assert p.metrics.outcomes.labels("accepted")._value.get() == 1


def test_in_process_a_poison_message_is_dead_lettered_while_the_others_flow():
    handled = []

    def handler(delivery):
        if delivery.body == b"poison":
            raise RuntimeError("boom")
        handled.append(delivery.body)
        return Outcome("accepted")

    broker = InProcessBroker(Topology(delivery_limit=3))
    for body in (b"a", b"poison", b"b"):
        broker.publish(Outgoing(PLANS_EXCHANGE, "plan.textile", body, body.decode()))
    broker.drain({INGEST.queue: processor(handler, limit=3)})
    [dead] = broker.messages(INGEST.dead_letter_queue)
    assert handled == [b"a", b"b"]
    assert (dead.body, dead.headers[REASON_HEADER]) == (
        b"poison", "RuntimeError in the ingest handler, on delivery 3 of 3")


def test_a_forged_delivery_count_header_reads_as_no_earlier_delivery():
    from services.shared.messaging.pika_adapter import delivery_count_of

    for forged in ("many", b"\xff", 3.5, None, [1], {"a": 1}, True, -4):
        assert delivery_count_of({"x-delivery-count": forged}) == 0, forged
    assert delivery_count_of({"x-delivery-count": 2}) == 2
    assert delivery_count_of({}) == 0


def test_an_event_goes_out_whole_with_its_ids_on_its_exchange_and_mandatory():
    event = SubmissionRejected(correlation_id="c-7", reason="invalid", errors_total=0,
                               errors=[], language="nl", covenant="banking")
    out = Outgoing.of(event)
    assert (out.exchange, out.routing_key, out.message_id, out.correlation_id, out.mandatory) \
        == (event.exchange, event.routing_key(), event.message_id, "c-7", True)
    assert out.body == event.model_dump_json(by_alias=True).encode()
    assert SubmissionRejected.model_validate_json(out.body) == event
    assert Outgoing.of(event, mandatory=False).mandatory is False


def test_a_contract_mismatch_is_permanent_and_says_how_many_errors_without_quoting():
    body = b'{"type": "submission.rejected", "reason": "Voorbeeld Mode B.V."}'
    with pytest.raises(PermanentFailure) as raised:
        decode(TypeAdapter(SubmissionRejected), Delivery(body, "rejected"), "rejection")
    assert raised.value.reason == str(raised.value)
    assert raised.value.reason.startswith("not a valid rejection event (")
    assert raised.value.reason.endswith(" errors)") and "Voorbeeld" not in raised.value.reason


@pytest.mark.parametrize("body", [b"", b"{", b"\xff", b'{"type": "submission.rejected", '
                                  b'"reason": NaN}'], ids=["empty", "cut", "not-utf8", "nan"])
def test_a_body_that_is_not_json_is_permanent_and_says_so(body):
    with pytest.raises(PermanentFailure, match=r"^not a valid rejection event \(not JSON\)$"):
        decode(TypeAdapter(SubmissionRejected), Delivery(body, "rejected"), "rejection")


def test_an_event_decodes_as_its_json_validates_and_a_large_plan_is_held_compactly():
    """The same event as pydantic's own reading of the JSON; a bank's 10,000 financings held
    in under 1 KB each (validated straight from the JSON: 2.4 KB)."""
    import gc
    import tracemalloc

    from bench.plans import bank_plan

    contract = TypeAdapter(SubmissionAccepted)
    event = SubmissionAccepted(correlation_id="c-1", content_sha256="0" * 64,
                               plan=bank_plan(10_000, clients=100))
    body = event.model_dump_json(by_alias=True).encode()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        decoded = decode(contract, Delivery(body, "submission.accepted"), "submission.accepted")
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert decoded == contract.validate_json(body)
    assert decoded.plan.section("banking") == event.plan.section("banking")
    assert held < 10_000 * 1_000, held


def test_a_retry_names_the_failure_and_the_stage_and_the_time_is_measured():
    p = processor(failing)
    result = p.process(Delivery(b"x", "plan.textile"))
    assert result == Retry("KeyError in the ingest handler")
    assert p.metrics.handling_seconds._sum.get() >= 0  # a duration, never negative
    assert p.metrics.handling_seconds._sum.get() < 60


def test_a_dead_letter_keeps_the_message_and_says_where_it_came_from():
    delivery = Delivery(b"body", "plan.textile", message_id="m-1", correlation_id="c-1",
                        headers={"x-earlier": "kept"})
    letter = Outgoing.dead_letter(delivery, "ingest", "why", DEAD_LETTER_EXCHANGE)
    assert (letter.exchange, letter.routing_key, letter.body, letter.message_id,
            letter.correlation_id) == (DEAD_LETTER_EXCHANGE, "ingest", b"body", "m-1", "c-1")
    assert letter.headers == {"x-earlier": "kept", REASON_HEADER: "why",
                              "x-original-routing-key": "plan.textile",
                              "x-dead-lettered-by": "ingest"}
    anonymous = Outgoing.dead_letter(Delivery(b"", "k"), "rules", "why", DEAD_LETTER_EXCHANGE)
    assert anonymous.message_id == ""


def test_an_accepted_plan_goes_out_under_its_contract_field_names():
    """The plan's `schema` field is `schema_` in Python: the body must use the contract's."""
    plan = PlanSubmission.model_validate_json(example(TEXTILE))
    event = SubmissionAccepted(correlation_id="c", content_sha256="0" * 64, plan=plan)
    body = json.loads(Outgoing.of(event).body)
    assert body["plan"]["schema"] == "irbc-plan/1.0" and "schema_" not in body["plan"]
    assert SubmissionAccepted.model_validate_json(Outgoing.of(event).body) == event


def test_in_process_a_handler_sees_the_message_as_sent_and_each_retry_counts_a_delivery():
    seen = []

    def failing_twice(delivery):
        seen.append((delivery.routing_key, delivery.message_id, delivery.correlation_id,
                     delivery.headers, delivery.delivery_count))
        if len(seen) < 3:
            raise KeyError("bug")
        return Outcome("accepted", [])

    broker = InProcessBroker(Topology())
    broker.publish(Outgoing(PLANS_EXCHANGE, "plan.textile", b"{}", "m-1", "c-1", {"h": "v"}))
    broker.drain({INGEST.queue: processor(failing_twice, limit=5)})
    assert seen == [("plan.textile", "m-1", "c-1", {"h": "v"}, n) for n in (0, 1, 2)]


def test_in_process_pauses_for_a_held_message_double_up_to_their_cap(monkeypatch):
    pauses: list[float] = []
    monkeypatch.setattr(inprocess.time, "sleep", pauses.append)
    calls = []

    def away_five_times(delivery):
        calls.append(1)
        if len(calls) <= 5:
            away(delivery)
        return Outcome("accepted", [])

    broker = InProcessBroker(Topology(), hold_pause=1.0, hold_pause_max=5.0)
    broker.publish(Outgoing(PLANS_EXCHANGE, "plan.textile", b"{}", "m-1"))
    broker.drain({INGEST.queue: processor(away_five_times)})
    assert pauses == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_in_process_every_message_is_kept_as_published_and_an_unroutable_one_is_named():
    broker = InProcessBroker(Topology())
    routed = Outgoing(PLANS_EXCHANGE, "plan.textile", b"{}", "m-1")
    lost = Outgoing(PLANS_EXCHANGE, "nowhere", b"{}", "m-2", mandatory=False)
    broker.publish(routed)
    broker.publish(lost)
    assert broker.published == [routed, lost]
    assert broker.messages(INGEST.queue) == [routed] and broker.messages("no-such-queue") == []
    with pytest.raises(Unroutable, match=f"^{PLANS_EXCHANGE} nowhere$"):
        broker.publish(Outgoing(PLANS_EXCHANGE, "nowhere", b"{}", "m-3"))


def test_reconnection_pauses_double_from_the_first_to_the_cap_and_start_again_after_reset():
    backoff = Backoff(initial=0.5, maximum=3.0)
    assert [backoff.next() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.next() == 0.5
