"""Calendar months: the engine's month keys (compiler.py) agree with the plain reading
(`add_months`, end-of-month rule) at every day around 28/29 February and 30/31-day months."""

from datetime import date, timedelta

import pytest

from services.rules.core.compiler import MONTH
from services.rules.core.evaluator import month_key
from services.rules.core.values import add_months

DAYS = [date(2019, 1, 25) + timedelta(d) for d in range(0, 70)] + \
       [date(2020, 1, 25) + timedelta(d) for d in range(0, 70)] + \
       [date(2019, 4, 25) + timedelta(d) for d in range(0, 70)]


def test_adding_months_keeps_the_day_or_takes_the_last_day_of_the_month():
    assert add_months(date(2019, 1, 31), 1) == date(2019, 2, 28)
    assert add_months(date(2020, 1, 31), 1) == date(2020, 2, 29)
    assert add_months(date(2020, 2, 29), 12) == date(2021, 2, 28)
    assert add_months(date(2019, 3, 31), -1) == date(2019, 2, 28)
    assert add_months(date(2019, 5, 31), 1) == date(2019, 6, 30)


@pytest.mark.parametrize("months", [-12, -1, 0, 1, 12, 36])
def test_month_keys_compare_like_calendar_dates(months):
    for d2 in DAYS:
        target = add_months(d2, months)
        for d1 in DAYS:
            plain, keys = month_key(d1), month_key(d2) + MONTH * months
            assert (d1 <= target) == (plain <= keys), (d1, d2, months)
            assert (d1 > target) == (plain > keys), (d1, d2, months)
            assert (d1 >= target) == (month_key(d1, end_of_month=True) >= keys), (d1, d2)
            assert (d1 < target) == (month_key(d1, end_of_month=True) < keys), (d1, d2)
