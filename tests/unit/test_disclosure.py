"""Disclosure control of the banking figures: crafted tables where publishing the plain sums
would reveal one bank's figure, attacked the way a reader of the published table could (a row or
column with one unknown is its total minus the rest, repeated until nothing more follows)."""

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from services.register.disclosure import (
    TOTAL,
    Policy,
    Protected,
    Share,
    Table,
    protect,
    recoverable,
)

POLICY = Policy()  # 3 contributors, (2, 85%) dominance, p = 10%
BANKS = [f"bank-{n}" for n in range(14)]


def table(cells: dict[tuple[str, str], dict[str, float]]) -> Table:
    rows = tuple(sorted({r for r, _ in cells}))
    columns = tuple(sorted({c for _, c in cells}))
    return Table(rows, columns, cells)


def spread(total: float, banks: int, start: int = 0) -> dict[str, float]:
    """A cell many banks contribute to about equally: safe to publish."""
    return {BANKS[(start + n) % len(BANKS)]: total / banks for n in range(banks)}


def test_the_three_primary_rules() -> None:
    assert POLICY.sensitive([5.0, 4.0]) == "min_contributors"
    assert POLICY.sensitive([90.0, 6.0, 2.0, 2.0]) == "dominance"  # 96% in the two largest
    assert POLICY.sensitive([60.0, 30.0, 4.0, 3.0, 3.0]) == "dominance"  # 90%
    # without the dominance rule: 100, 40, 4, 4 leaves 8 beside the two largest, under 10% of
    # 100, so the second largest bank knows the largest's figure to within 8%
    assert Policy(dominance_k=100).sensitive([100.0, 40.0, 4.0, 4.0]) == "p_percent"
    assert Policy(dominance_k=100).sensitive([100.0, 40.0, 6.0, 6.0]) is None
    assert POLICY.sensitive([30.0, 30.0, 20.0, 20.0]) is None
    assert POLICY.sensitive([0.0, 0.0]) is None  # nobody contributes: a zero says nothing


def test_a_naive_table_reveals_a_bank_and_the_protected_one_does_not() -> None:
    # exposure by sector and country; one bank alone finances palm oil in Malaysia
    t = table({
        ("palm_oil", "ID"): spread(900, 6), ("palm_oil", "MY"): {"bank-3": 250.0},
        ("cocoa", "ID"): spread(300, 5, 4), ("cocoa", "MY"): spread(420, 7, 2),
    })
    naive = Protected({k: None if k == ("palm_oil", "MY") else
                       sum(t.contributions(k).values()) for k in t.entries()},
                      {("palm_oil", "MY"): "min_contributors"})
    assert recoverable(naive, t)[("palm_oil", "MY")] == 250.0  # the row total minus the rest

    protected = protect(t, POLICY)
    assert protected.primary == {("palm_oil", "MY"): "min_contributors"}
    assert protected.secondary  # others hidden with it
    assert recoverable(protected, t) == {}
    assert all(protected.values[k] is not None for k in ((TOTAL, TOTAL),))


def test_a_dominated_total_is_protected_too() -> None:
    # every cell has enough banks, but one bank dominates the whole of one column
    t = table({
        ("oil", "BR"): {"bank-0": 800.0, "bank-1": 5.0, "bank-2": 5.0},
        ("oil", "NG"): spread(100, 4, 3),
        ("gas", "BR"): {"bank-0": 700.0, "bank-4": 5.0, "bank-5": 5.0},
        ("gas", "NG"): spread(120, 4, 6),
    })
    protected = protect(t, POLICY)
    assert protected.primary[(TOTAL, "BR")] == "dominance"
    assert protected.values[(TOTAL, "BR")] is None
    found = recoverable(protected, t)
    assert not (set(found) & protected.suppressed)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.lists(st.integers(0, 500), min_size=1, max_size=6),
                         min_size=2, max_size=4), min_size=2, max_size=4))
def test_no_suppressed_entry_can_be_worked_out_from_the_published_table(grid) -> None:
    width = min(len(row) for row in grid)
    cells = {}
    for r, row in enumerate(grid):
        for c, values in enumerate(row[:width]):
            cells[(f"r{r}", f"c{c}")] = {BANKS[(r * 3 + c + i) % 14]: float(v)
                                        for i, v in enumerate(values) if v}
    t = table(cells)
    protected = protect(t, POLICY)
    assert not set(recoverable(protected, t)) & protected.suppressed
    for key, why in protected.primary.items():
        assert protected.values[key] is None, (key, why)
    # as no cell is below zero, the other hidden cells of a line bound a hidden one: they must
    # leave at least p% of its value of doubt
    value = {k: sum(t.contributions(k).values()) for k in t.entries()}
    for line in t.lines():
        for key in set(line) & set(protected.primary):
            if line[-1] != key and protected.values[line[-1]] is None:
                continue
            doubt = sum(value[k] for k in line[:-1] if k != key and protected.values[k] is None)
            assert doubt >= POLICY.p_percent / 100 * value[key], (key, line)


def test_the_pattern_stays_as_last_year_where_it_can() -> None:
    cells = {(r, c): spread(100 + 10 * i, 5, i) for i, (r, c) in enumerate(
        itertools.product(("a", "b", "c"), ("x", "y", "z")))}
    cells[("a", "x")] = {"bank-1": 70.0}
    t = table(cells)
    first = protect(t, POLICY)
    # last year another cell in the row and in the column was hidden: they are chosen again
    last_year = {("a", "z"), ("c", "x"), ("c", "z")}
    second = protect(t, POLICY, last_year)
    assert second.secondary == frozenset(last_year)
    assert first.secondary != second.secondary
    assert recoverable(second, t) == {}


def test_yes_no_shares_that_reveal_every_bank_are_suppressed() -> None:
    assert Share(14, 14).published(POLICY) is None  # N/N: every bank said yes
    assert Share(0, 14).published(POLICY) is None  # 0/N
    assert Share(2, 2).published(POLICY) is None  # too few answered
    assert Share(9, 14).published(POLICY) == 9 / 14
    assert Share(1, 14).published(POLICY) == 1 / 14
    assert Share(1, 14).published(Policy(min_each_answer=2)) is None
