"""The console's stores, in the shared database: accounts and sessions, the audit log, the
assessments the rules service recorded (read only, always narrowed to a user's scope), the
reviews with their history (the outbox of events to publish is services/shared/outbox.py)."""

import hashlib
import json
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.rules.core.framework import standing_of
from services.shared.db import Database
from services.shared.logging import get_logger
from services.shared.messaging.handling import Outgoing
from services.shared.outbox import SqlOutbox

from .domain import Assessed, Role, Scope, User, counts_of
from .review import Review

log = get_logger()

OIDC_ONLY = "oidc-only"  # the password hash of an account that logs in through OpenID Connect
SESSION_HOURS = 8  # a session ends this long after it was last used
FAILURES_ALLOWED = 5  # failed logins of one account in FAILURE_WINDOW before it is locked
FAILURE_WINDOW = timedelta(minutes=15)
_HASHER = PasswordHasher()  # Argon2id with the library's current recommended parameters
# verifying against this when the account does not exist costs as much as a real check, so the
# time a login takes does not tell which accounts exist
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))


def _now() -> datetime:
    return datetime.now(UTC)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SqlAccounts:
    def __init__(self, db: Database):
        self._db = db

    def add(self, username: str, password: str | None, role: Role, covenant: str | None,
            company_id: str | None, language: str) -> None:
        """An account; without a password it logs in through OpenID Connect only (its stored
        hash is no Argon2 hash, so no password ever matches it)."""
        self._db.ensure_schema()
        with self._db.transaction() as cur:
            cur.execute(self._db.sql(
                "INSERT INTO console_users (username, password_hash, role, covenant, "
                "company_id, language, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"),
                (username, _HASHER.hash(password) if password is not None else OIDC_ONLY,
                 role.value, covenant, company_id, language,
                 _now().isoformat()))

    def remove(self, username: str) -> None:
        """The account and its sessions."""
        self._db.ensure_schema()
        with self._db.transaction() as cur:
            for table in ("console_sessions", "console_users"):
                cur.execute(self._db.sql(f"DELETE FROM {table} WHERE username = ?"),
                            (username,))

    def user(self, username: str) -> User | None:
        self._db.ensure_schema()
        with self._db.transaction() as cur:
            cur.execute(self._db.sql(
                "SELECT username, role, covenant, company_id, language FROM console_users "
                "WHERE username = ?"), (username,))
            row = cur.fetchone()
        return User(row[0], Role(row[1]), row[2], row[3], row[4]) if row else None

    def locked(self, username: str) -> bool:
        """Too many failed logins lately: the account waits out the window."""
        since = (_now() - FAILURE_WINDOW).isoformat()
        with self._db.transaction() as cur:
            cur.execute(self._db.sql(
                "SELECT COUNT(*) FROM console_login_failures WHERE username = ? AND at > ?"),
                (username, since))
            return int(cur.fetchone()[0]) >= FAILURES_ALLOWED

    def authenticate(self, username: str, password: str, address: str | None) -> User | None:
        """The user, when the password is right and the account not locked; a failure is
        recorded (and counts towards the lock)."""
        self._db.ensure_schema()
        with self._db.transaction() as cur:
            cur.execute(self._db.sql(
                "SELECT password_hash FROM console_users WHERE username = ?"), (username,))
            row = cur.fetchone()
        if self.locked(username):
            return None
        try:
            _HASHER.verify(row[0] if row else _DUMMY_HASH, password)
            ok = row is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:
            with self._db.transaction() as cur:
                cur.execute(self._db.sql(
                    "INSERT INTO console_login_failures (username, address, at) "
                    "VALUES (?, ?, ?)"), (username, address, _now().isoformat()))
            return None
        return self.user(username)

    def open_session(self, username: str) -> tuple[str, str]:
        """(the cookie's token, the session's CSRF token); only the token's digest is kept."""
        token, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(32), _now()
        with self._db.transaction() as cur:
            cur.execute(self._db.sql(
                "INSERT INTO console_sessions (token_hash, username, csrf_token, created_at, "
                "seen_at) VALUES (?, ?, ?, ?, ?)"),
                (_digest(token), username, csrf, now.isoformat(), now.isoformat()))
        return token, csrf

    def session(self, token: str) -> tuple[User, str] | None:
        """The session's user and CSRF token, while the session lasts; it is then used."""
        self._db.ensure_schema()
        now = _now()
        with self._db.transaction() as cur:
            cur.execute(self._db.sql(
                "SELECT username, csrf_token, seen_at FROM console_sessions "
                "WHERE token_hash = ?"), (_digest(token),))
            row = cur.fetchone()
            if row is None or datetime.fromisoformat(row[2]) < now - timedelta(
                    hours=SESSION_HOURS):
                return None
            cur.execute(self._db.sql(
                "UPDATE console_sessions SET seen_at = ? WHERE token_hash = ?"),
                (now.isoformat(), _digest(token)))
        user = self.user(row[0])
        return (user, row[1]) if user else None

    def close_session(self, token: str) -> None:
        with self._db.transaction() as cur:
            cur.execute(self._db.sql("DELETE FROM console_sessions WHERE token_hash = ?"),
                        (_digest(token),))


class SqlAuditLog:
    """Who did what, when, from where; never a password, never plan contents."""

    def __init__(self, db: Database):
        self._db = db

    def record(self, username: str | None, action: str, target: str | None,
               address: str | None) -> None:
        self._db.ensure_schema()
        with self._db.transaction() as cur:
            cur.execute(self._db.sql(
                "INSERT INTO console_audit (at, username, action, target, address) "
                "VALUES (?, ?, ?, ?, ?)"), (_now().isoformat(), username, action, target, address))

    def entries(self) -> list[tuple[str, str | None, str, str | None, str | None]]:
        with self._db.transaction() as cur:
            cur.execute("SELECT at, username, action, target, address FROM console_audit "
                        "ORDER BY id")
            return [tuple(row) for row in cur.fetchall()]


class SqlAssessments:
    """The assessments the rules service recorded, as far as a scope allows."""

    def __init__(self, db: Database):
        self._db = db

    def _select(self, scope: Scope, where: str, values: tuple[Any, ...],
                columns: str = "submission_id, covenant, company_id, reporting_year, "
                "submitted_at, plan_json, findings_json, (SELECT confirmed_json FROM "
                "console_reviews r WHERE r.submission_id = rules_assessments.submission_id "
                "AND r.state = 'final')") -> list[Any]:
        clauses, params = [where], list(values)
        if scope.covenant is not None:
            clauses.append("covenant = ?")
            params.append(scope.covenant)
        if scope.company_id is not None:
            clauses.append("company_id = ?")
            params.append(scope.company_id)
        self._db.ensure_schema()
        with self._db.transaction() as cur:
            cur.execute(self._db.sql(f"SELECT {columns} FROM rules_assessments WHERE "
                                     + " AND ".join(clauses)), tuple(params))
            return cur.fetchall()

    def of_covenant(self, scope: Scope, covenant: str, years: tuple[int, ...]) -> list[Assessed]:
        marks = ", ".join("?" for _ in years)
        return [_assessed(r) for r in self._select(
            scope, f"covenant = ? AND reporting_year IN ({marks})", (covenant, *years))]

    def of_company(self, scope: Scope, covenant: str, company_id: str) -> list[Assessed]:
        return sorted((_assessed(r) for r in self._select(
            scope, "covenant = ? AND company_id = ?", (covenant, company_id))),
            key=lambda a: (a.reporting_year, a.submitted_on))

    def one(self, scope: Scope, submission_id: str) -> tuple[Assessed, list[dict[str, Any]]] \
            | None:
        rows = self._select(scope, "submission_id = ?", (submission_id,))
        return (_assessed(rows[0]), json.loads(rows[0][6])) if rows else None

    def standing(self, scope: Scope, submission_id: str) -> list[dict[str, Any]]:
        """The findings that stand on a plan: its final review's, else the rules'."""
        rows = self._select(scope, "submission_id = ?", (submission_id,))
        return json.loads(rows[0][7] or rows[0][6]) if rows else []

    def plan(self, scope: Scope, submission_id: str) -> dict[str, Any] | None:
        rows = self._select(scope, "submission_id = ?", (submission_id,), columns="plan_json")
        return json.loads(rows[0][0]) if rows else None

    def companies(self) -> list[tuple[str, str]]:
        """(covenant, company id) of every company with an assessed plan."""
        self._db.ensure_schema()
        with self._db.transaction() as cur:
            cur.execute("SELECT DISTINCT covenant, company_id FROM rules_assessments "
                        "ORDER BY covenant, company_id")
            return [(r[0], r[1]) for r in cur.fetchall()]

    def years(self, scope: Scope, covenant: str) -> list[int]:
        """The reporting years with plans, without reading the plans themselves."""
        return sorted({int(r[0]) for r in self._select(
            scope, "covenant = ?", (covenant,), columns="DISTINCT reporting_year")})


def _assessed(row: Any) -> Assessed:
    plan, findings = json.loads(row[5]), json.loads(row[6])
    company = plan.get("company", {})
    joined = company.get("joined_on")
    return Assessed(
        submission_id=row[0], covenant=row[1], company_id=row[2],
        company_name=company.get("legal_name") or row[2],
        reporting_year=int(row[3]), submitted_on=date.fromisoformat(str(row[4])[:10]),
        counts=counts_of(findings), finding_ids=tuple(f["finding_id"] for f in findings),
        joined_year=int(joined[:4]) if joined else None,
        language=plan.get("submission", {}).get("language", "nl"),
        answers=frozenset(r["finding_id"] for r in plan.get("previous_findings_responses", [])),
        automatic=tuple(standing_of(findings)),
        reviewed=tuple(standing_of(json.loads(row[7]))) if row[7] else None)


class StaleReview(Exception):
    """The review changed since the page that sent this change was shown."""


class SqlReviews:
    """Reviews: the current state of each, every change in its history, and in the same
    transaction as a finalisation the feedback event in the outbox (`SqlOutbox`)."""

    def __init__(self, db: Database):
        self._db = db

    def get(self, submission_id: str) -> Review | None:
        self._db.ensure_schema()
        with self._db.transaction() as cur:
            cur.execute(self._db.sql(
                "SELECT document_json FROM console_reviews WHERE submission_id = ?"),
                (submission_id,))
            row = cur.fetchone()
        return Review.from_json(json.loads(row[0])) if row else None

    def save(self, review: Review, before: int, covenant: str, company_id: str, username: str,
             action: str, confirmed: list[dict[str, Any]] | None = None,
             event: Outgoing | None = None) -> None:
        """Stores the review if it is still at revision `before` (else StaleReview), with a
        history entry; `confirmed` (a final review's findings) and `event` (to publish) in the
        same transaction."""
        self._db.ensure_schema()
        now, document = _now().isoformat(), json.dumps(review.to_json())
        confirmed_json = json.dumps(confirmed) if confirmed is not None else None
        with self._db.transaction() as cur:
            if before == 0:
                cur.execute(self._db.sql(
                    "INSERT INTO console_reviews (submission_id, covenant, company_id, state, "
                    "revision, document_json, confirmed_json, updated_by, updated_at) VALUES "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (submission_id) DO NOTHING"),
                    (review.submission_id, covenant, company_id, review.state.value,
                     review.revision, document, confirmed_json, username, now))
            else:
                cur.execute(self._db.sql(
                    "UPDATE console_reviews SET state = ?, revision = ?, document_json = ?, "
                    "confirmed_json = ?, updated_by = ?, updated_at = ? "
                    "WHERE submission_id = ? AND revision = ?"),
                    (review.state.value, review.revision, document, confirmed_json, username,
                     now, review.submission_id, before))
            if cur.rowcount != 1:
                raise StaleReview(review.submission_id)
            cur.execute(self._db.sql(
                "INSERT INTO console_review_history (submission_id, revision, action, username, "
                "at, document_json) VALUES (?, ?, ?, ?, ?, ?)"),
                (review.submission_id, review.revision, action, username, now, document))
            if event is not None:
                SqlOutbox.add(self._db, cur, event)

    def history(self, submission_id: str) -> list[tuple[int, str, str, str]]:
        """(revision, action, username, at) of every change, oldest first."""
        with self._db.transaction() as cur:
            cur.execute(self._db.sql(
                "SELECT revision, action, username, at FROM console_review_history "
                "WHERE submission_id = ? ORDER BY revision"), (submission_id,))
            return [(int(r[0]), r[1], r[2], r[3]) for r in cur.fetchall()]
