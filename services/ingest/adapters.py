"""The submission ledger on SQLite or PostgreSQL."""

import json
from datetime import UTC, datetime

from services.shared.db import Database

from .ports import KnownCompany, LedgerEntry


class SqlSubmissionLedger:
    def __init__(self, db: Database):
        self._db = db
        db.ensure_schema()  # tables: services/shared/migrations

    def find(self, submission_id: str) -> LedgerEntry | None:
        with self._db.transaction() as cur:
            cur.execute(self._db.sql(
                "SELECT content_sha256, published FROM ingest_submissions WHERE submission_id = ?"
            ), (submission_id,))
            row = cur.fetchone()
        return LedgerEntry(submission_id, row[0], bool(row[1])) if row else None

    def record(self, submission_id: str, digest: str, company: KnownCompany) -> None:
        now = datetime.now(UTC).isoformat()
        contacts = json.dumps([list(c) for c in company.contacts])
        with self._db.transaction() as cur:  # one transaction: the submission and its company
            cur.execute(self._db.sql(
                "INSERT INTO ingest_submissions (submission_id, content_sha256, company_id, "
                "covenant, published, received_at) VALUES (?, ?, ?, ?, FALSE, ?) "
                "ON CONFLICT (submission_id) DO NOTHING"
            ), (submission_id, digest, company.company_id, company.covenant, now))
            cur.execute(self._db.sql(
                "INSERT INTO ingest_companies (company_id, covenant, legal_name, language, "
                "contacts_json, updated_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (company_id, covenant) DO UPDATE SET legal_name = "
                "excluded.legal_name, language = excluded.language, contacts_json = "
                "excluded.contacts_json, updated_at = excluded.updated_at"
            ), (company.company_id, company.covenant, company.legal_name, company.language,
                contacts, now))

    def mark_published(self, submission_id: str) -> None:
        with self._db.transaction() as cur:
            cur.execute(self._db.sql(
                "UPDATE ingest_submissions SET published = TRUE WHERE submission_id = ?"
            ), (submission_id,))

    def company(self, company_id: str, covenant: str) -> KnownCompany | None:
        with self._db.transaction() as cur:
            cur.execute(self._db.sql(
                "SELECT legal_name, language, contacts_json FROM ingest_companies "
                "WHERE company_id = ? AND covenant = ?"), (company_id, covenant))
            row = cur.fetchone()
        if row is None:
            return None
        contacts = tuple((address, name) for address, name in json.loads(row[2]))
        return KnownCompany(company_id, covenant, row[0], row[1], contacts)
