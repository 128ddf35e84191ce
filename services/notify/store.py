"""The notify service's memory: the delivery ledger (exactly one effect) and the archive.

Ledger: every letter has a key (the event's message id and the recipient role). Before a letter
is handed to the mail system its key is marked `sending`, after the mail system accepted it
`sent`, or `refused` when the recipient's side refused it for good. A redelivered event skips
`sent` and `refused` letters. A letter found `sending` means the process
died between handing it over and recording that: it is sent again, under the same Message-ID.
That choice accepts a rare duplicate (recognisable by its identical Message-ID) over a
notification silently lost.

Archive: every assessment, rejection and feedback received, and every delivery attempt with its
outcome, for `covenant archive list|show`. SQLite by default, PostgreSQL when DATABASE_URL says so.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from services.shared.contracts.messages import NotifyEvent
from services.shared.db import Database

LetterState = Literal["new", "sending", "sent", "refused"]



def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class ArchivedEvent:
    message_id: str
    type: str
    submission_id: str | None
    company_id: str | None
    covenant: str | None
    reporting_year: int | None
    received_at: str
    event: dict[str, Any]


class SqlNotificationStore:
    def __init__(self, db: Database):
        self._db = db
        db.ensure_schema()  # tables: services/shared/migrations

    # --- ledger -----------------------------------------------------------------------------

    def begin(self, key: str) -> LetterState:
        """The letter's state before this attempt, and marks it `sending` unless already sent."""
        with self._db.transaction() as cur:
            return self._begin(cur, [key])[key]

    def open(self, event: NotifyEvent, keys: list[str]) -> dict[str, LetterState]:
        """Archives the event and begins each of its letters (`begin`), in one transaction:
        one commit before the letters go out instead of one for the archive and one per
        letter. Each commit waits for the disk; with small plans, notify spent more time
        waiting than working, and the cores stood idle while it caught up."""
        with self._db.transaction() as cur:
            self._keep(cur, event)
            return self._begin(cur, keys)

    def _begin(self, cur: Any, keys: list[str]) -> dict[str, LetterState]:
        if not keys:  # an event without letters (the secretariat takes a digest, no contacts)
            return {}
        marks = ", ".join("?" for _ in keys)
        cur.execute(self._db.sql(
            f"SELECT letter_key, state FROM notify_ledger WHERE letter_key IN ({marks})"), keys)
        states: dict[str, LetterState] = dict(cur.fetchall())
        new = [key for key in keys if key not in states]
        if new:
            cur.executemany(self._db.sql(
                "INSERT INTO notify_ledger (letter_key, state, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (letter_key) DO NOTHING"), [(key, "sending", _now()) for key in new])
        return {key: states.get(key, "new") for key in keys}

    def sent(self, key: str, message_id: str, role: str, channel: str, outcome: str = "sent",
             detail: str | None = None) -> None:
        """Marks the letter sent and records the attempt, in one transaction: the fewer steps
        between the mail system's acceptance and this record, the smaller the window in which a
        crash makes the letter go out again."""
        self._finish(key, "sent", message_id, role, channel, outcome, detail)

    def refused(self, key: str, message_id: str, role: str, channel: str, reason: str) -> None:
        """Marks the letter refused for good by the recipient's side: it is not tried again."""
        self._finish(key, "refused", message_id, role, channel, "refused", reason)

    def _finish(self, key: str, state: LetterState, message_id: str, role: str, channel: str,
                outcome: str, detail: str | None) -> None:
        with self._db.transaction() as cur:
            cur.execute(self._db.sql(
                "UPDATE notify_ledger SET state = ?, updated_at = ? WHERE letter_key = ?"),
                (state, _now(), key))
            self._record(cur, key, message_id, role, channel, outcome, detail)

    # --- archive ----------------------------------------------------------------------------

    def _keep(self, cur: Any, event: NotifyEvent) -> None:
        year = getattr(event, "reporting_year", None)
        values = (event.message_id, event.type, event.submission_id, event.company_id,
                  event.covenant, year, _now(),
                  event.model_dump_json())
        cur.execute(self._db.sql(
            "INSERT INTO notify_events (message_id, type, submission_id, company_id, "
            "covenant, reporting_year, received_at, event_json) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING"), values)

    def attempt(self, key: str, message_id: str, role: str, channel: str, outcome: str,
                detail: str | None = None) -> None:
        with self._db.transaction() as cur:
            self._record(cur, key, message_id, role, channel, outcome, detail)

    def _record(self, cur: Any, key: str, message_id: str, role: str, channel: str,
                outcome: str, detail: str | None) -> None:
        cur.execute(self._db.sql(
            "INSERT INTO notify_attempts (letter_key, message_id, role, channel, outcome, "
            "detail, at) VALUES (?, ?, ?, ?, ?, ?, ?)"),
            (key, message_id, role, channel, outcome, detail, _now()))

    def events(self, company_id: str | None = None, covenant: str | None = None,
               ident: str | None = None, type: str | None = None,
               received_on: str | None = None) -> list[ArchivedEvent]:
        """Archived events, filtered by company, covenant, submission or message id (`ident`),
        type, and day received (YYYY-MM-DD, UTC)."""
        where, args = [], []
        for column, value in (("company_id", company_id), ("covenant", covenant),
                              ("type", type)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if ident is not None:
            where.append("(submission_id = ? OR message_id = ?)")
            args += [ident, ident]
        if received_on is not None:
            where.append("received_at LIKE ?")
            args.append(f"{received_on}%")
        sql = ("SELECT message_id, type, submission_id, company_id, covenant, reporting_year, "
               "received_at, event_json FROM notify_events"
               + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY company_id, reporting_year, received_at")
        with self._db.transaction() as cur:
            cur.execute(self._db.sql(sql), tuple(args))
            rows = cur.fetchall()
        return [ArchivedEvent(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]))
                for r in rows]

    def attempts(self, message_id: str) -> list[tuple[str, str, str, str | None, str]]:
        """(role, channel, outcome, detail, at) of every attempt for one event."""
        with self._db.transaction() as cur:
            cur.execute(self._db.sql(
                "SELECT role, channel, outcome, detail, at FROM notify_attempts "
                "WHERE message_id = ? ORDER BY at"), (message_id,))
            return [tuple(r) for r in cur.fetchall()]
