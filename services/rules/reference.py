"""Reference data the rules join with: country risk flags and main languages, the US DoL list
of goods, the covenant calendar, NACE codes to value chains and high-risk sectors. Read from
`<rules dir>/reference/`; every row must carry its provenance (source, edition, licence). See
that folder's README. Main languages come from Unicode CLDR's territory-language data, as
Babel ships it, selected by `thresholds.yaml` (`main_languages`)."""

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from babel.core import get_global

from services.shared.contracts import PlanSubmission
from services.shared.contracts.vocab import THEMES_BY_COVENANT

from .compiler import LIST_SLOTS
from .facts import Fact, stamp

PROVENANCE = ("edition", "source", "licence", "is_fixture")
FILES = ("country_indicators.csv", "dol_goods.csv", "covenant_calendar.csv",
         "nace_value_chains.csv", "high_risk_sectors.csv", "thresholds.yaml")
# fields that hold country codes: the country facts of an evaluation are those its facts name
COUNTRY_FIELDS = frozenset({"country", "countries", "origin_countries"})


class ReferenceDataError(ValueError):
    pass


@dataclass(frozen=True)
class ReferenceData:
    countries: dict[str, Fact]  # ISO code -> its indicators, risk flags and main languages
    dol_goods: tuple[Fact, ...]
    calendar: dict[tuple[str, int], Fact]
    nace_chains: tuple[tuple[str, str], ...]  # (NACE prefix, value chain)
    high_risk_sectors: tuple[str, ...] = ()  # NACE prefixes

    @classmethod
    def empty(cls) -> "ReferenceData":
        return cls({}, (), {}, ())

    def facts_for(self, plan: PlanSubmission, plan_facts: list[Fact]) -> list[Fact]:
        """The reference facts one plan needs: of the countries its facts name, and more."""
        as_of = plan.submission.submitted_at.date()
        named = countries_named(plan_facts)
        found = [dict(self.countries[c]) for c in sorted(named) if c in self.countries]
        found += [dict(f) for f in self.dol_goods if f["country"] in named]
        entry = self.calendar.get((plan.covenant.value, plan.submission.reporting_year))
        if entry:
            days_late = (as_of - date.fromisoformat(entry["due_on"])).days - entry["grace_days"]
            found.append({**entry, "days_late": days_late})
        found += self._chains(plan)
        found += [{"kind": "covenant_theme", "theme": t, "pointer": "/textile/themes"}
                  for t in sorted(THEMES_BY_COVENANT[plan.covenant]) if plan.textile]
        found += self._chain_exposures(plan)
        return [stamp(f, as_of, plan.covenant.value) for f in found]

    def annotate(self, facts: list[Fact]) -> None:
        """Marks financings as high-risk (reference.md 5.1, high_risk_financing): a NACE code
        in a high-risk sector, a country flagged for any theme, a named value chain, or
        project finance in Equator category A or B."""
        sector: dict[str, bool] = {}  # NACE code -> in a high-risk sector
        for f in facts:
            if f["kind"] != "financing":
                continue
            nace = f.get("nace", "")
            if nace not in sector:
                sector[nace] = any(nace.startswith(p) for p in self.high_risk_sectors)
            f["high_risk"] = (
                sector[nace]
                or any(self.countries.get(c, {}).get("hr_any") for c in f.get("countries", []))
                or bool(f.get("value_chains"))
                or (f.get("type") == "project_finance" and f.get("ep_category") in ("A", "B")))

    def _chain_exposures(self, plan: PlanSubmission) -> list[Fact]:
        """The bank's exposure per value chain named on its financings (one fact per chain)."""
        if not plan.banking:
            return []
        exposure: dict[str, float] = {}
        for f in plan.banking.financings:
            for chain in f.value_chains:
                exposure[chain.value] = exposure.get(chain.value, 0.0) + f.amount_eur
        return [{"kind": "chain_exposure", "value_chain": chain, "exposure_eur": amount,
                 "pointer": "/banking/financings"} for chain, amount in sorted(exposure.items())]

    def _chains(self, plan: PlanSubmission) -> list[Fact]:
        """A `nace_chain` fact per financing whose NACE code falls in a mapped value chain."""
        if not plan.banking:
            return []
        return [
            {"kind": "nace_chain", "financing_id": f.financing_id, "nace": f.nace,
             "client_ref": f.client_ref, "value_chain": chain,
             "pointer": f"/banking/financings/{i}"}
            for i, f in enumerate(plan.banking.financings)
            for prefix, chain in self.nace_chains if f.nace.startswith(prefix)
        ]


def load_reference(folder: Path) -> ReferenceData:
    if not folder.is_dir():
        return ReferenceData.empty()
    thresholds = yaml.safe_load((folder / "thresholds.yaml").read_text(encoding="utf-8"))
    dol = [_dol(r) for r in _rows(folder / "dol_goods.csv")]
    countries = _countries(_rows(folder / "country_indicators.csv"), dol, thresholds)
    calendar = {
        (r["covenant"], int(r["reporting_year"])): {
            "kind": "calendar", "covenant": r["covenant"], "reporting_year":
            int(r["reporting_year"]), "due_on": r["due_on"], "grace_days": int(r["grace_days"]),
            "pointer": "/submission/submitted_at"}
        for r in _rows(folder / "covenant_calendar.csv")
    }
    chains = tuple((r["nace_prefix"], r["value_chain"])
                   for r in _rows(folder / "nace_value_chains.csv"))
    sectors = tuple(r["nace_prefix"] for r in _rows(folder / "high_risk_sectors.csv"))
    return ReferenceData({c["country"]: c for c in countries}, tuple(dol), calendar, chains,
                         sectors)


def countries_named(facts: list[Fact]) -> set[str]:
    """The country codes in the facts' country fields."""
    found: set[str] = set()
    for fact in facts:
        for key in COUNTRY_FIELDS & fact.keys():
            value = fact[key]
            found.update(value if isinstance(value, list) else [value])
    return found


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
