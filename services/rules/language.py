"""The rule-file language: what a policy expert writes in `rules/*.yaml`, as models.

A rule matches one part of a plan (`when.part`: a `risk`, a `location`, the `policy`, ...)
whose fields pass the `where` conditions. It can require joined parts to exist (`with`), require
joined parts to be absent (`without`), and test a number computed over a collection
(`measure`: a count, a sum, or a share). Values can name a rule parameter (`{param: name}`).
The JSON Schema of this language (`contracts/rule-file.schema.json`) lets editors validate
and complete rule files.
"""

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.shared.contracts import Covenant, Localized, Reference, Severity

INSTRUMENTS = frozenset({
    "DDG", "UNGP", "MNE", "GFG", "CLSU", "AGT", "AGT-AF", "DBA", "CHRB", "EP", "GDPR", "IFC-PS",
})

Op = Literal[
    "==", "!=", "<", "<=", ">", ">=",
    "in", "not_in",          # value is one of / none of a list
    "missing", "present",    # absent, null, empty text or empty list / the opposite
    "contains", "lacks",     # a list field contains the value / does not contain it
    "lacks_any",             # a list field misses at least one of the values
    "matches",               # text matches a pattern (durable-rules regular expressions)
    "older_than",            # a date lies more than {days|months|years} before the submission
    "within",                # a date lies at most {days|months|years} before the submission
    "in_future",             # a date lies after the submission date
]
NO_VALUE: frozenset[str] = frozenset({"missing", "present", "in_future"})
LIST_VALUE: frozenset[str] = frozenset({"in", "not_in", "lacks_any"})


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Param(Spec):
    """Refers to a parameter of the rule by name; its value is the parameter's default."""

    param: str


class Duration(Spec):
    days: int = 0
    months: int = 0
    years: int = 0

    def in_days(self) -> int:
        return self.days + round(self.months * 30.4375) + self.years * 365


class Condition(Spec):
    field: str = Field(description="A field of the part, dotted for nested ones: severity.scale")
    op: Op
    value: Any = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> "Condition":
        if self.op in NO_VALUE and self.value is not None:
            raise ValueError(f"'{self.op}' takes no value")
        if self.op not in NO_VALUE and self.value is None:
            raise ValueError(f"'{self.op}' needs a value")
        if self.op in LIST_VALUE and not isinstance(self.value, list | dict):
            raise ValueError(f"'{self.op}' needs a list of values (or a parameter)")
        return self


class AllOf(Spec):
    all: list["Test"] = Field(min_length=1)


class AnyOf(Spec):
    any: list["Test"] = Field(min_length=1)


Test = Annotated[Condition | AllOf | AnyOf, Field(union_mode="left_to_right")]


class Join(Spec):
    """Another part of the plan (or of the reference data) joined to the matched one."""

    part: str
    join: dict[str, str] = Field(
        default_factory=dict,
        description="its field -> the matched part's field (or `alias.field` of a `with` part)",
    )
    where: list[Test] = Field(default_factory=list)
    as_: str | None = Field(None, alias="as", description="name for placeholders; default: part")

    @property
    def alias(self) -> str:
        return self.as_ or self.part


class Measure(Spec):
    """A number computed over the parts of one kind: a count, a sum, or a share of them.

    value = quantity(parts passing `where` and `share_where`) / quantity(parts passing
    `where`) when `share_where` is given; Σ `sum` / Σ `divide_by` when `divide_by` is given;
    otherwise the quantity itself. The quantity is Σ `sum`, or the count without `sum`."""

    of: str
    where: list[Test] = Field(default_factory=list)
    sum: str | None = None
    share_where: list[Test] | None = None
    divide_by: str | None = None


class Match(Spec):
    part: str | None = None
    measure: Measure | None = None
    where: list[Test] = Field(default_factory=list)
    with_: list[Join] = Field(default_factory=list, alias="with")
    without: list[Join] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_subject(self) -> "Match":
        if (self.part is None) == (self.measure is None):
            raise ValueError("give either `part` or `measure`")
        return self

    @property
    def subject(self) -> str:
        return self.part or "measure"


class RuleSpec(Spec):
    id: str = Field(pattern=r"^[A-Z0-9]+(-[A-Z0-9]+)+$",
                    description="The catalogue id (reference.md section 5) where there is one")
    version: int = Field(ge=1, description="Raise it whenever the rule's meaning changes")
    title: Localized
    scope: list[Covenant] = Field(min_length=1)
    severity: Severity
    references: list[Reference] = Field(min_length=1)
    effective_from: date | None = None
    effective_to: date | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    when: Match | None = Field(None, description="Required unless the rule is disabled")
    message: Localized
    guidance: Localized
    rationale: str | None = None
    disabled: str | None = Field(None, description="Why the rule is off; absent: it is on")

    @model_validator(mode="after")
    def _when_unless_disabled(self) -> "RuleSpec":
        if self.when is None and not self.disabled:
            raise ValueError("a rule needs `when` (or `disabled` with the reason it is off)")
        return self

    @property
    def match(self) -> Match:
        """What the rule matches; only disabled rules may lack it, and those are not run."""
        if self.when is None:
            raise ValueError(f"{self.id} is disabled and has no condition")
        return self.when

    def in_force(self, day: date) -> bool:
        """Whether the day (a plan's as-of date) is inside the rule's effective window."""
        return not ((self.effective_from and day < self.effective_from)
                    or (self.effective_to and day > self.effective_to))

    def value(self, raw: Any) -> Any:
        """A condition value with parameters resolved to their defaults."""
        if isinstance(raw, dict) and set(raw) == {"param"}:
            return self.parameters[raw["param"]]
        return raw


class RuleFile(Spec):
    rules: list[RuleSpec]


def conditions(tests: list[Test]) -> list[Condition]:
    """Every condition in a list of tests, nested ones included."""
    found: list[Condition] = []
    for t in tests:
        match t:
            case Condition():
                found.append(t)
            case AllOf(all=inner) | AnyOf(any=inner):
                found.extend(conditions(inner))
    return found


def all_conditions(rule: RuleSpec) -> list[tuple[str, Condition]]:
    """(part, condition) for every condition of a rule, wherever it stands."""
    if rule.when is None:
        return []
    when = rule.when
    found = [(when.subject, c) for c in conditions(when.where)]
    if when.measure:
        found += [(when.measure.of, c) for c in conditions(when.measure.where)]
        found += [(when.measure.of, c) for c in conditions(when.measure.share_where or [])]
    for join in [*when.with_, *when.without]:
        found += [(join.part, c) for c in conditions(join.where)]
    return found
