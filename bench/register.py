"""The register of production locations (services/register): matching quality on the committed
labelled pairs (bench/data/location-pairs.csv), and the time to place a new yearly upload in a
register that already holds a covenant's locations.

Quality: for each pair the register's score (1 for the same cleaned key); a pair is merged
without asking at or above the automatic threshold, and reaches the secretariat at or above the
candidate threshold. Precision and recall of the automatic merges, recall of what reaches at
least the secretariat, and the pairs the secretariat is asked about.

Scale: 10,000 locations from 150 companies (one year), then a new upload of 6,000 locations
(the next year: mostly the same factories, some written otherwise, a tenth new) placed by
`SqlRegister.refresh` on SQLite; the goal is under a minute. Beside it, the same matching in
memory (`Index`, no database): the baseline of the ratio.

    python -m bench.register [--locations 10000 --companies 150 --upload 6000]
"""

import argparse
import csv
import json
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from bench.locations import PAIRS_FILE, company_lists, factories
from services.register.matching import Index, Spelling, Thresholds, score
from services.register.store import SqlRegister
from services.shared import covenants
from services.shared.db import Database
from services.shared.logging import configure_logging

GOAL_S = 60.0


def quality(thresholds: Thresholds) -> None:
    with PAIRS_FILE.open(encoding="utf-8") as f:
        pairs = list(csv.DictReader(f))
    outcome: Counter[tuple[str, str]] = Counter()
    wrong_merges: Counter[str] = Counter()
    for p in pairs:
        a = Spelling.of(p["country_a"], p["name_a"], p["address_a"])
        b = Spelling.of(p["country_b"], p["name_b"], p["address_b"])
        s = 1.0 if a.key == b.key else score(a, b)
        decided = "merged" if s >= thresholds.automatic else \
            "asked" if s >= thresholds.candidate else "apart"
        outcome[(p["same"], decided)] += 1
        if p["same"] == "0" and decided == "merged":
            wrong_merges[p["kind"]] += 1
    same = sum(n for (label, _), n in outcome.items() if label == "1")
    merged = outcome[("1", "merged")] + outcome[("0", "merged")]
    precision = outcome[("1", "merged")] / merged if merged else 1.0
    recall = outcome[("1", "merged")] / same if same else 1.0
    reached = (outcome[("1", "merged")] + outcome[("1", "asked")]) / same if same else 1.0
    asked = outcome[("1", "asked")] + outcome[("0", "asked")]
    print(f"matching quality on {len(pairs)} labelled pairs ({same} one place, "
          f"{len(pairs) - same} two), thresholds {thresholds.automatic}/"
          f"{thresholds.candidate}:")
    print(f"  automatic merges: precision {precision:.3f}, recall {recall:.3f}")
    print(f"  one place found automatically or asked about: recall {reached:.3f}")
    print(f"  pairs asked about: {asked} ({asked / len(pairs):.1%}); wrong automatic merges by "
          f"kind: {dict(wrong_merges) or 'none'}")


def _record(db: Database, lists: list[list[dict[str, Any]]], year: int) -> None:
    """Accepted plans as the rules service records them (only what the register reads)."""
    with db.transaction() as cur:
        for n, listed in enumerate(lists):
            company = f"AGT-{n:04d}"
            plan = {"company": {"company_id": company, "legal_name": company},
                    "submission": {"language": "nl"},
                    "textile": {"production_locations": [
                        {"location_id": f"L-{i}", **loc, "active": True}
                        for i, loc in enumerate(listed)]}}
            cur.execute(db.sql(
                "INSERT INTO rules_assessments (submission_id, company_id, covenant, "
                "reporting_year, submitted_at, ruleset_version, plan_json, findings_json, "
                "recorded_at) VALUES (?, ?, 'textile', ?, ?, 'bench', ?, '[]', ?)"),
                (str(uuid.uuid4()), company, year, f"{year}-03-28T10:{n // 60 % 60:02d}:"
                 f"{n % 60:02d}+00:00", json.dumps(plan), f"{year}-03-28"))


def scale(locations: int, companies: int, upload: int, thresholds: Thresholds) -> None:
    # two thirds as many factories as listings (brands share them), and next year's upload
    # lists them again (some written otherwise) with a tenth of factories new to the register
    pool = factories(locations * 2 // 3 + upload // 10)
    held = company_lists(companies, locations, pool[:locations * 2 // 3], seed=1)
    new = company_lists(companies, upload, pool[upload // 10:], seed=2)
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite:///{Path(folder) / 'register.sqlite3'}")
        register = SqlRegister(db, covenants.current(), thresholds)
        _record(db, held, 2019)
        started = time.perf_counter()
        register.refresh()
        first = time.perf_counter() - started
        _record(db, new, 2020)
        started = time.perf_counter()
        done = register.refresh()
        placed = time.perf_counter() - started
        entries = len(register.entries("textile", 2020))
        db.close()

    index = Index(thresholds)
    entry = 0
    started = time.perf_counter()
    for listed in held + new:
        for loc in listed:
            spelling = Spelling.of(loc["country"], loc["name"], loc["address"])
            match = index.match(spelling)
            if match.entry is None:
                entry += 1
            index.add(spelling, match.entry or str(entry))
    bare = time.perf_counter() - started
    print(f"register of {locations:,} locations from {companies} companies: built in "
          f"{first:.1f} s")
    print(f"  a new upload of {upload:,} locations placed in {placed:.1f} s (goal: under "
          f"{GOAL_S:.0f} s: {'met' if placed < GOAL_S else 'NOT MET'}); "
          f"{dict(done.methods)}, {done.candidates} candidates, {entries:,} places that year")
    print(f"  the same matching in memory, all {locations + upload:,} locations: {bare:.1f} s "
          f"(register / in memory: {(first + placed) / bare:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--locations", type=int, default=10_000)
    parser.add_argument("--companies", type=int, default=150)
    parser.add_argument("--upload", type=int, default=6_000)
    args = parser.parse_args()
    configure_logging("WARNING")
    thresholds = Thresholds()
    quality(thresholds)
    scale(args.locations, args.companies, args.upload, thresholds)


if __name__ == "__main__":
    main()
