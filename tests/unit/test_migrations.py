"""One migration history for every store (services/shared/migrations), on SQLite and on
PostgreSQL: from an empty database, from the first release's schema (made without
migrations), concurrently, and refused when the service may not migrate."""

import threading
import uuid
from datetime import UTC, datetime

import pytest

from services.cli import main
from services.ingest.adapters import SqlSubmissionLedger
from services.notify.store import SqlNotificationStore
from services.rules.adapters.history import SqlAssessmentHistory
from services.shared.db import Database
from services.shared.migrations import SchemaOutdated, head, migrate, revision_of
from tests.support import ROOT, assessment

FIRST_RELEASE = (ROOT / "tests" / "fixtures" / "first-release-schema.sql").read_text()
TABLES = {"ingest_submissions", "ingest_companies", "rules_assessments", "notify_events",
          "console_users", "console_sessions", "console_audit", "console_login_failures",
          "console_reviews", "console_review_history", "console_outbox",
          "notify_ledger", "notify_attempts", "register_entries", "register_spellings",
          "register_sightings", "register_processed", "register_candidates",
          "register_rejections", "register_signals", "register_forwards"}


def tables(db: Database) -> set[str]:
    query = ("SELECT name FROM sqlite_master WHERE type = 'table'" if db.dialect == "sqlite"
             else "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                  "current_schema()")
    with db.transaction() as cur:
        cur.execute(query)
        return {r[0] for r in cur.fetchall()} - {"alembic_version"}


def test_an_empty_database_is_brought_to_this_releases_schema(database):
    assert revision_of(database) is None
    assert migrate(database) == (None, head())
    assert tables(database) == TABLES
    assert migrate(database) == (head(), head())  # again: nothing to do


def test_a_first_release_database_keeps_its_data_through_the_upgrade(database):
    """The first release made its tables itself: recognised, stamped 0001, upgraded."""
    statements = [s for s in FIRST_RELEASE.split(";") if "CREATE" in s]
    sid = str(uuid.uuid4())
    event = assessment(7)
    with database.transaction() as cur:
        for statement in statements:
            cur.execute(statement)
        cur.execute(database.sql(
            "INSERT INTO ingest_submissions (submission_id, content_sha256, company_id, "
            "covenant, published, received_at) VALUES (?, 'abc', 'AGT-0007', 'textile', TRUE, "
            "?)"), (sid, datetime.now(UTC).isoformat()))
        cur.execute(database.sql(
            "INSERT INTO notify_events (message_id, type, submission_id, company_id, covenant, "
            "reporting_year, received_at, event_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
            (event.message_id, event.type, event.submission_id, event.company_id, "textile",
             2019, datetime.now(UTC).isoformat(), event.model_dump_json()))
    assert revision_of(database) == "0001"
    assert migrate(database) == ("0001", head())
    assert tables(database) == TABLES
    ledger = SqlSubmissionLedger(database)
    assert ledger.find(sid).published
    [kept] = SqlNotificationStore(database).events(ident=event.submission_id)
    assert kept.event["company_id"] == "AGT-0007"
    SqlAssessmentHistory(database)  # its table and index were there already


def test_a_service_that_may_not_migrate_refuses_an_outdated_schema(database):
    checking = Database(database.url, migrate=False)  # the fixture's SQLite is a file
    with pytest.raises(SchemaOutdated, match=r"DATABASE_URL: .*empty.*covenant db upgrade"):
        SqlSubmissionLedger(checking)
    migrate(database)
    SqlSubmissionLedger(checking)  # current now: accepted


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_services_starting_together_migrate_one_after_the_other(dialect, request, tmp_path):
    """Three services on one database, started at once: an advisory lock on PostgreSQL, a
    file lock on a SQLite file (`make run` and the end-to-end tests share one)."""
    url = (f"sqlite:///{tmp_path}/shared.sqlite3" if dialect == "sqlite"
           else request.getfixturevalue("postgres_schema"))
    errors: list[BaseException] = []
    stores = [SqlSubmissionLedger, SqlAssessmentHistory, SqlNotificationStore]

    def start(store) -> None:
        try:
            store(Database(url))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=start, args=(store,)) for store in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and revision_of(Database(url)) == head()


def test_the_command_line_upgrades_and_reports(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/cli.sqlite3")
    assert main(["db", "current"]) == 1
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "current"]) == 0
    assert main(["db", "history"]) == 0
    out = capsys.readouterr().out
    assert f"empty -> {head()}" in out and f"at {head()}; this release needs {head()}" in out
    assert "0001  The first release's tables" in out
