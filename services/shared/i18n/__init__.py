"""Dutch and English for readers, in one place.

- Vocabulary labels: `labels.yaml` beside this module, one entry per controlled vocabulary
  (the enums of `contracts/vocab.py`, severities, the goods of the reference data), and the
  names of a plan's parts (for saying where in a plan something is).
- Why a submission was refused, by error code: `errors.yaml`.
- Instruments and their locators in words: `instruments.yaml`; which covenant an instrument
  belongs to (a letter cites only its plan's covenant's instruments and the general ones).
- Country and language names, numbers, percentages, amounts, dates, lists and plural forms:
  CLDR through Babel, never formatted by hand.

Every function takes the reader's language (`Language` or "nl"/"en") and never raises for a
value it does not know: a letter must go out; the tests (tests/unit/test_i18n.py,
tests/unit/test_letters.py) make sure every value and every error code has its words.
"""

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import cache, lru_cache
from importlib import resources
from typing import Any, Literal

from babel import Locale
from babel.dates import format_date
from babel.lists import format_list
from babel.numbers import format_currency, parse_pattern

from services.shared import covenants
from services.shared.yamlfile import load_yaml

LANGUAGES = ("nl", "en")
NOTHING = "\u2013"  # an en dash: where there is no value to show
WORDS = re.compile(r"[A-Za-z]{4,}")  # a locator "in words" has a run of four letters or more


def _code(language: Any) -> str:
    code = str(getattr(language, "value", language))
    return code if code in LANGUAGES else "en"


@cache
def _data(name: str) -> dict[str, Any]:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    return load_yaml(text)


def vocabularies() -> Mapping[str, Mapping[str, Mapping[str, str]]]:
    """vocabulary -> value -> {"nl": ..., "en": ...}: labels.yaml's, and from the covenant
    definitions their own vocabularies, `Covenant` (their names) and `Theme` (their themes)."""
    return _with_covenants()[0]


def instruments() -> Mapping[str, Mapping[str, Any]]:
    """instrument -> {"name": {nl, en}, "covenant": str (absent for general instruments)}:
    instruments.yaml's general instruments and each covenant's own."""
    return _with_covenants()[1]


_merged: tuple[Any, tuple[dict[str, Any], dict[str, Any]]] = (None, ({}, {}))


def _with_covenants() -> tuple[dict[str, Any], dict[str, Any]]:
    """The labels and instruments of the files here and of the process's covenants, merged
    once for each set of covenants."""
    global _merged
    registry = covenants.current()
    if _merged[0] is not registry:
        words = {**_data("labels.yaml")["vocabularies"],
                 **{name: {v: w.model_dump() for v, w in values.items()}
                    for name, values in registry.vocabulary_labels().items()},
                 "Covenant": {c.name: c.spec.title.model_dump() for c in registry},
                 "Theme": {t: w.model_dump() for t, w in registry.theme_labels().items()},
                 covenants.MATERIAL: {m: w.model_dump()
                                      for m, w in registry.material_labels().items()}}
        named = {**_data("instruments.yaml")["instruments"],
                 **{i: {"name": w.model_dump(), "covenant": c}
                    for i, (c, w) in registry.instruments().items()}}
        _merged = (registry, (words, named))
    return _merged[1]


def locators() -> Mapping[str, Mapping[str, str]]:
    """locator in words -> {nl, en}."""
    return _data("instruments.yaml")["locators"]


def label(vocabulary: str, value: Any, language: Any) -> str:
    """The value's label; the value itself when the vocabulary has none for it."""
    entry = vocabularies().get(vocabulary, {}).get(str(value))
    return entry[_code(language)] if entry else str(value)


CLDR_LOCALES = {"nl": "nl_NL", "en": "en_GB"}  # English as written in Europe: 4 July 2019


@cache
def _locale(language: str) -> Locale:
    return Locale.parse(CLDR_LOCALES[language])


def country(code: Any, language: Any) -> str:
    """The country's name in CLDR (`TR` -> Turkije / Türkiye); the code when CLDR has none."""
    return _locale(_code(language)).territories.get(str(code).upper(), str(code))


def language_name(code: Any, language: Any) -> str:
    """A language's name (`bn` -> Bengaals / Bangla)."""
    return _locale(_code(language)).languages.get(str(code), str(code))


# the patterns, read once (format_decimal and format_percent read theirs on every call: a
# tenth of notify's CPU for a letter with its counts)
_NUMBER, _SHARE = parse_pattern("#,##0.##"), parse_pattern("#,##0.#%")


def number(value: float, language: Any) -> str:
    """`1234.5` -> 1.234,5 / 1,234.5 (at most two decimals)."""
    if type(value) is int and 0 <= value < 1000:  # the same in every language: most counts
        return str(value)
    return _NUMBER.apply(value, _locale(_code(language)))


def signed(value: float, language: Any) -> str:
    """A change: `+2`, `-1,5` written with a true minus sign (U+2212), `±0`."""
    sign = "+" if value > 0 else "\u2212" if value < 0 else "±"
    return sign + number(abs(value), language)


def share(fraction: float, language: Any) -> str:
    """A fraction as a percentage: `0.965` -> 96,5% / 96.5%."""
    return _SHARE.apply(fraction, _locale(_code(language)))


def percent(value: float, language: Any) -> str:
    """A value already in percent (a `_pct` field): `96.5` -> 96,5% / 96.5%."""
    return share(value / 100, language)


def euros(value: float, language: Any) -> str:
    """`1234567` -> € 1.234.567 / €1,234,567 (cents only when there are any)."""
    locale = _locale(_code(language))
    pattern = locale.currency_formats["standard"].pattern
    if float(value).is_integer():
        pattern = pattern.replace(".00", "")
    return format_currency(value, "EUR", format=pattern, locale=locale, currency_digits=False)


def day(value: date | datetime | str, language: Any) -> str:
    """A date in words: `2019-07-04` -> 4 juli 2019 / 4 July 2019; text that is not a date
    is returned as it is."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return str(value)
    when = value.date() if isinstance(value, datetime) else value
    return format_date(when, "long", locale=_locale(_code(language))).removeprefix("de ")


def items(values: Iterable[str], language: Any,
          style: Literal["standard", "or"] = "standard") -> str:
    """`a, b en c` / `a, b and c` (`style="or"`: of / or)."""
    shown = list(values)
    return format_list(shown, style=style, locale=_locale(_code(language))) if shown \
        else NOTHING


def plural(count: int, forms: Mapping[str, str], language: Any, **values: Any) -> str:
    """The CLDR plural form of `forms` ({"one": "{n} beoordeling", "other": "{n}
    beoordelingen"}) for `count`, with `{n}` filled in as a localised number (and any other
    `values` the text names)."""
    form = _locale(_code(language)).plural_form(count)
    text = forms.get(form) or forms["other"]
    return text.format(n=number(count, language), **values)


def yes_no(flag: Any, language: Any) -> str:
    return {"nl": ("ja", "nee"), "en": ("yes", "no")}[_code(language)][0 if flag else 1]


def instrument_covenant(instrument: str) -> str | None:
    """The covenant an instrument belongs to; None for a general one (or an unknown one)."""
    return instruments().get(instrument, {}).get("covenant")


def cited(references: Iterable[Any], covenant: str | None) -> list[Any]:
    """The references (`instrument`, `locator`, optional `covenant`) that apply to a plan of
    the covenant: the general instruments' and the covenant's own (a reference's `covenant`,
    else its instrument's)."""
    return [r for r in references
            if (r.covenant or instrument_covenant(r.instrument)) in (None, covenant)]


def citation(instrument: str, locator: str, language: Any) -> str:
    """`AGT-AF`, `3` -> Beoordelingskader Kleding en Textiel 3."""
    name = instruments().get(instrument, {}).get("name", {}).get(_code(language), instrument)
    words = locators().get(locator)
    return f"{name} {words[_code(language)] if words else locator}"


DURATION_UNITS = {
    "nl": {"years": {"one": "{n} jaar", "other": "{n} jaar"},
           "months": {"one": "{n} maand", "other": "{n} maanden"},
           "days": {"one": "{n} dag", "other": "{n} dagen"}},
    "en": {"years": {"one": "{n} year", "other": "{n} years"},
           "months": {"one": "{n} month", "other": "{n} months"},
           "days": {"one": "{n} day", "other": "{n} days"}},
}
MISSING_VALUE = "?"


def theme(value: Any, language: Any) -> str:
    """A covenant theme's label (covenants that share a theme share its words)."""
    return label("Theme", value, language)


def show(value: Any, how: str, language: Any) -> str:
    """A value for a reader, as `how` says: `date`, `number`, `percent` (a `_pct` value),
    `share` (a fraction), `euros`, `flag`, `duration` ({"months": 12}), `country`,
    `language`, `theme`, `text`, or the name of a vocabulary in labels.yaml. A list is shown
    item by item and joined (`a, b en c`)."""
    if value is None:
        return MISSING_VALUE
    if isinstance(value, list):
        return items((show(v, how, language) for v in value), language)
    match how:
        case "date":
            return day(value, language)
        case "flag":
            return yes_no(value, language)
        case "number" | "percent" | "share" | "euros" if isinstance(value, int | float) \
                and not isinstance(value, bool):
            return {"number": number, "percent": percent, "share": share,
                    "euros": euros}[how](value, language)
        case "duration" if isinstance(value, dict):
            units = DURATION_UNITS[_code(language)]
            return items((plural(int(n), units[unit], language) for unit, n in value.items()
                          if unit in units and n), language)
        case "country":
            return country(value, language)
        case "language":
            return language_name(value, language)
        case "theme":
            return theme(value, language)
        case "text":
            return number(value, language) if isinstance(value, float) else str(value)
    return label(how, value, language) if how in vocabularies() else str(value)


def error_texts() -> Mapping[str, Mapping[str, str]]:
    """error code -> {nl, en} (errors.yaml)."""
    return _data("errors.yaml")["errors"]


PLACED = frozenset({"first"})  # the keys of an error's context that hold a JSON pointer


def error_text(error: Any, language: Any, patterns: Iterable[tuple[str, str]] = ()) -> str:
    """A validation error (a `FieldError`) in plain words, its context's numbers localised
    and the places it names in words (`place`, with the plan's part `patterns`); a code
    without a text gets the general one."""
    texts = error_texts().get(error.code) or error_texts()["_other"]
    context = {k: number(v, language) if isinstance(v, int | float)
               else _where(v, _code(language), patterns)
               if k in PLACED and isinstance(v, str) and v.startswith("/") else v
               for k, v in (getattr(error, "context", None) or {}).items()}
    if "expected" in context:  # pydantic's "'a', 'b' or 'c'"
        quoted = re.findall(r"'([^']*)'", str(context["expected"]))
        context["expected"] = items(_allowed(quoted, language), language, "or") if quoted \
            else context["expected"]
    try:
        return texts[_code(language)].format(**context)
    except (KeyError, IndexError, ValueError):  # a context without the value the text names
        return (error_texts()["_other"])[_code(language)]


def _allowed(values: list[str], language: Any) -> Iterable[str]:
    """The values a field takes, as they are written in a plan, each with its label where it
    says more ("'in_progress' (in uitvoering)"): the labels of the vocabulary that has exactly
    these values; none where two such vocabularies word them differently (A, B and C are a
    bank's Equator Principles categories and a natural stone company's groups)."""
    code = _code(language)
    worded = {tuple(v[value][code] for value in values)
              for v in vocabularies().values() if v.keys() == set(values)}
    labels = dict(zip(values, worded.pop(), strict=True)) if len(worded) == 1 else {}
    for value in values:
        label = labels.get(value, "")
        plain = label.casefold() in (value.casefold(), value.replace("_", " ").casefold())
        yield f"'{value}'" if not label or plain else f"'{value}' ({label})"


def fields(section: str | None = None) -> Mapping[str, Mapping[str, str]]:
    """field name -> {nl, en}: the common core's (labels.yaml); with `section`, a covenant's
    plan section, that covenant's own names over them (its definition's `fields`). Any other
    `section` (the first step of any pointer: a core part, a member a plan should not have)
    gets the core's, made once: what a plan names must not add to what is kept."""
    own = next((c.spec.fields for c in covenants.current() if c.extension == section), None)
    if own is None:
        return covenants.derived("i18n.fields", lambda _: _data("labels.yaml")["fields"])
    return covenants.derived(("i18n.fields", section), lambda _: {
        **fields(), **{name: labels.model_dump() for name, labels in own.items()}})


def parts() -> Mapping[str, Mapping[str, str]]:
    """plan part (a kind of services/rules/core/vocabulary.py) -> {nl, en}; a covenant's part
    with a label of its own (a natural stone quarry) as `<covenant>:<part>`."""
    return covenants.derived("i18n.parts", lambda registry: {
        **_data("labels.yaml")["parts"],
        **{f"{c.name}:{name}": part.label.model_dump() for c in registry
           for name, part in c.spec.parts.items() if part.label}})


def natural_key(text: str) -> tuple[Any, ...]:
    """Sorts `/x/2` before `/x/10`."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


@lru_cache(maxsize=64)  # a few sets of patterns: each covenant's and all of them
def _split(patterns: tuple[tuple[str, str], ...]) -> dict[str, list[tuple[str, list[str]]]]:
    """The patterns' steps, by their first: a letter places every pointer of every finding
    (it took a tenth of notify's time splitting the same patterns again)."""
    by_first: dict[str, list[tuple[str, list[str]]]] = {}
    for part, pattern in patterns:
        want = pattern.split("/")
        by_first.setdefault(want[0], []).append((part, want))
    return by_first


PREVIOUS = "/previous"  # where findings point into the company's previous plan


def place(pointer: str, language: Any, patterns: Iterable[tuple[str, str]]) -> str:
    """Where a JSON pointer is in a plan, in words: `/actions/2/kpis/0/target` -> "Actie 3,
    KPI 1, doel"; `/actions/0/risk_ids/1` -> "Actie 1, risico's, nr. 2". `patterns`: (part,
    path pattern with `*` for an index) of the plan's parts; the longest that matches names
    the place, with the listed parts it lies in, and the fields below it are named by their
    labels (`fields`; a field the format does not have, by its name as written). The
    company's previous plan, which a finding may point into (`/previous/...`), is named so:
    "Het vorige plan: actie 3"."""
    text = _where(pointer, _code(language), patterns)
    return text[:1].upper() + text[1:]


def _where(pointer: str, code: str, patterns: Iterable[tuple[str, str]]) -> str:
    """`place`, with its first letter as the words have it ("actie 3", "KPI-resultaat 1")."""
    # the assessment of the previous plan: each finding is named by its id in the message
    if pointer.startswith(PREVIOUS + "/findings"):
        return {"nl": "de bevindingen over het vorige plan",
                "en": "the findings on the previous plan"}[code]
    if pointer == PREVIOUS or pointer.startswith(PREVIOUS + "/"):
        previous = {"nl": "het vorige plan", "en": "the previous plan"}[code]
        return previous if pointer == PREVIOUS else \
            f"{previous}: {_where(pointer.removeprefix(PREVIOUS), code, patterns)}"
    steps = [s.replace("~1", "/").replace("~0", "~") for s in pointer.split("/")[1:]]
    matched = []
    for part, want in _split(tuple(patterns)).get(steps[0] if steps else "", ()):
        if len(want) <= len(steps) and all((w == "*" and s.isdigit()) or w == s
                                           for w, s in zip(want, steps, strict=False)):
            matched.append((len(want), part, want))
    matched.sort()
    labels = fields(steps[0] if steps else None)
    if matched:
        chain = [m for m in matched[:-1] if m[2][-1] == "*"] + [matched[-1]]
        where = [parts().get(part, {}).get(code, part)
                 + (f" {int(steps[length - 1]) + 1}" if want[-1] == "*" else "")
                 for length, part, want in chain]
        rest = steps[matched[-1][0]:]
    elif not steps:
        where, rest = [{"nl": "het plan als geheel", "en": "the plan as a whole"}[code]], []
    elif steps[0] in labels:  # a field of the plan itself (`schema`)
        where, rest = [], steps
    else:  # a section the plan should not carry, or a member it does not know
        where = [{"nl": "het onderdeel '{}'", "en": "the part '{}'"}[code].format(steps[0])]
        rest = steps[1:]
    return ", ".join([*where, *(_step(step, labels, code) for step in rest)])


def _step(step: str, labels: Mapping[str, Mapping[str, str]], code: str) -> str:
    """One step of a pointer below the part it is in: an element of a list by its number
    (counted from 1), a field by its label, a field the format lacks by its name."""
    if step.isdigit():
        return {"nl": "nr. ", "en": "no. "}[code] + str(int(step) + 1)
    label = labels.get(step)
    return label[code] if label else {"nl": "veld '{}'", "en": "field '{}'"}[code].format(step)
