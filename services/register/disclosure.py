"""Statistical disclosure control for figures that leave the secretariat about a covenant whose
participants must stay anonymous (banking: about 14 banks; reference.md, aggregate indicators).

A table's cell is the sum of the participants' contributions. Primary suppression, as statistics
offices do it:
- **minimum contributors**: fewer than `min_contributors` participants contribute (3 is usual);
- **dominance** ((n, k) rule): the `dominance_n` largest contributions make up more than
  `dominance_k` percent of the cell, so the cell shows roughly what they hold;
- **p% rule**: the cell minus the two largest contributions is less than `p_percent` of the
  largest, so the second largest contributor can estimate the largest to within p%.
A zero cell (nobody contributes) is published: it says nothing of one participant.

Secondary suppression: the table is published with its row and column totals, so a suppressed
cell alone in its row or column (with that line's total) would be the total minus the rest; and
as no cell is below zero, the other hidden cells of its line bound it from above: hidden beside
empty cells only, it would be known to the last euro. So until no row or column (totals
included) holds exactly one suppressed entry, and every primary entry has, in each of its lines,
other hidden cells worth at least `p_percent` of its value (or a hidden total), another entry of
such a line is suppressed: one suppressed last year if there is one (the pattern stays stable
from year to year, so two years' tables cannot be subtracted from each other), else a cell
before a total, one large enough on its own, the smallest such. A suppressed total is handled the
same way.

Yes/no shares (the share of participants that do something): suppressed when fewer than
`min_contributors` answered, or when fewer than `min_each_answer` gave either answer; with the
default 1 that is exactly 0/N and N/N, which reveal every participant's answer (raise it to 2 to
also hide 1/N and (N-1)/N from the one participant that answered otherwise).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

TOTAL = "__total__"  # the row or column of totals
Key = tuple[str, str]  # (row, column); (row, TOTAL), (TOTAL, column), (TOTAL, TOTAL)


@dataclass(frozen=True)
class Policy:
    min_contributors: int = 3
    dominance_n: int = 2
    dominance_k: float = 85.0
    p_percent: float = 10.0
    min_each_answer: int = 1

    def sensitive(self, contributions: Iterable[float]) -> str | None:
        """Why a cell of these contributions may not be published; None when it may."""
        values = sorted((v for v in contributions if v), reverse=True)
        if not values:
            return None
        total = sum(values)
        if len(values) < self.min_contributors:
            return "min_contributors"
        if sum(values[:self.dominance_n]) > self.dominance_k / 100 * total:
            return "dominance"
        second = values[1] if len(values) > 1 else 0.0
        if total - values[0] - second < self.p_percent / 100 * values[0]:
            return "p_percent"
        return None


@dataclass(frozen=True)
class Table:
    """A magnitude table: for each (row, column) each participant's contribution."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: Mapping[Key, Mapping[str, float]]  # (row, column) -> participant -> contribution

    def contributions(self, key: Key) -> dict[str, float]:
        row, column = key
        rows = self.rows if row == TOTAL else (row,)
        columns = self.columns if column == TOTAL else (column,)
        summed: dict[str, float] = {}
        for r in rows:
            for c in columns:
                for who, value in self.cells.get((r, c), {}).items():
                    summed[who] = summed.get(who, 0.0) + value
        return summed

    def entries(self) -> list[Key]:
        return [(r, c) for r in (*self.rows, TOTAL) for c in (*self.columns, TOTAL)]

    def lines(self) -> list[list[Key]]:
        """Every row and column with its total: each sums to its last entry."""
        return ([[(r, c) for c in (*self.columns, TOTAL)] for r in (*self.rows, TOTAL)]
                + [[(r, c) for r in (*self.rows, TOTAL)] for c in (*self.columns, TOTAL)])


@dataclass(frozen=True)
class Protected:
    """What may leave: each entry's value, or None where suppressed, and why."""

    values: dict[Key, float | None]
    primary: dict[Key, str] = field(default_factory=dict)  # key -> the rule
    secondary: frozenset[Key] = frozenset()

    @property
    def suppressed(self) -> frozenset[Key]:
        return frozenset(self.primary) | self.secondary


def protect(table: Table, policy: Policy, last_year: Iterable[Key] = ()) -> Protected:
    exact = {k: sum(table.contributions(k).values()) for k in table.entries()}
    primary = {k: why for k in table.entries()
               if (why := policy.sensitive(table.contributions(k).values()))}
    suppressed = set(primary)
    before = set(last_year)

    def margin(line: list[Key], key: Key) -> float:
        """How far the line lets a reader bound `key` from the published entries: the other
        hidden cells (each at least zero) widen the bound; a hidden total gives no bound."""
        total = line[-1]
        if key != total and total in suppressed:
            return float("inf")
        return sum(exact[k] for k in line[:-1] if k in suppressed and k != key)

    def complement(line: list[Key], needed: float) -> Key | None:
        """The entry to hide with the others: one hidden last year first, then a cell before a
        total, one that adds enough on its own, the smallest such."""
        open_ = [k for k in line if k not in suppressed]
        if not open_:
            return None
        return min(open_, key=lambda k: (k not in before, TOTAL in k, exact[k] < needed
                                         or exact[k] == 0, exact[k] if exact[k] >= needed
                                         else -exact[k], k))

    changed = True
    while changed:
        changed = False
        for line in table.lines():
            hidden = [k for k in line if k in suppressed]
            if not hidden:
                continue
            # one hidden entry alone is its line's total minus the rest; a primary entry needs
            # a margin of p% of its value around it
            short = [(k, policy.p_percent / 100 * exact[k] - margin(line, k))
                     for k in hidden if k in primary and exact[k] > 0]
            short = [(k, need) for k, need in short if need > 0]
            if len(hidden) != 1 and not short:
                continue
            choice = complement(line, max((need for _, need in short), default=0.0))
            if choice is not None:
                suppressed.add(choice)
                changed = True
    return Protected({k: None if k in suppressed else exact[k] for k in table.entries()},
                     primary, frozenset(suppressed - set(primary)))


@dataclass(frozen=True)
class Share:
    """How many of the participants that answered said yes."""

    yes: int
    answered: int

    def published(self, policy: Policy) -> float | None:
        if self.answered < policy.min_contributors or \
                min(self.yes, self.answered - self.yes) < policy.min_each_answer:
            return None
        return self.yes / self.answered


def recoverable(protected: Protected, table: Table) -> dict[Key, float]:
    """What someone holding the published table can work out exactly: whenever a row or
    column has one unknown entry, that entry (then again, until nothing more follows). For
    tests and for the report's own check before anything leaves."""
    known = {k: v for k, v in protected.values.items() if v is not None}
    found: dict[Key, float] = {}
    progress = True
    while progress:
        progress = False
        for line in table.lines():
            unknown = [k for k in line if k not in known]
            if len(unknown) != 1:
                continue
            total = line[-1]
            k = unknown[0]
            others = sum(known[x] for x in line[:-1] if x != k)
            value = others if k == total else known[total] - others
            known[k] = found[k] = value
            progress = True
    return found
