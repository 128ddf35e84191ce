"""The values rules compare, read plainly: a field's value or its absence, dates (written
`YYYY-MM-DD`, or a timestamp's local date), lengths of time with calendar months, and the month
keys the engine compares dates by (see compiler.py)."""

import calendar
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

MISSING = object()


def lookup(fact: dict[str, Any], field: str) -> Any:
    """The value at a dotted path, or MISSING."""
    if "." not in field:  # most fields: a name (a fact is a dict)
        return fact.get(field, MISSING)
    node: Any = fact
    for part in field.split("."):
        if not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


def as_date(value: Any) -> date | None:
    """A date written `YYYY-MM-DD` (or the local date of a timestamp), else None."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10]) if len(value) == 10 else \
            datetime.fromisoformat(value).date()
    except ValueError:
        return None


def month_key(day: date, end_of_month: bool = False) -> int:
    """(12 * year + month) * 32 + day, the last day of a month counting as 31 when asked: the
    engine's representation of dates for calendar-month comparisons (see compiler.py)."""
    last = calendar.monthrange(day.year, day.month)[1] == day.day
    return (day.year * 12 + day.month) * 32 + (31 if end_of_month and last else day.day)


def add_months(day: date, months: int) -> date:
    """Calendar months with the end-of-month rule: the same day of the month, or the last day
    of the target month when it has fewer days."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


class Duration(BaseModel):
    """A length of time: days, or calendar months and years (a year is 12 months). Adding N
    months to a date keeps its day of the month, or takes the last day of the target month
    when that month is shorter (31 January + 1 month = 28 or 29 February); see `add_months`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: int = 0
    months: int = 0
    years: int = 0

    @model_validator(mode="before")
    @classmethod
    def _units(cls, value: Any) -> Any:
        """A unit it does not know (`weeks`) is named with the ones it does."""
        unknown = sorted(set(value) - set(cls.model_fields)) if isinstance(value, dict) else []
        if unknown:
            raise ValueError(f"a duration is given in days, months or years, not in "
                             f"{' or '.join(unknown)}")
        return value

    @model_validator(mode="after")
    def _days_or_months(self) -> "Duration":
        if self.days and (self.months or self.years):
            raise ValueError("give days, or months and years, not both")
        return self

    @property
    def in_months(self) -> int:
        return self.months + 12 * self.years

    @property
    def calendar(self) -> bool:
        return bool(self.months or self.years)

    def after(self, day: date) -> date:
        """The day this long after `day` (negative lengths go back)."""
        return add_months(day, self.in_months) if self.calendar else day + timedelta(self.days)
