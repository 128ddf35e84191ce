"""The console's stores, in the shared database: accounts and sessions, the audit log, and
the assessments the rules service recorded (read only, always narrowed to a user's scope)."""

import hashlib
import json
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.shared.db import Database

from .domain import Assessed, Role, Scope, User, counts_of

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

    def add(self, username: str, password: str, role: Role, covenant: str | None,
            company_id: str | None, language: str) -> None:
        self._db.ensure_schema()
        with self._db.transaction() as cur:
            cur.execute(self._db.sql(
                "INSERT INTO console_users (username, password_hash, role, covenant, "
                "company_id, language, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"),
                (username, _HASHER.hash(password), role.value, covenant, company_id, language,
                 _now().isoformat()))

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
                "submitted_at, plan_json, findings_json") -> list[Any]:
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

    def years(self, scope: Scope, covenant: str) -> list[int]:
        """The reporting years with plans, without reading the plans themselves."""
        return sorted({int(r[0]) for r in self._select(
            scope, "covenant = ?", (covenant,), columns="DISTINCT reporting_year")})


def _assessed(row: Any) -> Assessed:
    plan, findings = json.loads(row[5]), json.loads(row[6])
    return Assessed(
        submission_id=row[0], covenant=row[1], company_id=row[2],
        company_name=plan.get("company", {}).get("legal_name") or row[2],
        reporting_year=int(row[3]), submitted_on=date.fromisoformat(str(row[4])[:10]),
        counts=counts_of(findings), finding_ids=tuple(f["finding_id"] for f in findings))
