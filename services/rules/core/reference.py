"""Reference data the rules join with: country risk flags and main languages, the US DoL list
of goods, NACE codes to value chains and high-risk sectors; and the reference facts one plan
needs, with its covenant's calendar and themes (from the covenant's definition). Read by
`adapters/reference_files.py`."""

import itertools
from collections.abc import Iterable, Iterator, Set
from dataclasses import dataclass
from typing import Any

from services.rules.core.facts import Fact, stamp
from services.shared.contracts import PlanSubmission
from services.shared.covenants import Covenant

# fields that hold country codes: the country facts of an evaluation are those its facts name
COUNTRY_FIELDS = frozenset({"country", "countries", "origin_countries"})


class ReferenceDataError(ValueError):
    pass


@dataclass(frozen=True)
class ReferenceData:
    countries: dict[str, Fact]  # ISO code -> its indicators, risk flags and main languages
    dol_goods: tuple[Fact, ...]
    nace_chains: tuple[tuple[str, str], ...]  # (NACE prefix, value chain)
    high_risk_sectors: tuple[str, ...] = ()  # NACE prefixes

    @classmethod
    def empty(cls) -> "ReferenceData":
        return cls({}, (), ())

    def facts_for(self, plan: PlanSubmission, named: Set[str],
                  covenant: Covenant) -> Iterator[Fact]:
        """The reference facts one plan needs: of the countries its facts name (`named`, see
        `countries_named`, read now), its covenant's deadline and themes, and more; the NACE
        chains made as they are read (a bank has one for each financing in a mapped sector)."""
        as_of = plan.submission.submitted_at.date()
        found = [dict(self.countries[c]) for c in sorted(named) if c in self.countries]
        found += [dict(f) for f in self.dol_goods if f["country"] in named]
        entry = covenant.calendar.get(plan.submission.reporting_year)
        if entry:
            found.append({"kind": "calendar", "covenant": covenant.name,
                          "reporting_year": entry.reporting_year,
                          "due_on": entry.due_on.isoformat(), "grace_days": entry.grace_days,
                          "days_late": (as_of - entry.due_on).days - entry.grace_days,
                          "pointer": "/submission/submitted_at"})
        themes = _themes_pointer(plan, covenant)
        found += [{"kind": "covenant_theme", "theme": t, "pointer": themes}
                  for t in sorted(covenant.themes)]
        found += self._chain_exposures(plan)
        found += [{**row, "kind": kind, "pointer": ""}  # the covenant's own lists, whole
                  for kind, rows in covenant.reference.items() for row in rows]
        return (stamp(fact, as_of, plan.covenant)
                for fact in itertools.chain(self._chains(plan), found))

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
        """The exposure per value chain named on the plan's financings (one fact per chain)."""
        exposure: dict[str, float] = {}
        pointer = ""
        for section, _, f in _financings(plan):
            pointer = f"/{section}/financings"
            for chain in f.get("value_chains", ()):
                exposure[chain] = exposure.get(chain, 0.0) + f["amount_eur"]
        return [{"kind": "chain_exposure", "value_chain": chain, "exposure_eur": amount,
                 "pointer": pointer} for chain, amount in sorted(exposure.items())]

    def _chains(self, plan: PlanSubmission) -> Iterator[Fact]:
        """A `nace_chain` fact per financing whose NACE code falls in a mapped value chain."""
        return (
            {"kind": "nace_chain", "financing_id": f["financing_id"], "nace": f["nace"],
             "client_ref": f["client_ref"], "value_chain": chain,
             "pointer": f"/{section}/financings/{i}"}
            for section, i, f in _financings(plan)
            for prefix, chain in self.nace_chains if f["nace"].startswith(prefix)
        )


def _financings(plan: PlanSubmission) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """(section, index, financing) of the financings a plan's section lists (the NACE tables
    of the reference data map financings; a plan without them has none)."""
    return ((name, i, f) for name, section in plan.sections.items() if isinstance(section, dict)
            for i, f in enumerate(section.get("financings", ())))


def _themes_pointer(plan: PlanSubmission, covenant: Covenant) -> str:
    """Where the plan assesses its covenant's themes: its extension's `themes`, if it has
    them; else its covenant, which decides the themes."""
    section = plan.section(covenant.extension)
    return f"/{covenant.extension}/themes" if isinstance(section, dict) \
        and section.get("themes") is not None else "/submission/covenant"


def countries_named(facts: Iterable[Fact]) -> set[str]:
    """The country codes in the facts' country fields."""
    found: set[str] = set()
    for fact in facts:
        for key in COUNTRY_FIELDS & fact.keys():
            value = fact[key]
            found.update(value if isinstance(value, list) else [value])
    return found
