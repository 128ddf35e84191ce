"""Whether two companies' production locations are the same place, as Open Supply Hub decides
it: exact on a cleaned key (or a shared `os_id`), then fuzzy with two thresholds, numbers
compared strictly. Free of I/O: the register (store.py) keeps what was decided.

Cleaning (`clean`): transliterated to ASCII (unidecode), lower case, punctuation removed, the
usual abbreviations of company and street words written out (`ABBREVIATIONS`), spaces collapsed.
The exact key is country + cleaned name + cleaned address.

Fuzzy score (0..1): `NAME_WEIGHT` of the names' token-sort similarity plus the rest of the
addresses' token-set similarity (an address often carries more or fewer parts: a district, a
postcode). Only locations in the same country are compared. Numbers are strict: when both
locations carry numbers in name and address and neither's numbers include the other's, they are
different places whatever the score ("Unit 1" is not "Unit 2"; "Plot 12" is "Plot 12, 641603").

At or above `automatic` a location joins the best entry by itself; from `candidate` up to
`automatic` the pair is a candidate the secretariat confirms or rejects; below, the location is a
new entry. Decisions are the register's: a pair once rejected is never proposed again.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from rapidfuzz import fuzz, process
from unidecode import unidecode

# bump when cleaning or scoring changes: every match records it with its score and thresholds
MATCHER_REVISION = "1"
NAME_WEIGHT = 0.6
AUTOMATIC = 0.8  # Open Supply Hub's automatic-match threshold (settings LOCATIONS_MATCH_*)
CANDIDATE = 0.5  # and its lower one: a candidate for the secretariat to confirm
SHORTLIST = 10  # the names most like a location's, of which the best full score is taken

ABBREVIATIONS = {
    "ltd": "limited", "pvt": "private", "co": "company", "corp": "corporation",
    "inc": "incorporated", "mfg": "manufacturing", "intl": "international",
    "ind": "industries", "rd": "road", "st": "street", "ave": "avenue", "blvd": "boulevard",
    "hwy": "highway", "bldg": "building", "fl": "floor", "flr": "floor", "dist": "district",
    "no": "", "nr": "", "num": "",  # "Plot No. 12" is "Plot 12"
}
_WORD = re.compile(r"[a-z0-9]+")
_NUMBER = re.compile(r"\d+")


def clean(text: str | None) -> str:
    words = _WORD.findall(unidecode(text or "").lower())
    return " ".join(w for w in (ABBREVIATIONS.get(w, w) for w in words) if w)


def numbers(*texts: str) -> frozenset[str]:
    return frozenset(n.lstrip("0") or "0" for t in texts for n in _NUMBER.findall(t))


def numbers_conflict(a: frozenset[str], b: frozenset[str]) -> bool:
    """Both carry numbers and neither's include the other's."""
    return bool(a and b and not (a <= b or b <= a))


@dataclass(frozen=True)
class Spelling:
    """One way a location was written: what matching compares."""

    country: str
    name: str  # cleaned
    address: str  # cleaned
    os_id: str | None = None

    @classmethod
    def of(cls, country: str, name: str | None, address: str | None,
           os_id: str | None = None) -> "Spelling":
        return cls((country or "").strip().upper(), clean(name), clean(address),
                   (os_id or "").strip().upper() or None)

    @property
    def key(self) -> str:
        return f"{self.country}|{self.name}|{self.address}"

    @property
    def numbers(self) -> frozenset[str]:
        return numbers(self.name, self.address)


def score(a: Spelling, b: Spelling) -> float:
    """0..1; 0 for different countries or numbers that conflict."""
    if a.country != b.country or numbers_conflict(a.numbers, b.numbers):
        return 0.0
    return (NAME_WEIGHT * fuzz.token_sort_ratio(a.name, b.name)
            + (1 - NAME_WEIGHT) * fuzz.token_set_ratio(a.address, b.address)) / 100


class Method(StrEnum):
    """How a spelling came to belong to its entry."""

    NEW = "new"  # the first of its entry
    EXACT = "exact"  # the same cleaned key as a spelling already known (kept by the alias)
    OS_ID = "os_id"  # the same Open Supply Hub id
    AUTOMATIC = "automatic"  # fuzzy score at or above the automatic threshold
    CONFIRMED = "confirmed"  # a candidate the secretariat confirmed (a merge)
    SPLIT = "split"  # the secretariat split it off the entry it had joined


@dataclass(frozen=True)
class Thresholds:
    automatic: float = AUTOMATIC
    candidate: float = CANDIDATE

    def __post_init__(self) -> None:
        if not 0 < self.candidate <= self.automatic <= 1:
            raise ValueError("thresholds: 0 < candidate <= automatic <= 1")


@dataclass(frozen=True)
class Match:
    """Where a new spelling goes: `entry` (None: a new entry), how, with which score; a new
    entry may come with a `candidate` entry for the secretariat to decide on."""

    entry: str | None
    method: Method
    score: float | None = None
    candidate: str | None = None


@dataclass
class Index:
    """The spellings known so far, by country, with their entries; `rejected` holds the
    (spelling key, entry) pairs the secretariat said are different places."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    rejected: set[tuple[str, str]] = field(default_factory=set)
    _by_key: dict[str, str] = field(default_factory=dict)
    _by_os_id: dict[str, str] = field(default_factory=dict)
    _country: dict[str, tuple[list[str], list[Spelling], list[str]]] = field(
        default_factory=dict)  # country -> (names, spellings, entries), aligned

    def add(self, spelling: Spelling, entry: str) -> None:
        if spelling.key in self._by_key:
            return
        self._by_key[spelling.key] = entry
        if spelling.os_id:
            self._by_os_id.setdefault(spelling.os_id, entry)
        names, spellings, entries = self._country.setdefault(spelling.country, ([], [], []))
        names.append(spelling.name)
        spellings.append(spelling)
        entries.append(entry)

    def add_all(self, known: Iterable[tuple[Spelling, str]]) -> None:
        for spelling, entry in known:
            self.add(spelling, entry)

    def match(self, spelling: Spelling) -> Match:
        if spelling.key in self._by_key:
            return Match(self._by_key[spelling.key], Method.EXACT, 1.0)
        if spelling.os_id and spelling.os_id in self._by_os_id:
            return Match(self._by_os_id[spelling.os_id], Method.OS_ID, 1.0)
        best_entry, best = None, 0.0
        for entry, s in self._scored(spelling):
            if s > best and (spelling.key, entry) not in self.rejected:
                best_entry, best = entry, s
        if best_entry is not None and best >= self.thresholds.automatic:
            return Match(best_entry, Method.AUTOMATIC, round(best, 4))
        if best_entry is not None and best >= self.thresholds.candidate:
            return Match(None, Method.NEW, round(best, 4), candidate=best_entry)
        return Match(None, Method.NEW)

    def _scored(self, spelling: Spelling) -> Iterator[tuple[str, float]]:
        names, spellings, entries = self._country.get(spelling.country, ([], [], []))
        if not names:
            return
        shortlist = process.extract(spelling.name, names, scorer=fuzz.token_sort_ratio,
                                    processor=None, limit=SHORTLIST)
        for _, _, i in shortlist:
            yield entries[i], score(spelling, spellings[i])
