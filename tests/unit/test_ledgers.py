"""The two ledgers that make "each outcome once" hold, read back field by field, on SQLite and
on PostgreSQL: ingest's (submissions and the companies they describe) and notify's (each
letter's state and every attempt).

Written against the mutants `make mutate` found alive in services/ingest/adapters.py and
services/notify/store.py: values written but never read back."""

from datetime import UTC, datetime, timedelta

from services.ingest.adapters import SqlSubmissionLedger
from services.ingest.ports import KnownCompany, LedgerEntry
from services.notify.store import SqlNotificationStore
from services.shared.contracts import SubmissionRejected
from tests.support import assessment

MODE = KnownCompany("AGT-1", "textile", "Mode B.V.", "nl",
                    (("csr@mode.example", "Ans"), ("info@mode.example", None)))


def test_a_recorded_submission_is_found_unpublished_until_marked(database):
    ledger = SqlSubmissionLedger(database)
    assert ledger.find("S-1") is None
    ledger.record("S-1", "d1", MODE)
    assert ledger.find("S-1") == LedgerEntry("S-1", "d1", False)
    ledger.mark_published("S-1")
    assert ledger.find("S-1") == LedgerEntry("S-1", "d1", True)
    ledger.record("S-1", "d2", MODE)  # a repeat never replaces the first record
    assert ledger.find("S-1") == LedgerEntry("S-1", "d1", True)
    assert ledger.find("S-2") is None


def test_a_company_is_remembered_as_its_last_accepted_plan_describes_it(database):
    ledger = SqlSubmissionLedger(database)
    ledger.record("S-1", "d1", MODE)
    assert ledger.company("AGT-1", "textile") == MODE
    assert ledger.company("AGT-1", "banking") is None  # per covenant
    assert ledger.company("AGT-2", "textile") is None
    renamed = KnownCompany("AGT-1", "textile", "Mode Holding B.V.", "en",
                           (("duurzaam@mode.example", None),))
    ledger.record("S-2", "d2", renamed)
    assert ledger.company("AGT-1", "textile") == renamed


def test_a_submission_is_stamped_with_the_time_it_arrived_in_utc(database):
    SqlSubmissionLedger(database).record("S-1", "d1", MODE)
    with database.transaction() as cur:
        cur.execute(database.sql("SELECT received_at FROM ingest_submissions "
                                 "WHERE submission_id = ?"), ("S-1",))
        received = datetime.fromisoformat(cur.fetchone()[0])
    assert received.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - received) < timedelta(minutes=5)


def test_a_letter_is_new_then_sending_then_sent_and_every_attempt_is_kept(database):
    store = SqlNotificationStore(database)
    assert store.begin("k1") == "new"
    assert store.begin("k1") == "sending"  # a crash before the record: it goes out again
    store.attempt("k1", "m-1", "company", "email", "failed", "mail server away")
    store.sent("k1", "m-1", "company", "email", detail="250 OK")
    assert store.begin("k1") == "sent"
    store.sent("k2", "m-1", "secretariat", "webhook")
    assert sorted(a[:4] for a in store.attempts("m-1")) == [  # `at` may tie: sorted
        ("company", "email", "failed", "mail server away"),
        ("company", "email", "sent", "250 OK"),
        ("secretariat", "webhook", "sent", None)]
    assert store.attempts("m-2") == []


def test_a_refused_letter_is_not_tried_again_and_says_why(database):
    store = SqlNotificationStore(database)
    assert store.begin("k1") == "new"
    store.refused("k1", "m-1", "company", "email", "550 no such user")
    assert store.begin("k1") == "refused"
    assert [a[:4] for a in store.attempts("m-1")] == [
        ("company", "email", "refused", "550 no such user")]


def test_an_event_is_archived_once_as_its_letters_begin_also_without_letters(database):
    store = SqlNotificationStore(database)
    event = assessment(7)
    assert store.open(event, []) == {}
    [kept] = store.events()
    assert (kept.message_id, kept.type, kept.submission_id, kept.company_id, kept.covenant,
            kept.reporting_year) == (event.message_id, "assessment.completed",
                                     event.submission_id, event.company_id, event.covenant,
                                     event.reporting_year)
    assert kept.event == event.model_dump(mode="json")
    assert abs(datetime.now(UTC) - datetime.fromisoformat(kept.received_at)) < timedelta(minutes=5)
    assert store.open(event, ["k1", "k2"]) == {"k1": "new", "k2": "new"}
    store.sent("k1", event.message_id, "company", "smtp")
    assert store.open(event, ["k1", "k2", "k3"]) == {"k1": "sent", "k2": "sending", "k3": "new"}
    assert store.begin("k3") == "sending"
    assert len(store.events()) == 1  # archived once


def test_a_rejection_is_archived_without_a_reporting_year(database):
    store = SqlNotificationStore(database)
    event = SubmissionRejected(correlation_id="c-2", reason="invalid", errors_total=0,
                               errors=[], company_id="AGT-1")
    assert store.open(event, ["k1"]) == {"k1": "new"}
    [kept] = store.events()
    assert (kept.type, kept.company_id, kept.submission_id, kept.reporting_year) == (
        "submission.rejected", "AGT-1", None, None)
