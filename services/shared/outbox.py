"""Events a request has to publish, written to the database in the same transaction as the
change that causes them (the console's feedback letters, the register's forwarded signals), and
the relay that publishes them with confirms: a broker that is away delays them, it never loses
them."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from services.shared.logging import get_logger

from .db import Database
from .messaging.handling import Outgoing

log = get_logger()


def _now() -> datetime:
    return datetime.now(UTC)


class SqlOutbox:
    """Events the console has to publish, kept until the broker confirmed them: a broker that
    is away delays the feedback letter, it never loses it."""

    def __init__(self, db: Database):
        self._db = db

    @staticmethod
    def add(db: Database, cur: Any, event: Outgoing) -> None:
        cur.execute(db.sql(
            "INSERT INTO console_outbox (message_id, exchange, routing_key, correlation_id, "
            "body, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING"),
            (event.message_id, event.exchange, event.routing_key, event.correlation_id or "",
             event.body.decode(), _now().isoformat()))

    def pending(self, limit: int = 100) -> list[Outgoing]:
        self._db.ensure_schema()
        with self._db.transaction() as cur:
            cur.execute(self._db.sql(
                "SELECT message_id, exchange, routing_key, correlation_id, body FROM "
                "console_outbox WHERE published_at IS NULL ORDER BY created_at LIMIT ?"),
                (limit,))
            rows = cur.fetchall()
        return [Outgoing(r[1], r[2], r[4].encode(), r[0], r[3]) for r in rows]

    def published(self, message_ids: list[str]) -> None:
        with self._db.transaction() as cur:
            for message_id in message_ids:
                cur.execute(self._db.sql(
                    "UPDATE console_outbox SET published_at = ? WHERE message_id = ?"),
                    (_now().isoformat(), message_id))


class OutboxRelay:
    """Publishes what the outbox holds, oldest first, and marks each message once the broker
    confirmed it. A failure (broker or database away) leaves the messages for the next round;
    a message published twice (a crash between confirm and mark) is one letter, as notify's
    ledger keys letters by message id."""

    def __init__(self, outbox: SqlOutbox, publish: Callable[[list[Outgoing]], None],
                 interval_s: float = 2.0):
        self._outbox, self._publish, self._interval = outbox, publish, interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        messages = self._outbox.pending()
        if messages:
            self._publish(messages)
            self._outbox.published([m.message_id for m in messages])
        return len(messages)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception as e:  # away for now: tried again next round
                log.warning("outbox not published yet", error=type(e).__name__)
            self._stop.wait(self._interval)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="outbox-relay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
