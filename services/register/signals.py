"""Signals: reports of an abuse at a listed location, passed by the secretariat to every company
whose latest accepted plan lists that location (reference.md 3.1.6; the register finds them,
after matching, so a company that spelled the factory otherwise is found too).

Recording a signal and forwarding it are one transaction: the signal, one `register_forwards`
row per company and one `SignalForwarded` event per company in the outbox, which the relay
publishes to notify. A company gets a signal once: the forward's key is (signal, company) and the
event's message id is derived from it, so forwarding again (`forward`, after more plans came in)
reaches only companies not told yet, and a republished event is one letter (notify's ledger).

Who reported the signal (`source`) stays in the register: no event, letter or page for a company
carries it. The summary goes to the companies concerned only, and into no log.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from services.shared.contracts import Contact, Language, SignalForwarded
from services.shared.contracts.messages import ListedLocation
from services.shared.covenants import Covenants
from services.shared.db import Database
from services.shared.logging import get_logger
from services.shared.messaging.handling import Outgoing
from services.shared.outbox import SqlOutbox

from .store import RegisterError, Sighting, SqlRegister

log = get_logger()
MAX_SUMMARY = 4000
MAX_SOURCE = 500


@dataclass(frozen=True)
class Signal:
    signal_id: str
    covenant: str
    entry_id: str
    received_on: date
    theme: str
    source: str  # the secretariat's eyes only
    summary: str
    recorded_by: str
    recorded_at: str
    forwarded_to: tuple[str, ...] = ()  # company ids


class SqlSignals:
    def __init__(self, db: Database, register: SqlRegister, covenants: Covenants):
        self._db = db
        self._register = register
        self._covenants = covenants

    def add(self, covenant: str, entry_id: str, received_on: date, theme: str, source: str,
            summary: str, user: str) -> Signal:
        """Records the signal and forwards it to every company that uses the location now."""
        defined = self._covenants.get(covenant)
        if defined is None or defined.spec.locations is None:
            raise RegisterError(f"{covenant} keeps no list of locations")
        if theme not in defined.themes:
            raise RegisterError(f"'{theme}' is not a theme of the covenant")
        if not summary.strip() or len(summary) > MAX_SUMMARY:
            raise RegisterError(f"the summary is needed, at most {MAX_SUMMARY} characters")
        if not source.strip() or len(source) > MAX_SOURCE:
            raise RegisterError(f"the source is needed, at most {MAX_SOURCE} characters")
        with self._db.transaction() as cur:
            cur.execute(self._db.sql(
                "SELECT merged_into FROM register_entries WHERE covenant = ? AND entry_id = ?"),
                (covenant, entry_id))
            row = cur.fetchone()
            if row is None:
                raise RegisterError(f"no location {entry_id} in the register")
            entry_id = row[0] or entry_id
            prefix = f"SIG-{received_on.year}-"  # numbered within the year it came in
            cur.execute(self._db.sql(
                "SELECT COUNT(*) FROM register_signals WHERE signal_id LIKE ?"), (f"{prefix}%",))
            signal_id = f"{prefix}{int(cur.fetchone()[0]) + 1:04d}"
            cur.execute(self._db.sql(
                "INSERT INTO register_signals (signal_id, covenant, entry_id, received_on, "
                "theme, source, summary, recorded_by, recorded_at) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                (signal_id, covenant, entry_id, received_on.isoformat(), theme, source.strip(),
                 summary.strip(), user, datetime.now(UTC).isoformat()))
        self.forward(signal_id)
        found = self.get(signal_id)
        assert found is not None
        return found

    def forward(self, signal_id: str) -> list[str]:
        """Forwards the signal to each company that uses its location and was not told yet;
        returns those companies."""
        signal = self.get(signal_id)
        if signal is None:
            raise RegisterError(f"no signal {signal_id}")
        self._register.refresh()  # the plans accepted until now count
        users = self._register.users_of(signal.covenant, signal.entry_id)
        told: list[str] = []
        with self._db.transaction() as cur:
            for sighting in users:
                if sighting.company_id in signal.forwarded_to or sighting.company_id in told:
                    continue
                event = self._event(cur, signal, sighting)
                if event is None:
                    continue
                cur.execute(self._db.sql(
                    "INSERT INTO register_forwards (signal_id, company_id, covenant, "
                    "submission_id, forwarded_on) VALUES (?, ?, ?, ?, ?) ON CONFLICT "
                    "(signal_id, company_id) DO NOTHING"),
                    (signal.signal_id, sighting.company_id, signal.covenant,
                     sighting.submission_id, datetime.now(UTC).date().isoformat()))
                SqlOutbox.add(self._db, cur, Outgoing.of(event))
                told.append(sighting.company_id)
        log.info("signal_forwarded", signal_id=signal_id, covenant=signal.covenant,
                 companies=len(told))
        return told

    def _event(self, cur: Any, signal: Signal, sighting: Sighting) -> SignalForwarded | None:
        cur.execute(self._db.sql(
            "SELECT reporting_year, plan_json FROM rules_assessments WHERE submission_id = ?"),
            (sighting.submission_id,))
        row = cur.fetchone()
        if row is None:
            return None
        plan = json.loads(row[1])
        company = plan.get("company") or {}
        listed = sighting.fields
        return SignalForwarded(
            message_id=str(uuid.uuid5(uuid.NAMESPACE_URL,
                                      f"signal:{signal.signal_id}:{sighting.company_id}")),
            correlation_id=signal.signal_id, signal_id=signal.signal_id,
            submission_id=sighting.submission_id, covenant=signal.covenant,
            company_id=sighting.company_id,
            company_name=company.get("legal_name") or sighting.company_id,
            language=Language((plan.get("submission") or {}).get("language") or "nl"),
            contacts=[Contact.model_validate(c) for c in company.get("contacts") or ()],
            received_on=signal.received_on, theme=signal.theme, summary=signal.summary,
            location=ListedLocation(location_id=sighting.location_id,
                                    name=str(listed.get("name") or ""),
                                    address=listed.get("address"), city=listed.get("city"),
                                    country=str(listed.get("country") or "").upper()),
            next_plan_due_on=self._covenants.due_on(signal.covenant, int(row[0]) + 1))

    def get(self, signal_id: str) -> Signal | None:
        found = self._select("WHERE s.signal_id = ?", (signal_id,))
        return found[0] if found else None

    def of_covenant(self, covenant: str) -> list[Signal]:
        return self._select("WHERE s.covenant = ?", (covenant,))

    def _select(self, where: str, values: tuple[Any, ...]) -> list[Signal]:
        with self._db.transaction() as cur:
            cur.execute(self._db.sql(
                "SELECT s.signal_id, s.covenant, s.entry_id, s.received_on, s.theme, s.source, "
                "s.summary, s.recorded_by, s.recorded_at FROM register_signals s "
                f"{where} ORDER BY s.received_on DESC, s.signal_id DESC"), values)
            rows = cur.fetchall()
            found = []
            for r in rows:
                cur.execute(self._db.sql(
                    "SELECT company_id FROM register_forwards WHERE signal_id = ? "
                    "ORDER BY company_id"), (r[0],))
                found.append(Signal(r[0], r[1], r[2], date.fromisoformat(r[3]), r[4], r[5],
                                    r[6], r[7], r[8],
                                    tuple(c for (c,) in cur.fetchall())))
        return found
