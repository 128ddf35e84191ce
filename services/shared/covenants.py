"""Covenants as configuration.

Each covenant the secretariat runs is a folder `covenants/<name>/` in the policy folder
(RULES_DIR, beside the rule files), holding `covenant.yaml`: its name, its names for readers,
the plan section only its plans carry, its themes, its own instruments and vocabularies, its
calendar (a CSV file) and the values it gives rules' parameters; and `extension.schema.yaml`,
the JSON Schema of its plan section. Nothing in the code names a covenant: routing keys, the
checks of a plan's section and themes, the labels in letters and pages and the rules in scope
all come from here.

Every service works with one set of definitions, `current()`: the bundled folder's unless the
service started with another (`use`, from RULES_DIR). A definition that cannot work is refused
with its file and line (`lint`, `covenant covenants lint`); `load` refuses a folder with any.
"""

import csv
import functools
import os
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from services.bundled import bundled

from .errors import ConfigError
from .yamlfile import LintError, line_of, parse, read

DEFINITION = "covenant.yaml"
EXTENSION_SCHEMA = "extension.schema.yaml"  # the JSON Schema of the covenant's plan section
# what `x-vocabulary` may name beyond the labelled vocabularies: values named by CLDR, the
# covenant's themes, amounts
MATERIAL = "Material"  # the vocabulary of raw materials: each covenant declares its own
NAMED_VALUES = frozenset({"country", "language", "theme", "percent", "euros"})
VocabularyName = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Za-z0-9]+$")]
NAME_PATTERN = r"^[a-z][a-z0-9_]{1,39}$"  # a routing-key word, a JSON member, a folder name
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
PROVENANCE_COLUMNS = ("edition", "source", "licence", "is_fixture")
CALENDAR_COLUMNS = ("reporting_year", "due_on", "grace_days", *PROVENANCE_COLUMNS)


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Labels(_Spec):
    """A text for readers in both languages; neither may be left out."""

    nl: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    en: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

    def __getitem__(self, language: str) -> str:
        return self.en if language == "en" else self.nl


class RuleChoices(_Spec):
    """How the rules in a covenant's scope apply to it."""

    parameters: dict[Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]+(-[A-Z0-9]+)+$")],
                     dict[str, Any]] = Field(
        default_factory=dict, description="Rule id -> the parameters this covenant sets "
        "otherwise than the rule file's defaults (the catalogue gives covenants different "
        "values: what the policy must cover, whom it addresses, from which year)")
    severities: dict[Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]+(-[A-Z0-9]+)+$")],
                     Literal["critical", "high", "medium", "low", "info"]] = Field(
        default_factory=dict, description="Rule id -> the severity its findings have in this "
        "covenant's plans, where the catalogue sets another than the rule file's (food: a "
        "public report is not owed, DD5-PUBLIC-DD-REPORT is for information)")


FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
KindName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
# computations a part's fields may be given (services/rules/core/vocabulary.py has their code)
ComputationName = Literal["nace_division", "nace_section", "same", "total", "year"]


class Computation(_Spec):
    compute: ComputationName
    of: FieldName = Field(description="the part's field it is computed from")


class PartSpec(_Spec):
    """A part of the covenant's section that rules match and join (`when.part`)."""

    path: str = Field(pattern=r"^$|^[a-z0-9_]+(/(\*|[a-z0-9_]+))*$", description="Where the "
                      "parts are in the section (`financings/*`; empty: the section itself)")
    what: str = Field(min_length=1, description="What one part is, for the README's list")
    label: Labels | None = Field(None, description="What readers call one part, in letters "
                                 "and pages (\"Groeve 2\"); a part without one is called by "
                                 "the common label of its name")
    id: FieldName | None = Field(None, description="The field that identifies a part")
    parent: KindName | None = Field(None, description="The part it is nested in; its id is "
                                    "copied onto each of these parts, to join on")
    key: list[FieldName] | None = Field(None, description="The fields that identify a part "
                                        "from one year to the next, when not its id")
    computed: dict[FieldName, Computation] = Field(default_factory=dict)
    annotated: dict[FieldName, Literal["flag", "number", "text"]] = Field(
        default_factory=dict, description="Fields the reference data sets (a financing's "
        "high_risk)")
    shardable: bool = Field(False, description="Its facts belong to one part of a long list, "
                            "so the engine may spread them over several states")
    remembered: bool = Field(False, description="Rules may read it in the company's previous "
                             "accepted plan too, as the part `prev_<name>` (metals: last year's "
                             "maturity score)")


class LinkSpec(_Spec):
    """One fact per value of a list in a part, with the part's fields, so joins are plain."""

    parent: KindName
    list: FieldName
    value: FieldName
    shardable: bool = False
    names: KindName | None = Field(None, description="The part whose id each value is, when "
                                   "a long list's: the link's facts then go with that part "
                                   "wherever its kind is shardable")


ReferenceFieldType = Literal["text", "number", "flag", "date"]


def _csv_file_name(name: str | None) -> str | None:
    """A calendar's or a reference list's file: a CSV file in the covenant's folder."""
    if name is not None and (Path(name).name != name or not name.endswith(".csv")):
        raise ValueError("a .csv file name in the covenant's folder")
    return name


class ReferenceListSpec(_Spec):
    """A list of reference data of the covenant (a CSV file in its folder, provenance on every
    row): each row is a fact of this kind in the evaluation of each of its plans, for rules to
    join (the EU's list of conflict-affected and high-risk areas, a refiners' list)."""

    file: str = Field(description="The CSV file in the covenant's folder: the fields' columns "
                      f"and {', '.join(PROVENANCE_COLUMNS)}")
    what: str = Field(min_length=1, description="What one row is, for the README's list")
    fields: dict[FieldName, ReferenceFieldType] = Field(min_length=1)
    key: list[FieldName] = Field(min_length=1, description="The fields that identify a row")
    vocabularies: dict[FieldName, str] = Field(
        default_factory=dict, description="Where a field's values come from, for showing them "
        "(`country`, or a vocabulary)")

    _a_file_name = field_validator("file")(lambda name: _csv_file_name(name))


PUBLISHED_FIELDS = ("name", "address", "city", "region", "country", "os_id", "product_types",
                    "workers", "active")


class LocationListSpec(_Spec):
    """The covenant's aggregated list of production locations (reference.md 3.1.5): which part
    of its plans lists a company's locations, and how the list is published (`covenant
    locations`; services/register)."""

    part: KindName = Field(description="The part whose items are the company's locations "
                           "(`location`)")
    sector: str = Field(min_length=1, description="Open Supply Hub's sector of every location "
                        "on the published list (Apparel)")
    fields: dict[Literal[PUBLISHED_FIELDS], FieldName] = Field(  # type: ignore[valid-type]
        default_factory=dict, description="The part's field for each of the list's, where it "
        f"is named otherwise ({', '.join(PUBLISHED_FIELDS)}; `active` false: left off the list)")

    def field(self, name: str) -> str:
        return self.fields.get(name, name)


SectionPath = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+(/(\*|[a-z0-9_]+))*$")]


class ProgressTable(_Spec):
    """A table of the progress report summed over the participants' plans: one row per value
    of `rows` (and one column per value of `columns`) over the items at `items`."""

    label: Labels
    items: SectionPath = Field(description="Where the items are in the covenant's section "
                               "(`financings/*`)")
    rows: FieldName = Field(description="The item's field that gives its row")
    rows_prefix: int | None = Field(None, ge=1, description="Only this many characters of it "
                                    "(a NACE code's division: 3)")
    columns: FieldName | None = Field(None, description="The item's field (a value or a list) "
                                      "that gives its column; a list shares the value equally")
    value: FieldName | None = Field(None, description="The item's number to sum; none: the "
                                    "items are counted")
    unit: Literal["count", "euros"] = "count"


class ProgressShare(_Spec):
    """A yes/no question over the participants: the share that says yes."""

    label: Labels
    path: SectionPath = Field(description="A true/false field in the covenant's section")


class DisclosureSpec(_Spec):
    """The rules that keep a participant's figures from being recognised in the report
    (services/register/disclosure.py); absent: the report shows every figure."""

    min_contributors: int = Field(3, ge=1)
    dominance_n: int = Field(2, ge=1)
    dominance_k: float = Field(85.0, gt=0, le=100)
    p_percent: float = Field(10.0, ge=0)
    min_each_answer: int = Field(1, ge=1)


class Progress(_Spec):
    """The covenant's progress report (`covenant report`, the console's report page)."""

    market_eur: float | None = Field(None, gt=0, description="The Dutch market's turnover in "
                                     "the covenant's sector, euros (coverage = the "
                                     "participants' `company.nl_turnover_eur` / this)")
    market_source: str | None = Field(None, description="Where the market size comes from")
    targets: dict[int, float] = Field(default_factory=dict, description="Reporting year -> the "
                                      "share of the market (0..1) the covenant aims to cover "
                                      "by then")
    blocking: tuple[Literal["critical", "high", "medium", "low", "info"], ...] = Field(
        ("critical", "high"), description="A plan meets the "
        "requirements when none of its standing findings has one of these severities")
    tables: dict[KindName, ProgressTable] = Field(default_factory=dict)
    shares: dict[KindName, ProgressShare] = Field(default_factory=dict)
    disclosure: DisclosureSpec | None = None


class CovenantSpec(_Spec):
    """`covenants/<name>/covenant.yaml`, as the secretariat writes it."""

    name: Name = Field(description="The covenant's machine name: the folder's name, the word "
                       "of its routing keys (`plan.<name>`), `submission.covenant` in its plans")
    title: Labels = Field(description="The covenant as readers call it (garments and textile)")
    agreement: Labels = Field(description="The agreement's full name")
    signed_on: date | None = None
    extension: Name = Field(description="The plan section only this covenant's plans carry")
    themes: dict[Name, Labels] = Field(
        min_length=1, description="The covenant's themes: the values `risks[].theme` and the "
        "other theme fields may take in its plans, with their labels")
    materials: dict[Name, Labels] = Field(
        default_factory=dict, description="The raw materials its plans name (`risks[].materials`, "
        "`scoping.materials`; its section's `x-vocabulary: Material`), with their labels")
    instruments: dict[Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Za-z0-9-]*$")],
                      Labels] = Field(
        default_factory=dict, description="Instruments of this covenant alone (its agreement, "
        "its assessment framework, sector guidance) that its rules may cite; a plan of another "
        "covenant is never told of them")
    calendar: str | None = Field(
        None, description="A CSV file in this folder: each reporting year's due date "
        f"({', '.join(CALENDAR_COLUMNS)})")
    vocabularies: dict[VocabularyName, dict[Annotated[str, StringConstraints(  # A|B|C too
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_]*$")], Labels]] = Field(
        default_factory=dict, description="Controlled vocabularies of this covenant's plan "
        "section, each value with its labels; its schema names one with `x-vocabulary`")
    rules: RuleChoices = Field(default_factory=RuleChoices)
    parts: dict[KindName, PartSpec] = Field(
        default_factory=dict, description="The parts of its section rules match, by kind")
    links: dict[KindName, LinkSpec] = Field(
        default_factory=dict, description="Link parts over lists in its parts, by kind")
    reference: dict[KindName, ReferenceListSpec] = Field(
        default_factory=dict, description="Its lists of reference data, by kind")
    locations: LocationListSpec | None = Field(
        None, description="Its aggregated list of production locations, if it keeps one")
    progress: Progress = Field(default_factory=Progress)
    fields: dict[Name, Labels] = Field(
        default_factory=dict, description="Its plan section's fields by name, as readers are "
        "told where something is (\"productielocatie 2, productsoorten\"); a field the common "
        "core names too keeps the core's name (services/shared/i18n/labels.yaml) unless it is "
        "named here")

    _a_file_name = field_validator("calendar")(lambda name: _csv_file_name(name))


@dataclass(frozen=True)
class CalendarEntry:
    reporting_year: int
    due_on: date
    grace_days: int


@dataclass(frozen=True)
class Covenant:
    """One covenant's definition, read from its folder."""

    spec: CovenantSpec
    folder: Path
    calendar: Mapping[int, CalendarEntry] = field(default_factory=dict)
    schema: Mapping[str, Any] = field(default_factory=dict)  # its plan section's, with the
    # values of its vocabularies as `enum`s
    reference: Mapping[str, tuple[Mapping[str, Any], ...]] = field(default_factory=dict)  # the
    # rows of its reference lists, by kind, typed, with their edition

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def extension(self) -> str:
        return self.spec.extension

    @property
    def themes(self) -> frozenset[str]:
        return frozenset(self.spec.themes)

    @property
    def materials(self) -> frozenset[str]:
        return frozenset(self.spec.materials)

    @property
    def definition(self) -> Path:
        return self.folder / DEFINITION

    def parameters(self, rule_id: str) -> dict[str, Any]:
        """The parameters this covenant sets for a rule (none: the rule file's defaults)."""
        return self.spec.rules.parameters.get(rule_id, {})

    def severity(self, rule_id: str) -> str | None:
        """The severity this covenant gives a rule's findings (None: the rule file's)."""
        return self.spec.rules.severities.get(rule_id)


@dataclass(frozen=True)
class Covenants:
    """The covenants one service works with, by name."""

    folder: Path
    by_name: Mapping[str, Covenant]

    def __contains__(self, name: object) -> bool:
        return name in self.by_name

    def __iter__(self) -> Iterator[Covenant]:
        return iter(self.by_name[n] for n in self.names)

    def __getitem__(self, name: str) -> Covenant:
        return self.by_name[name]

    def get(self, name: object) -> Covenant | None:
        return self.by_name.get(name) if isinstance(name, str) else None

    @functools.cached_property  # asked for every plan read and every part of it placed
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self.by_name))

    @functools.cached_property
    def extensions(self) -> frozenset[str]:
        """Every covenant's plan section."""
        return frozenset(c.extension for c in self.by_name.values())

    def due_on(self, covenant: str, reporting_year: int) -> date | None:
        """When the covenant's plan for the year is due (its calendar); None when not known."""
        entry = self.by_name[covenant].calendar.get(reporting_year) if covenant in self \
            else None
        return entry.due_on if entry else None

    def instruments(self) -> dict[str, tuple[str, Labels]]:
        """Instrument -> (its covenant, its name) of every covenant's own instruments."""
        return {i: (c.name, labels) for c in self for i, labels in c.spec.instruments.items()}

    def vocabulary_labels(self) -> dict[str, dict[str, Labels]]:
        """Every covenant's own vocabularies (covenants that share one agree on it: lint)."""
        return {name: values for c in self for name, values in c.spec.vocabularies.items()}

    def theme_labels(self) -> dict[str, Labels]:
        """Theme -> its labels (covenants that share a theme agree on its words: lint)."""
        return {t: labels for c in self for t, labels in c.spec.themes.items()}

    def material_labels(self) -> dict[str, Labels]:
        """Raw material -> its labels (covenants that share one agree on its words: lint)."""
        return {m: labels for c in self for m, labels in c.spec.materials.items()}


class CovenantError(ConfigError):
    """Covenant definitions that cannot work; the message names file and line."""


def lint(folder: Path) -> tuple[Covenants, list[LintError]]:
    """The covenants defined under `folder/covenants/` that can be used, and the problems of
    the others (each at its file and line)."""
    root = folder / "covenants"
    problems: list[LintError] = []
    found: dict[str, Covenant] = {}
    if not root.is_dir():
        return Covenants(root, {}), [LintError(root, 0, "no covenants folder here")]
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        path = sub / DEFINITION
        if not path.is_file():
            problems.append(LintError(sub, 0, f"a covenant folder needs its {DEFINITION}"))
            continue
        spec, tree, errors = parse(path, CovenantSpec, "covenant")
        problems += errors
        if spec is None:
            continue
        own = []
        if spec.name != sub.name:
            own.append(LintError(path, line_of(tree, ("name",)), f"the covenant '{spec.name}' "
                                 f"belongs in a folder named {spec.name}, not {sub.name}"))
        # a line is found (the file composed) only for a problem
        calendar, calendar_problems = _calendar(
            sub, spec, functools.partial(line_of, tree, ("calendar",)), path)
        own += calendar_problems
        schema, schema_problems = _extension_schema(sub, spec)
        own += schema_problems
        reference: dict[str, tuple[Mapping[str, Any], ...]] = {}
        for kind, listed in spec.reference.items():
            rows, list_problems = _reference_list(
                sub, listed, path, functools.partial(line_of, tree, ("reference", kind, "file")))
            reference[kind] = rows
            own += list_problems
        sections = set((schema.get("properties") or {}) if schema else ())
        if schema:
            named = set(field_names(schema))
            own += [LintError(path, line_of(tree, ("fields", name)), f"fields: '{name}' is no "
                              f"field of the plan section '{spec.extension}'")
                    for name in spec.fields if name not in named]
        progress = spec.progress
        for at, where in [
                *((("tables", n, "items"), t.items) for n, t in progress.tables.items()),
                *((("shares", n, "path"), x.path) for n, x in progress.shares.items())]:
            if schema and where.split("/")[0] not in sections:
                own.append(LintError(path, line_of(tree, ("progress", *at)),
                                     f"progress: '{where}' is nowhere in the plan section "
                                     f"'{spec.extension}'"))
        if spec.locations and spec.locations.part not in spec.parts:
            own.append(LintError(path, line_of(tree, ("locations", "part")), "locations: "
                                 f"'{spec.locations.part}' is none of the covenant's parts"))
        problems += own
        if not own and not errors:
            found[spec.name] = Covenant(spec, sub, calendar, schema, reference)
    problems += _clashes(found)
    if not found and not problems:
        problems.append(LintError(root, 0, "no covenant is defined here"))
    return Covenants(root, found), problems


def load(folder: Path) -> Covenants:
    """The covenants under `folder/covenants/`; refused (CovenantError) if any has a problem.
    Read once per state of the folder's files: a process that asks again (the contracts, then
    the rule book) gets the same definitions, and an edited file is read again."""
    key = (Path(folder).resolve(), _fingerprint(Path(folder) / "covenants"))
    if key not in _LOADED:
        covenants, problems = lint(folder)
        if problems:
            raise CovenantError("; ".join(map(str, problems[:10])))
        _LOADED.clear()  # one folder's state is kept: a process uses one policy folder
        _LOADED[key] = covenants
    return _LOADED[key]


_LOADED: dict[tuple[Path, tuple[tuple[str, int, int], ...]], Covenants] = {}


def _fingerprint(root: Path) -> tuple[tuple[str, int, int], ...]:
    """Every file under the folder with its modification time and size."""
    if not root.is_dir():
        return ()
    return tuple(sorted((str(p.relative_to(root)), p.stat().st_mtime_ns, p.stat().st_size)
                        for p in root.rglob("*") if p.is_file()))


def _calendar(folder: Path, spec: CovenantSpec, line: Callable[[], int],
              definition: Path) -> tuple[dict[int, CalendarEntry], list[LintError]]:
    if spec.calendar is None:
        return {}, []
    path = folder / spec.calendar
    if not path.is_file():
        return {}, [LintError(definition, line(), f"calendar: no file {spec.calendar} here")]
    entries: dict[int, CalendarEntry] = {}
    rows, problems = _csv_rows(path, CALENDAR_COLUMNS, CALENDAR_COLUMNS)
    for n, row in rows:
        try:
            entry = CalendarEntry(int(row["reporting_year"]), date.fromisoformat(
                row["due_on"]), int(row["grace_days"]))
        except ValueError as e:
            problems.append(LintError(path, n, f"not a year, date and number of days: {e}"))
            continue
        if entry.reporting_year in entries:
            problems.append(LintError(path, n, f"reporting year {entry.reporting_year} "
                                      "is given twice"))
        entries[entry.reporting_year] = entry
    return entries, problems


def _csv_rows(path: Path, columns: tuple[str, ...], required: tuple[str, ...]
              ) -> tuple[list[tuple[int, dict[str, str]]], list[LintError]]:
    """The rows of a covenant's CSV file with their line numbers; a column missing, or a row
    with a `required` value (its provenance) blank, is a problem at its line."""
    rows, problems = [], []
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            return [], [LintError(path, 1, f"columns missing: {', '.join(missing)}")]
        for n, row in enumerate(reader, start=2):
            blank = [c for c in required if not (row.get(c) or "").strip()]
            if blank:
                problems.append(LintError(path, n, f"no {', '.join(blank)} (provenance is "
                                          "required on every value)"))
            else:
                rows.append((n, row))
    return rows, problems


def _reference_list(folder: Path, spec: ReferenceListSpec, definition: Path,
                    line: Callable[[], int]
                    ) -> tuple[tuple[Mapping[str, Any], ...], list[LintError]]:
    """The rows of a reference list, typed as declared; or the problems, at their lines."""
    path = folder / spec.file
    if not path.is_file():
        return (), [LintError(definition, line(), f"reference: no file {spec.file} here")]
    found: list[Mapping[str, Any]] = []
    rows, problems = _csv_rows(path, (*spec.fields, *PROVENANCE_COLUMNS), PROVENANCE_COLUMNS)
    for n, row in rows:
        try:
            typed = {name: _typed(row[name].strip(), kind)
                     for name, kind in spec.fields.items() if row[name].strip()}
        except ValueError as e:
            problems.append(LintError(path, n, str(e)))
            continue
        found.append({**typed, "edition": row["edition"].strip()})
    return tuple(found), problems


def _typed(value: str, kind: str) -> Any:
    if kind == "number":
        return float(value) if "." in value else int(value)
    if kind == "flag":
        if value not in ("true", "false"):
            raise ValueError(f"'{value}' is not true or false")
        return value == "true"
    if kind == "date":
        return date.fromisoformat(value).isoformat()
    return value


def field_names(node: Any) -> Iterator[str]:
    """Every name a schema gives a field, at any depth (its definitions' too)."""
    if isinstance(node, dict):
        properties = node.get("properties")
        if isinstance(properties, dict):
            yield from properties
        for value in node.values():
            yield from field_names(value)
    elif isinstance(node, list):
        for value in node:
            yield from field_names(value)


def _extension_schema(folder: Path, spec: CovenantSpec) -> tuple[dict[str, Any],
                                                                list[LintError]]:
    """The covenant's plan-section schema, with its vocabularies' values as `enum`s; or what
    keeps it from being used (each problem at its line)."""
    import jsonschema_rs

    path = folder / EXTENSION_SCHEMA
    if not path.is_file():
        return {}, [LintError(folder / DEFINITION, 1, f"the plan section '{spec.extension}' "
                              f"needs its JSON Schema in {EXTENSION_SCHEMA} beside this file")]
    tree, schema, problems = read(path)
    if problems:
        return {}, problems
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return {}, [LintError(path, 1, "the schema of a plan section describes an object "
                              "(type: object)")]
    known = {**_core_vocabularies(), **{n: list(v) for n, v in spec.vocabularies.items()},
             **({MATERIAL: list(spec.materials)} if spec.materials else {})}
    for where, name in _vocabulary_uses(schema, ()):
        if name not in known and name not in NAMED_VALUES:
            problems.append(LintError(path, line_of(tree, where), f"x-vocabulary: '{name}' is "
                                      "no vocabulary of this covenant or of the contract (nor "
                                      f"one of {', '.join(sorted(NAMED_VALUES))})"))
    if problems:
        return {}, problems
    with_values = _with_enums(schema, {**known, "theme": list(spec.themes)})
    try:
        jsonschema_rs.meta.validate(with_values)
        jsonschema_rs.validator_for(with_values)
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError) as e:
        where = tuple(getattr(e, "instance_path", ()) or ())
        return {}, [LintError(path, line_of(tree, where), f"not a valid JSON Schema: "
                              f"{getattr(e, 'message', e)}")]
    return with_values, []


def _core_vocabularies() -> dict[str, list[str]]:
    """The contract's controlled vocabularies (vocab.py), by name: their values."""
    from enum import StrEnum

    from .contracts import vocab  # imported here: the contracts read the covenants

    return {name: [m.value for m in enum] for name, enum in vars(vocab).items()
            if isinstance(enum, type) and issubclass(enum, StrEnum) and enum is not StrEnum}


def _vocabulary_uses(node: Any, where: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...],
                                                                          str]]:
    if isinstance(node, dict):
        if isinstance(node.get("x-vocabulary"), str):
            yield (*where, "x-vocabulary"), node["x-vocabulary"]
        for key, value in node.items():
            yield from _vocabulary_uses(value, (*where, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _vocabulary_uses(value, (*where, i))


def _with_enums(node: Any, known: Mapping[str, list[str]]) -> Any:
    """The schema with `enum` beside each `x-vocabulary` of a labelled vocabulary."""
    if isinstance(node, list):
        return [_with_enums(v, known) for v in node]
    if not isinstance(node, dict):
        return node
    found = {k: _with_enums(v, known) for k, v in node.items()}
    name = node.get("x-vocabulary")
    if isinstance(name, str) and name in known and node.get("type") == "string":
        found["enum"] = list(known[name])
    return found


def _clashes(found: Mapping[str, Covenant]) -> list[LintError]:
    """What two covenants may not share: a plan section, an instrument, a theme's words."""
    problems = []
    core = {*_core_vocabularies(), MATERIAL}
    vocabulary: dict[str, tuple[str, dict[str, Labels]]] = {}
    for c in found.values():
        for name, values in c.spec.vocabularies.items():
            if name in core:
                problems.append(LintError(c.definition, 0, f"vocabulary {name} is the "
                                          "contract's own; give the covenant's another name"))
                continue
            # two covenants may share a vocabulary (gold's and metals' RMAP statuses), each
            # folder complete in itself, if it is one: the same values in the same words
            other, listed = vocabulary.setdefault(name, (c.name, values))
            if listed != values:
                problems.append(LintError(c.definition, 0, f"vocabulary {name} differs from "
                                          f"covenant {other}'s; a shared vocabulary has the "
                                          "same values in the same words, or another name"))
    section: dict[str, str] = {}
    instrument: dict[str, str] = {}
    worded: dict[tuple[str, str], tuple[str, Labels]] = {}
    for c in found.values():
        path = c.folder / DEFINITION
        if (other := section.setdefault(c.extension, c.name)) != c.name:
            problems.append(LintError(path, 0, f"extension '{c.extension}' is already "
                                      f"covenant {other}'s"))
        for i in c.spec.instruments:
            if (other := instrument.setdefault(i, c.name)) != c.name:
                problems.append(LintError(path, 0, f"instrument {i} is already covenant "
                                          f"{other}'s"))
        for what, values in (("theme", c.spec.themes), ("material", c.spec.materials)):
            for value, labels in values.items():
                other, words = worded.setdefault((what, value), (c.name, labels))
                if words != labels:
                    problems.append(LintError(path, 0, f"{what} {value} is worded differently "
                                              f"in covenant {other}; a {what} has one wording"))
    return problems


# --- the process's covenants ------------------------------------------------------------------

BUNDLED_RULES = bundled("rules")
_current: Covenants | None = None
T = TypeVar("T")


def current() -> Covenants:
    """The covenants this process works with: those `use` was given, else those of the policy
    folder the RULES_DIR setting names (services/shared/settings.py), loaded once."""
    global _current
    if _current is None:
        _current = load(rules_dir())
    return _current


def derived(key: Hashable, make: Callable[[Covenants], T]) -> T:
    """A value made from the covenants in use (`current`), made once for them, and again
    once `use` gives others: for what is asked often and walks every covenant to make (the
    labels and paths of plan parts, for every place a letter names). Safe from any thread:
    the values of other covenants are replaced as a whole, never cleared under a reader."""
    registry = current()
    made_for, values = _derived[0]
    if made_for is not registry:
        values = {}
        _derived[0] = (registry, values)
    if key not in values:
        values[key] = make(registry)
    return values[key]


# (the covenants, key -> the value made from them)
_derived: list[tuple[Covenants | None, dict[Hashable, Any]]] = [(None, {})]


def rules_dir() -> Path:
    """The policy folder RULES_DIR names, else the bundled one; read where the service's
    settings (services/shared/settings.py) are not wanted: `covenant check` and the contracts."""
    return Path(os.environ.get("RULES_DIR") or BUNDLED_RULES)


def use(covenants: Covenants | None) -> Covenants | None:
    """Work with these covenants from now on (a service at start, from RULES_DIR; None: the
    bundled ones again); returns the ones used before."""
    global _current
    before, _current = _current, covenants
    return before


@contextmanager
def using(defined: Covenants) -> Iterator[Covenants]:
    """Work with these covenants for a while (loading or linting another rules folder than
    the process's; a test), then with the ones before again."""
    before = use(defined)
    try:
        yield defined
    finally:
        use(before)


def names() -> tuple[str, ...]:
    return current().names


def known(name: Any) -> bool:
    return name in current()
