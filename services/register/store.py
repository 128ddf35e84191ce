"""The register of production locations, in the shared database (tables: migration 0005).

It is built from every accepted plan the rules service recorded (`rules_assessments`): `refresh`
takes the plans it has not seen yet, oldest first, and places each location a plan lists (the
covenant's `locations.part`) on an entry: the entry of a spelling already known (exact, kept
across years), of the same `os_id`, of a fuzzy match at or above the automatic threshold, or a
new one, with a candidate pair for the secretariat when the best score lies between the two
thresholds. The secretariat confirms a candidate (the two entries merge), rejects it (the pair
is never proposed again) or splits a spelling off an entry it joined wrongly (it becomes its own
entry and is never matched to the old one again). Every spelling keeps how it was placed: the
method, score, thresholds and the matcher's version.

Which companies use an entry in a year comes from each company's latest accepted plan of that
year. A refresh holds a table lock, so two at once cannot place the same plan twice.
"""

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from services.shared.covenants import Covenant, Covenants
from services.shared.db import Database
from services.shared.logging import get_logger

from .matching import MATCHER_REVISION, Index, Match, Method, Spelling, Thresholds

log = get_logger()


def matcher_version() -> str:
    try:
        release = version("covenant-compliance")
    except PackageNotFoundError:  # run from a source tree that is not installed
        release = "source"
    return f"{release}/matcher-{MATCHER_REVISION}"


class RegisterError(ValueError):
    """A decision that cannot be taken (an unknown candidate or spelling); says which."""


@dataclass(frozen=True)
class Sighting:
    """One location as one company's plan listed it: the list's fields as given."""

    submission_id: str
    company_id: str
    reporting_year: int
    location_id: str
    fields: dict[str, Any]

    @property
    def active(self) -> bool:
        return self.fields.get("active") is not False


@dataclass(frozen=True)
class Entry:
    """One place as the register knows it in a year: its published fields (the spelling most
    companies gave), and every company's listing of it."""

    entry_id: str
    fields: dict[str, Any]
    sightings: tuple[Sighting, ...]

    @property
    def companies(self) -> tuple[str, ...]:
        return tuple(sorted({s.company_id for s in self.sightings}))

    @property
    def country(self) -> str:
        return str(self.fields.get("country") or "")


@dataclass(frozen=True)
class Candidate:
    """A spelling that may be an entry's: how companies wrote each side, and the score."""

    key: str
    entry_id: str
    score: float
    own_entry: str  # the entry the spelling has until the secretariat decides
    spelling: dict[str, Any]  # one listing with this spelling
    entry: dict[str, Any]  # the entry's published fields
    companies: tuple[str, ...]  # who listed the spelling


@dataclass
class Refreshed:
    plans: int = 0
    locations: int = 0
    methods: Counter[str] = field(default_factory=Counter)
    candidates: int = 0


def ref_of(key: str) -> str:
    """A spelling's short reference, for the secretariat to name it (its key is long)."""
    return hashlib.sha256(key.encode()).hexdigest()[:8]


def _now() -> str:
    return datetime.now(UTC).isoformat()


def locations_of(plan: dict[str, Any], covenant: Covenant) -> Iterator[dict[str, Any]]:
    """The items of the covenant's location part in a plan (as the rules service recorded
    it), with the list's fields under their own names."""
    spec = covenant.spec.locations
    if spec is None:
        return
    part = covenant.spec.parts[spec.part]
    nodes: list[Any] = [plan.get(covenant.extension) or {}]
    for step in [s for s in part.path.split("/") if s]:
        if step == "*":
            nodes = [item for node in nodes if isinstance(node, list) for item in node]
        else:
            nodes = [node.get(step) for node in nodes if isinstance(node, dict)]
    identifier = part.id or "location_id"
    for node in nodes:
        if isinstance(node, dict):
            yield {"location_id": str(node.get(identifier, "")),
                   **{name: node.get(spec.field(name)) for name in
                      ("name", "address", "city", "region", "country", "os_id",
                       "product_types", "workers", "active")}}


def spelling_of(location: dict[str, Any]) -> Spelling:
    return Spelling.of(location.get("country") or "", location.get("name"),
                       location.get("address"), location.get("os_id"))


class SqlRegister:
    def __init__(self, db: Database, covenants: Covenants,
                 thresholds: Thresholds | None = None):
        self._db = db
        self._covenants = covenants
        self.thresholds = thresholds or Thresholds()
        self.matcher = matcher_version()
        db.ensure_schema()

    @property
    def database(self) -> Database:
        return self._db

    def _sql(self, statement: str) -> str:
        return self._db.sql(statement)

    def listing(self) -> tuple[Covenant, ...]:
        """The covenants that keep a list of locations."""
        return tuple(c for c in self._covenants if c.spec.locations)

    # --- building it ------------------------------------------------------------------------

    def refresh(self) -> Refreshed:
        """Places the locations of every accepted plan not placed yet, oldest first."""
        done = Refreshed()
        names = [c.name for c in self.listing()]
        if not names:
            return done
        with self._db.transaction() as cur:
            if self._db.dialect == "postgresql":
                cur.execute("LOCK TABLE register_processed IN SHARE ROW EXCLUSIVE MODE")
            marks = ", ".join("?" * len(names))
            cur.execute(self._sql(
                "SELECT a.submission_id, a.covenant, a.company_id, a.reporting_year, "
                "a.submitted_at, a.plan_json FROM rules_assessments a LEFT JOIN "
                "register_processed p ON p.submission_id = a.submission_id WHERE "
                f"p.submission_id IS NULL AND a.covenant IN ({marks}) "
                "ORDER BY a.reporting_year, a.submitted_at, a.submission_id"), names)
            waiting = cur.fetchall()
            indexes: dict[str, Index] = {}
            for sid, covenant, company, year, submitted_at, plan_json in waiting:
                if covenant not in indexes:
                    indexes[covenant] = self._index(cur, covenant)
                self._place(cur, indexes[covenant], self._covenants[covenant], sid, company,
                            json.loads(plan_json), done)
                cur.execute(self._sql(
                    "INSERT INTO register_processed (submission_id, covenant, company_id, "
                    "reporting_year, submitted_at, processed_at) VALUES (?, ?, ?, ?, ?, ?)"),
                    (sid, covenant, company, int(year), submitted_at, _now()))
                done.plans += 1
        if done.plans:
            log.info("register_refreshed", plans=done.plans, locations=done.locations,
                     methods=dict(done.methods), candidates=done.candidates)
        return done

    def _index(self, cur: Any, covenant: str) -> Index:
        index = Index(self.thresholds)
        cur.execute(self._sql(  # a rejected entry may have merged into another since
            "SELECT r.key, COALESCE(e.merged_into, r.entry_id) FROM register_rejections r "
            "LEFT JOIN register_entries e ON e.covenant = r.covenant AND e.entry_id = "
            "r.entry_id WHERE r.covenant = ?"), (covenant,))
        index.rejected = {(k, e) for k, e in cur.fetchall()}
        cur.execute(self._sql(
            "SELECT country, name, address, os_id, entry_id FROM register_spellings "
            "WHERE covenant = ? ORDER BY decided_at, key"), (covenant,))
        index.add_all((Spelling(c, n, a, o), e) for c, n, a, o, e in cur.fetchall())
        return index

    def _place(self, cur: Any, index: Index, covenant: Covenant, sid: str, company: str,
               plan: dict[str, Any], done: Refreshed) -> None:
        for location in locations_of(plan, covenant):
            spelling = spelling_of(location)
            match = index.match(spelling)
            if match.method is not Method.EXACT:
                entry = match.entry or self._new_entry(cur, covenant.name, spelling.country)
                self._spell(cur, covenant.name, spelling, entry, match, None)
                index.add(spelling, entry)
                if match.candidate:
                    cur.execute(self._sql(
                        "INSERT INTO register_candidates (covenant, key, entry_id, score, "
                        "proposed_at) VALUES (?, ?, ?, ?, ?)"),
                        (covenant.name, spelling.key, match.candidate, match.score, _now()))
                    done.candidates += 1
            location_id = location.pop("location_id")
            cur.execute(self._sql(
                "INSERT INTO register_sightings (submission_id, location_id, covenant, "
                "company_id, key, location_json) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT "
                "(submission_id, location_id) DO NOTHING"),
                (sid, location_id, covenant.name, company, spelling.key,
                 json.dumps(location, ensure_ascii=False)))
            done.locations += 1
            done.methods[match.method.value] += 1

    def _new_entry(self, cur: Any, covenant: str, country: str) -> str:
        cur.execute(self._sql(
            "SELECT COUNT(*) FROM register_entries WHERE covenant = ? AND country = ?"),
            (covenant, country))
        entry = f"{country or 'XX'}-{int(cur.fetchone()[0]) + 1:05d}"
        cur.execute(self._sql(
            "INSERT INTO register_entries (covenant, entry_id, country, created_at) "
            "VALUES (?, ?, ?, ?)"), (covenant, entry, country, _now()))
        return entry

    def _spell(self, cur: Any, covenant: str, spelling: Spelling, entry: str, match: Match,
               user: str | None) -> None:
        cur.execute(self._sql(
            "INSERT INTO register_spellings (covenant, key, entry_id, country, name, address, "
            "os_id, method, score, automatic, candidate, matcher, decided_by, decided_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            (covenant, spelling.key, entry, spelling.country, spelling.name, spelling.address,
             spelling.os_id, match.method.value, match.score, self.thresholds.automatic,
             self.thresholds.candidate, self.matcher, user, _now()))

    # --- the secretariat's decisions ------------------------------------------------------------

    def candidates(self, covenant: str) -> list[Candidate]:
        """The pairs waiting for a decision, best score first."""
        with self._db.transaction() as cur:
            cur.execute(self._sql(
                "SELECT c.key, c.entry_id, c.score, s.entry_id FROM register_candidates c "
                "JOIN register_spellings s ON s.covenant = c.covenant AND s.key = c.key "
                "WHERE c.covenant = ? ORDER BY c.score DESC, c.key"), (covenant,))
            pending = cur.fetchall()
            found = []
            for key, entry, score, own in pending:
                entry = self._current(cur, covenant, entry)
                listings = self._listings(cur, covenant, "s.key = ?", (key,))
                others = self._listings(cur, covenant, "sp.entry_id = ? AND s.key <> ?",
                                        (entry, key))
                found.append(Candidate(key, entry, float(score), own,
                                       listings[0].fields if listings else {},
                                       _published(others) if others else {},
                                       tuple(sorted({s.company_id for s in listings}))))
        return found

    def confirm(self, covenant: str, key: str, user: str) -> str:
        """The spelling is the candidate entry's place: its entry merges into that one (with
        every spelling it has). Returns the entry it now belongs to."""
        with self._db.transaction() as cur:
            entry, own = self._candidate(cur, covenant, key)
            cur.execute(self._sql(
                "UPDATE register_spellings SET entry_id = ?, method = CASE WHEN key = ? THEN ? "
                "ELSE method END, decided_by = CASE WHEN key = ? THEN ? ELSE decided_by END, "
                "decided_at = CASE WHEN key = ? THEN ? ELSE decided_at END WHERE covenant = ? "
                "AND entry_id = ?"),
                (entry, key, Method.CONFIRMED.value, key, user, key, _now(), covenant, own))
            cur.execute(self._sql(
                "UPDATE register_entries SET merged_into = ? WHERE covenant = ? AND "
                "entry_id = ?"), (entry, covenant, own))
            cur.execute(self._sql(
                "UPDATE register_entries SET merged_into = ? WHERE covenant = ? AND "
                "merged_into = ?"), (entry, covenant, own))
            self._decided(cur, covenant, key)
        log.info("register_candidate_confirmed", covenant=covenant, entry=entry, merged=own)
        return entry

    def reject(self, covenant: str, key: str, user: str) -> None:
        """Different places: the spelling keeps its own entry, and the pair is never proposed
        again."""
        with self._db.transaction() as cur:
            entry, _ = self._candidate(cur, covenant, key)
            self._never(cur, covenant, key, entry, user)
            self._decided(cur, covenant, key)
        log.info("register_candidate_rejected", covenant=covenant, entry=entry)

    def split(self, covenant: str, key: str, user: str) -> str:
        """Takes a spelling off the entry it joined (a wrong merge): it becomes an entry of
        its own, never matched to that one again. Returns the new entry."""
        with self._db.transaction() as cur:
            cur.execute(self._sql(
                "SELECT entry_id, country FROM register_spellings WHERE covenant = ? AND "
                "key = ?"), (covenant, key))
            row = cur.fetchone()
            if row is None:
                raise RegisterError("no such spelling in the register")
            old, country = row
            cur.execute(self._sql(
                "SELECT COUNT(*) FROM register_spellings WHERE covenant = ? AND entry_id = ?"),
                (covenant, old))
            if int(cur.fetchone()[0]) < 2:
                raise RegisterError(f"{old} has no other spelling to split this one from")
            entry = self._new_entry(cur, covenant, country)
            cur.execute(self._sql(
                "UPDATE register_spellings SET entry_id = ?, method = ?, decided_by = ?, "
                "decided_at = ? WHERE covenant = ? AND key = ?"),
                (entry, Method.SPLIT.value, user, _now(), covenant, key))
            self._never(cur, covenant, key, old, user)
            self._decided(cur, covenant, key)
        log.info("register_spelling_split", covenant=covenant, entry=entry, split_from=old)
        return entry

    def _candidate(self, cur: Any, covenant: str, key: str) -> tuple[str, str]:
        cur.execute(self._sql(
            "SELECT c.entry_id, s.entry_id FROM register_candidates c JOIN register_spellings "
            "s ON s.covenant = c.covenant AND s.key = c.key WHERE c.covenant = ? AND "
            "c.key = ?"), (covenant, key))
        row = cur.fetchone()
        if row is None:
            raise RegisterError("no such candidate waiting (decided already, or never "
                                "proposed)")
        return self._current(cur, covenant, row[0]), row[1]

    def _current(self, cur: Any, covenant: str, entry: str) -> str:
        """The entry an entry was merged into, if it was."""
        cur.execute(self._sql(
            "SELECT merged_into FROM register_entries WHERE covenant = ? AND entry_id = ?"),
            (covenant, entry))
        row = cur.fetchone()
        return row[0] if row and row[0] else entry

    def _never(self, cur: Any, covenant: str, key: str, entry: str, user: str) -> None:
        cur.execute(self._sql(
            "INSERT INTO register_rejections (covenant, key, entry_id, decided_by, decided_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (covenant, key, entry_id) DO NOTHING"),
            (covenant, key, entry, user, _now()))

    def _decided(self, cur: Any, covenant: str, key: str) -> None:
        cur.execute(self._sql("DELETE FROM register_candidates WHERE covenant = ? AND key = ?"),
                    (covenant, key))

    # --- reading it ---------------------------------------------------------------------------

    def entries(self, covenant: str, year: int, active_only: bool = True) -> list[Entry]:
        """Every place listed in a company's latest accepted plan of the year (`active_only`:
        by a company that still uses it), with the companies that list it."""
        with self._db.transaction() as cur:
            listings = self._listings(cur, covenant, "p.reporting_year = ? AND "
                                      + _LATEST, (year,), with_entry=True)
        by_entry: dict[str, list[Sighting]] = {}
        for entry, sighting in listings:
            if sighting.active or not active_only:
                by_entry.setdefault(entry, []).append(sighting)
        return sorted((Entry(e, _published(s), tuple(s)) for e, s in by_entry.items()),
                      key=lambda e: (e.country, str(e.fields.get("name") or "").lower(),
                                     e.entry_id))

    def users_of(self, covenant: str, entry: str) -> list[Sighting]:
        """Each company whose latest accepted plan (of any year) lists the place, active, with
        that listing."""
        with self._db.transaction() as cur:
            entry = self._current(cur, covenant, entry)
            listings = self._listings(cur, covenant, "sp.entry_id = ? AND " + _LATEST_EVER,
                                      (entry,))
        return sorted((s for s in listings if s.active), key=lambda s: s.company_id)

    def spellings(self, covenant: str, entry: str) -> list[dict[str, Any]]:
        """How the entry's place was written and placed, oldest first."""
        with self._db.transaction() as cur:
            cur.execute(self._sql(
                "SELECT key, method, score, automatic, candidate, matcher, decided_by, "
                "decided_at FROM register_spellings WHERE covenant = ? AND entry_id = ? "
                "ORDER BY decided_at, key"), (covenant, self._current(cur, covenant, entry)))
            columns = [d[0] for d in cur.description]
            return [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]

    def years(self, covenant: str) -> list[int]:
        with self._db.transaction() as cur:
            cur.execute(self._sql(
                "SELECT DISTINCT reporting_year FROM register_processed WHERE covenant = ? "
                "ORDER BY reporting_year"), (covenant,))
            return [int(r[0]) for r in cur.fetchall()]

    def _listings(self, cur: Any, covenant: str, where: str, values: tuple[Any, ...],
                  with_entry: bool = False) -> Any:
        cur.execute(self._sql(
            "SELECT sp.entry_id, s.submission_id, s.company_id, p.reporting_year, "
            "s.location_id, s.location_json FROM register_sightings s JOIN register_spellings "
            "sp ON sp.covenant = s.covenant AND sp.key = s.key JOIN register_processed p ON "
            f"p.submission_id = s.submission_id WHERE s.covenant = ? AND {where} "
            "ORDER BY s.company_id, s.location_id"), (covenant, *values))
        found = [(row[0], Sighting(row[1], row[2], int(row[3]), row[4], json.loads(row[5])))
                 for row in cur.fetchall()]
        return found if with_entry else [s for _, s in found]


# a listing counts when its plan is the company's latest accepted one of its year (or ever)
_LATEST = ("p.submitted_at = (SELECT MAX(q.submitted_at) FROM register_processed q WHERE "
           "q.company_id = p.company_id AND q.covenant = p.covenant AND "
           "q.reporting_year = p.reporting_year)")
_LATEST_EVER = ("p.submission_id = (SELECT q.submission_id FROM register_processed q WHERE "
                "q.company_id = p.company_id AND q.covenant = p.covenant ORDER BY "
                "q.reporting_year DESC, q.submitted_at DESC, q.submission_id DESC LIMIT 1)")

PUBLISHED = ("name", "address", "city", "region", "country")


def _published(sightings: Iterable[Sighting]) -> dict[str, Any]:
    """The published fields as most listings give them (ties: the first in order), with every
    product type listed and the workers as given (a range when companies differ)."""
    listings = list(sightings)
    spelled = Counter(tuple(s.fields.get(f) or "" for f in PUBLISHED) for s in listings)
    best = max(spelled.items(), key=lambda item: item[1])[0]
    products = sorted({p for s in listings for p in (s.fields.get("product_types") or [])})
    workers = sorted({int(s.fields["workers"]) for s in listings
                      if isinstance(s.fields.get("workers"), int | float)})
    return {**dict(zip(PUBLISHED, best, strict=True)), "country": best[4].upper(),
            "product_types": products,
            "workers": (None if not workers else str(workers[0]) if len(workers) == 1
                        else f"{workers[0]}-{workers[-1]}")}
