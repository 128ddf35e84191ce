"""The two ledgers that make "each outcome once" hold, read back field by field, on SQLite and
on PostgreSQL: ingest's (submissions and the companies they describe) and notify's (each
letter's state and every attempt).

Written against the mutants `make mutate` found alive in services/ingest/adapters.py and
services/notify/store.py: values written but never read back."""

from datetime import UTC, datetime, timedelta

from services.ingest.adapters import SqlSubmissionLedger
from services.ingest.ports import KnownCompany, LedgerEntry
from services.notify.store import SqlNotificationStore

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
