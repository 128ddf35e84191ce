"""The secretariat's register of forwarded signals: by default the register in the shared
database (`covenant signals add` and the console write it; services/register/signals.py), or a
CSV file kept outside this system (`SIGNALS_FILE`): one row per signal and company it was
forwarded to, with the columns `company_id`, `covenant`, `signal_ref` and `forwarded_on`
(YYYY-MM-DD), read again when it changes."""

import csv
from datetime import date
from pathlib import Path

from services.rules.core.prior import Signal
from services.shared.db import Database

COLUMNS = ("company_id", "covenant", "signal_ref", "forwarded_on")


class NoSignalRegister:
    """No register configured: no signals are known, so no follow-up is asked."""

    def forwarded(self, company_id: str, covenant: str) -> tuple[Signal, ...]:
        return ()


class SqlSignalRegister:
    """The register's forwards (table `register_forwards`): each signal once per company. A
    database that is away raises DatabaseUnavailable, which holds the plan until it is back."""

    def __init__(self, db: Database):
        self._db = db
        db.ensure_schema()

    def forwarded(self, company_id: str, covenant: str) -> tuple[Signal, ...]:
        with self._db.transaction() as cur:
            cur.execute(self._db.sql(
                "SELECT signal_id, forwarded_on FROM register_forwards WHERE company_id = ? "
                "AND covenant = ? ORDER BY forwarded_on, signal_id"), (company_id, covenant))
            return tuple(Signal(ref, on) for ref, on in cur.fetchall())


class CsvSignalRegister:
    def __init__(self, path: Path):
        self._path = path
        self._read_at: float | None = None
        self._by_company: dict[tuple[str, str], tuple[Signal, ...]] = {}

    def forwarded(self, company_id: str, covenant: str) -> tuple[Signal, ...]:
        changed = self._path.stat().st_mtime
        if changed != self._read_at:
            self._by_company = _read(self._path)
            self._read_at = changed
        return self._by_company.get((company_id, covenant), ())


def _read(path: Path) -> dict[tuple[str, str], tuple[Signal, ...]]:
    found: dict[tuple[str, str], list[Signal]] = {}
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = set(COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path.name}: no column(s) {', '.join(sorted(missing))}")
        for n, row in enumerate(reader, start=2):
            try:
                forwarded_on = date.fromisoformat(row["forwarded_on"].strip()).isoformat()
            except ValueError:
                raise ValueError(f"{path.name}:{n}: forwarded_on is not a date") from None
            found.setdefault((row["company_id"].strip(), row["covenant"].strip()), []).append(
                Signal(row["signal_ref"].strip(), forwarded_on))
    return {key: tuple(signals) for key, signals in found.items()}
