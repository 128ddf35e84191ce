"""Reading reference data from `<rules dir>/reference/`; every row must carry its
provenance (source, edition, licence). See that folder's README. Main languages come from
Unicode CLDR's territory-language data, as Babel ships it, selected by `thresholds.yaml`
(`main_languages`)."""

import csv
from pathlib import Path
from typing import Any

from babel.core import get_global

from services.rules.core.compiler import LIST_SLOTS
from services.rules.core.facts import Fact
from services.rules.core.reference import ReferenceData, ReferenceDataError
from services.shared.yamlfile import load_yaml

PROVENANCE = ("edition", "source", "licence", "is_fixture")

def load_reference(folder: Path) -> ReferenceData:
    if not folder.is_dir():
        return ReferenceData.empty()
    thresholds = load_yaml((folder / "thresholds.yaml").read_bytes())
    dol = [_dol(r) for r in _rows(folder / "dol_goods.csv")]
    countries = _countries(_rows(folder / "country_indicators.csv"), dol, thresholds)
    chains = tuple((r["nace_prefix"], r["value_chain"])
                   for r in _rows(folder / "nace_value_chains.csv"))
    sectors = tuple(r["nace_prefix"] for r in _rows(folder / "high_risk_sectors.csv"))
    return ReferenceData({c["country"]: c for c in countries}, tuple(dol), chains,
                         sectors)


def main_languages(selection: dict[str, Any]) -> dict[str, list[str]]:
    """Country -> its main languages by CLDR: those with an official status in `statuses`, or
    spoken by at least `min_population_pct` percent; script variants count as the language."""
    statuses = set(selection["statuses"])
    found: dict[str, list[str]] = {}
    for country, languages in get_global("territory_languages").items():
        main = {code.split("_")[0] for code, info in languages.items()
                if info.get("official_status") in statuses
                or info.get("population_percent", 0) >= selection["min_population_pct"]}
        if len(main) > LIST_SLOTS:
            raise ReferenceDataError(f"{country} has more than {LIST_SLOTS} main languages")
        found[country] = sorted(main)
    return found


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for n, row in enumerate(rows, start=2):
        missing = [k for k in PROVENANCE if not (row.get(k) or "").strip()]
        if missing:
            raise ReferenceDataError(f"{path}:{n}: no {', '.join(missing)} (provenance is "
                                     "required on every value)")
    return rows


def _dol(row: dict[str, str]) -> Fact:
    return {"kind": "dol_good", "country": row["country"], "good": row["good"],
            "child_labour": row["child_labour"] == "true",
            "forced_labour": row["forced_labour"] == "true",
            "edition": row["edition"], "pointer": ""}


def _countries(rows: list[dict[str, str]], dol: list[Fact],
               thresholds: dict[str, Any]) -> list[Fact]:
    by_country: dict[str, dict[str, Any]] = {}
    for r in rows:
        by_country.setdefault(r["country"], {})[r["indicator"]] = _typed(r["value"])
    goods = set(thresholds["textile_goods"])
    listed = {(d["country"], kind) for d in dol if d["good"] in goods
              for kind in ("child_labour", "forced_labour") if d[kind]}
    general = thresholds["general"]
    min_ituc = thresholds["freedom_of_association"]["ituc_min_rating"]
    languages = main_languages(thresholds["main_languages"])
    facts = []
    for country in sorted(set(by_country) | set(languages)):
        ind = by_country.get(country, {})
        flags = {
            "hr_freedom_of_association": ind.get("ituc_rating", 0) >= min_ituc,
            "hr_child_labour": (country, "child_labour") in listed,
            "hr_forced_labour": (country, "forced_labour") in listed
                or ind.get("tip_tier") in thresholds["forced_labour"]["tip_tiers"],
            "hr_general": ind.get("wgi_rule_of_law_pct", 100)
                < general["wgi_rule_of_law_percentile_below"]
                or (general["conflict_affected"] and ind.get("conflict_affected") is True),
        }
        facts.append({"kind": "country", "country": country, **ind, **flags,
                      "hr_any": any(flags.values()), "languages": languages.get(country, []),
                      "pointer": ""})
    return facts


def _typed(value: str) -> Any:
    if value in ("true", "false"):
        return value == "true"
    try:
        return int(value)
    except ValueError:
        return value
