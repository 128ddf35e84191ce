"""The aggregated list of production locations as the secretariat publishes it once a year, in
Open Supply Hub's upload columns (`country`, `name`, `address` required; then city, region,
sector, product type, number of workers when known), with no link to any company; and the
list's figures per year.

Country names and product types are written in the list's language (English by default, as
Open Supply Hub reads them); several product types are separated by `|`, as its template asks.
A text a spreadsheet would run as a formula is written as text (services/shared/text.py).
"""

import csv
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.shared import i18n
from services.shared.text import cell

from .store import Entry, SqlRegister

COLUMNS = ("country", "name", "address", "city", "region", "sector", "product_type",
           "number_of_workers")


def rows(entries: Iterable[Entry], sector: str, language: str = "en") -> list[dict[str, str]]:
    """One row per place; nothing in it names or points at a company."""
    return [{
        "country": i18n.country(e.country, language),
        "name": str(e.fields.get("name") or ""),
        "address": str(e.fields.get("address") or ""),
        "city": str(e.fields.get("city") or ""),
        "region": str(e.fields.get("region") or ""),
        "sector": sector,
        "product_type": "|".join(i18n.label("ProductType", p, language)
                                 for p in e.fields.get("product_types") or ()),
        "number_of_workers": str(e.fields.get("workers") or ""),
    } for e in entries]


def write_csv(table: Sequence[dict[str, str]], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows([cell(row[c]) for c in COLUMNS] for row in table)


def write_xlsx(table: Sequence[dict[str, str]], path: Path, title: str) -> None:
    from openpyxl import Workbook  # only when asked for a workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]  # Excel's limit on a sheet's name
    sheet.append(list(COLUMNS))
    for row in table:
        sheet.append([cell(row[c]) for c in COLUMNS])
    sheet.freeze_panes = "A2"
    book.save(path)


@dataclass(frozen=True)
class Figures:
    """The list of one year in numbers."""

    year: int
    locations: int  # unique places
    shared: int  # places listed by more than one company
    companies: int  # companies whose latest plan of the year lists a place
    by_country: dict[str, int] = field(default_factory=dict)  # most first
    high_risk: int = 0  # places in a high-risk country (reference data)

    @property
    def high_risk_share(self) -> float | None:
        return self.high_risk / self.locations if self.locations else None


def figures(year: int, entries: Sequence[Entry],
            high_risk: Callable[[str], bool]) -> Figures:
    countries = Counter(e.country for e in entries)
    return Figures(
        year=year, locations=len(entries),
        shared=sum(len(e.companies) > 1 for e in entries),
        companies=len({c for e in entries for c in e.companies}),
        by_country=dict(sorted(countries.items(), key=lambda kv: (-kv[1], kv[0]))),
        high_risk=sum(n for country, n in countries.items() if high_risk(country)),
    )


def every_year(register: SqlRegister, covenant: str, high_risk: Callable[[str], bool]
               ) -> list[Figures]:
    """The figures of each year the register holds plans of (the plans accepted since the
    last time placed first)."""
    register.refresh()
    return [figures(y, register.entries(covenant, y), high_risk)
            for y in register.years(covenant)]


def high_risk_in(rules_dir: Path) -> Callable[[str], bool]:
    """Whether a country is high-risk by the rules' reference data (`hr_any`)."""
    from services.rules.adapters.reference_files import load_reference

    countries = load_reference(rules_dir / "reference").countries
    return lambda country: bool(countries.get(country, {}).get("hr_any"))


def figures_text(all_figures: Sequence[Figures], language: str) -> list[str]:
    """The figures in words, one year a paragraph."""
    w = WORDS[language]
    lines: list[str] = []
    for f in all_figures:
        lines.append(w["year"].format(year=f.year))
        lines.append("  " + i18n.plural(f.locations, w["locations"], language))
        lines.append("  " + i18n.plural(f.shared, w["shared"], language))
        lines.append("  " + i18n.plural(f.companies, w["companies"], language))
        if f.high_risk_share is not None:
            lines.append("  " + w["high_risk"].format(
                share=i18n.share(f.high_risk_share, language),
                n=i18n.number(f.high_risk, language)))
        top = [f"{i18n.country(c, language)} ({i18n.number(n, language)})"
               for c, n in list(f.by_country.items())[:10]]
        if top:
            lines.append("  " + w["countries"].format(list=i18n.items(top, language)))
    return lines


WORDS: dict[str, dict[str, Any]] = {
    "nl": {
        "year": "Verslagjaar {year}",
        "locations": {"one": "{n} unieke productielocatie", "other": "{n} unieke "
                      "productielocaties"},
        "shared": {"one": "{n} locatie gedeeld door meer dan één bedrijf",
                   "other": "{n} locaties gedeeld door meer dan één bedrijf"},
        "companies": {"one": "{n} bedrijf levert locaties aan",
                      "other": "{n} bedrijven leveren locaties aan"},
        "high_risk": "{share} in hoogrisicolanden ({n} locaties)",
        "countries": "meeste locaties: {list}",
        "methods": {"new": "nieuw", "exact": "gelijk", "os_id": "zelfde OS ID",
                    "automatic": "automatisch gekoppeld", "confirmed": "bevestigd",
                    "split": "afgesplitst"},
    },
    "en": {
        "year": "Reporting year {year}",
        "locations": {"one": "{n} unique production location",
                      "other": "{n} unique production locations"},
        "shared": {"one": "{n} location shared by more than one company",
                   "other": "{n} locations shared by more than one company"},
        "companies": {"one": "{n} company lists locations",
                      "other": "{n} companies list locations"},
        "high_risk": "{share} in high-risk countries ({n} locations)",
        "countries": "most locations: {list}",
        "methods": {"new": "new", "exact": "identical", "os_id": "same OS ID",
                    "automatic": "matched automatically", "confirmed": "confirmed",
                    "split": "split off"},
    },
}
