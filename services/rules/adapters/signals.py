"""The secretariat's register of forwarded signals, as a CSV file (`SIGNALS_FILE`) until the
secretariat's own store serves it: one row per signal and company it was forwarded to, with
the columns `company_id`, `covenant`, `signal_ref` and `forwarded_on` (YYYY-MM-DD). The file is
read again when it changes, so the secretariat can add rows while the service runs."""

import csv
from datetime import date
from pathlib import Path

from services.rules.core.prior import Signal

COLUMNS = ("company_id", "covenant", "signal_ref", "forwarded_on")


class NoSignalRegister:
    """No register configured: no signals are known, so no follow-up is asked."""

    def forwarded(self, company_id: str, covenant: str) -> tuple[Signal, ...]:
        return ()


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
