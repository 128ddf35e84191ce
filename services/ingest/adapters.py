"""The submission ledger on SQLite or PostgreSQL."""

from datetime import UTC, datetime

from services.shared.db import Database

from .ports import LedgerEntry

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ingest_submissions (
    submission_id  TEXT PRIMARY KEY,
    content_sha256 TEXT NOT NULL,
    company_id     TEXT NOT NULL,
    covenant       TEXT NOT NULL,
    published      BOOLEAN NOT NULL DEFAULT FALSE,
    received_at    TEXT NOT NULL
)
"""


class SqlSubmissionLedger:
    def __init__(self, db: Database):
        self._db = db
        with db.transaction() as cur:
            cur.execute(_SCHEMA)

    def find(self, submission_id: str) -> LedgerEntry | None:
        with self._db.transaction() as cur:
            cur.execute(self._db.sql(
                "SELECT content_sha256, published FROM ingest_submissions WHERE submission_id = ?"
            ), (submission_id,))
            row = cur.fetchone()
        return LedgerEntry(submission_id, row[0], bool(row[1])) if row else None

    def record(self, submission_id: str, digest: str, company_id: str, covenant: str) -> None:
        with self._db.transaction() as cur:
            cur.execute(self._db.sql(
                "INSERT INTO ingest_submissions (submission_id, content_sha256, company_id, "
                "covenant, published, received_at) VALUES (?, ?, ?, ?, FALSE, ?) "
                "ON CONFLICT (submission_id) DO NOTHING"
            ), (submission_id, digest, company_id, covenant, datetime.now(UTC).isoformat()))

    def mark_published(self, submission_id: str) -> None:
        with self._db.transaction() as cur:
            cur.execute(self._db.sql(
                "UPDATE ingest_submissions SET published = TRUE WHERE submission_id = ?"
            ), (submission_id,))
