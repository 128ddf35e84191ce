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

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from services.rules.core.operators import LIST_VALUE, NAMES, NO_VALUE, OPERATORS
from services.rules.core.values import Duration
from services.rules.core.vocabulary import FACT_KINDS
from services.shared.contracts import Localized, Reference, Severity
from services.shared.covenants import Name

Op = Literal[NAMES]  # type: ignore[valid-type]  # the operators, declared in operators.py
# a part's name, one of the vocabulary's kinds (the loader refuses others, naming the known ones)
PartName = Annotated[str, Field(json_schema_extra=lambda schema: schema.update(
    enum=sorted(FACT_KINDS)))]
ALTERNATIVE = "|"


def measure_name(own: str, alias: str) -> str:
    """The name of a measure joined under `alias` by the rule alternative named `own`."""
    return f"{own}#{alias}"


def parse_own_name(name: str) -> tuple[str, int]:
    """(rule id, alternative) of a name made by `RuleSpec.own_name`."""
    rule_id, _, alternative = name.partition(ALTERNATIVE)
    return rule_id, int(alternative or 0)


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Param(Spec):
    """Refers to a parameter of the rule by name; its value is the parameter's default."""

    param: str


def _move_kind(value: Any) -> str | None:
    """Which kind a written `plus` or `minus` is, by its shape (see `_test_kind`): a number, a
    parameter (`{param: name}`) or a duration (any other mapping); None for anything else,
    which is refused in words."""
    if isinstance(value, dict):
        return "(param)" if "param" in value else "(duration)"
    if isinstance(value, Param | Duration):
        return "(param)" if isinstance(value, Param) else "(duration)"
    return "(number)" if isinstance(value, int | float) else None


_MOVES = "a number, a duration ({months: 3}) or a parameter ({param: name})"
Move = Annotated[Annotated[float, Tag("(number)")] | Annotated[Duration, Tag("(duration)")]
                 | Annotated[Param, Tag("(param)")],
                 Discriminator(_move_kind, custom_error_type="move",
                               custom_error_message=f"give {_MOVES}")]


class Ref(Spec):
    """A condition's value taken from another field: of the same part (`due_on`), of a part
    bound earlier in the rule (`financing.start_on`: the matched part by its part name, or a
    `with` part by its alias) or of the submission (`submission.reporting_year`,
    `submission.as_of`, `submission.plan_period.start`, ...), optionally moved by `plus` (a
    number, or a duration for dates) or by `minus` (a number: last year's score less a gain)."""

    field: str
    plus: Move | None = None
    minus: Move | None = None

    @model_validator(mode="after")
    def _one_move(self) -> "Ref":
        if self.plus is not None and self.minus is not None:
            raise ValueError("give `plus` or `minus`, not both")
        if isinstance(self.minus, Duration):
            raise ValueError("`minus` takes a number or a parameter; for a date earlier by a "
                             "duration, compare the other way round with `plus`")
        return self

    @property
    def head(self) -> str:
        return self.field.split(".")[0]

    @property
    def moved_by(self) -> Param | None:
        """The parameter the value is moved by, if any."""
        return next((m for m in (self.plus, self.minus) if isinstance(m, Param)), None)

    @property
    def offset(self) -> float | Duration | None:
        """`plus`, or `minus` negated, once the rule has put in its parameter
        (`RuleSpec.value`)."""
        if self.moved_by is not None:
            raise ValueError(f"{self.field}: parameter {self.moved_by.param} not put in")
        if isinstance(self.minus, int | float):
            return -self.minus
        return self.plus if not isinstance(self.plus, Param) else None


class Condition(Spec):
    field: str = Field(description="A field of the part, dotted for nested ones: severity.scale")
    op: Op = Field(description="; ".join(f"{o.name}: {o.meaning}" for o in OPERATORS.values()))
    value: Any = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> "Condition":
        if self.op in NO_VALUE and self.value is not None:
            raise ValueError(f"'{self.op}' takes no value")
        if self.op not in NO_VALUE and self.value is None:
            raise ValueError(f"'{self.op}' needs a value")
        if self.op in LIST_VALUE and not isinstance(self.value, list | dict):
            raise ValueError(f"'{self.op}' needs a list of values (or a parameter)")
        if isinstance(self.value, dict) and "field" in self.value:
            object.__setattr__(self, "value", Ref.model_validate(self.value))
        return self


class AllOf(Spec):
    all: list["Test"] = Field(min_length=1)


class AnyOf(Spec):
    any: list["Test"] = Field(min_length=1)


def _test_kind(value: Any) -> str:
    """Which member of `Test` a written test is: `all` or `any` marks a group, anything else is
    a condition. Chosen by its shape, a mistake in a test is reported once, as the mistake of
    what it is, not once for every member pydantic tried. The tags are in parentheses: a
    file's problems leave them out of the path they show (services/shared/yamlfile.py)."""
    if isinstance(value, dict):
        return "(all)" if "all" in value else "(any)" if "any" in value else "(condition)"
    return "(all)" if isinstance(value, AllOf) else "(any)" if isinstance(value, AnyOf) \
        else "(condition)"


Test = Annotated[Annotated[Condition, Tag("(condition)")] | Annotated[AllOf, Tag("(all)")]
                 | Annotated[AnyOf, Tag("(any)")], Discriminator(_test_kind)]


class Join(Spec):
    """Another part of the plan (or of the reference data, or a measure) joined to the
    matched one."""

    part: PartName = ""
    measure: "Measure | None" = Field(None, description="join a number computed over a "
                                      "collection (one per group with group_by)")
    join: dict[str, str] = Field(
        default_factory=dict,
        description="its field -> the matched part's field (or `alias.field` of a `with` part)",
    )
    where: list[Test] = Field(default_factory=list)
    as_: str | None = Field(None, alias="as", description="name for placeholders; default: part")

    @model_validator(mode="after")
    def _part_or_measure(self) -> "Join":
        if bool(self.part) == (self.measure is not None):
            raise ValueError("a join names either `part` or `measure`")
        if self.measure is not None:
            if not self.as_:
                raise ValueError("a joined measure needs a name (`as`)")
            object.__setattr__(self, "part", "measure")
        return self

    @property
    def alias(self) -> str:
        return self.as_ or self.part


class Measure(Spec):
    """A number computed over the parts of one kind: a count, a sum, a share, a minimum or a
    maximum, for the whole collection or per group.

    value = quantity(parts passing `where` and `share_where`) / quantity(parts passing
    `where`) when `share_where` is given; Σ `sum` / Σ `divide_by` when `divide_by` is given;
    the smallest or largest `min`/`max` field; otherwise the quantity itself. The quantity is
    Σ `sum`, or the count without `sum`. With `group_by` there is one value per distinct key
    (parts without the key are left out), as the measure's `group`; `normalise` compares keys
    of text after transliteration to ASCII and removing case, spacing and punctuation."""

    of: PartName
    where: list[Test] = Field(default_factory=list)
    sum: str | None = None
    share_where: list[Test] | None = None
    divide_by: str | None = None
    min: str | None = None
    max: str | None = None
    group_by: list[str] = Field(default_factory=list)
    normalise: bool = False
    having: list[Test] = Field(
        default_factory=list, description="conditions on `value`, `count` and `group` that a "
        "group must meet to become a measure at all (fewer facts than testing them in `where`)")

    @model_validator(mode="after")
    def _one_quantity(self) -> "Measure":
        if sum(x is not None for x in (self.min, self.max, self.sum)) > 1:
            raise ValueError("give at most one of `sum`, `min` and `max`")
        if self.normalise and not self.group_by:
            raise ValueError("`normalise` applies to `group_by` keys")
        return self


class Escalation(Spec):
    """A higher severity for a finding when more holds of the matched part or of parts joined
    to it; the reason is shown on the finding."""

    severity: Severity
    where: list[Test] = Field(default_factory=list)
    with_: list[Join] = Field(default_factory=list, alias="with")
    reason: Localized


class Match(Spec):
    part: PartName | None = None
    measure: Measure | None = None
    where: list[Test] = Field(default_factory=list)
    with_: list[Join] = Field(default_factory=list, alias="with")
    without: list[Join] = Field(default_factory=list)
    message: Localized | None = Field(
        None, description="this alternative's own message; default: the rule's")

    @model_validator(mode="after")
    def _one_subject(self) -> "Match":
        if (self.part is None) == (self.measure is None):
            raise ValueError("give either `part` or `measure`")
        return self

    @property
    def subject(self) -> str:
        return self.part or "measure"


class UnknownParameter(KeyError):
    """A `{param: name}` that names no parameter of its rule."""

    def __str__(self) -> str:
        name, known = self.args
        return f"unknown parameter '{name}' (the rule's parameters: " \
               f"{', '.join(known) if known else 'none'})"


class RuleSpec(Spec):
    id: str = Field(pattern=r"^[A-Z0-9]+(-[A-Z0-9]+)+$",
                    description="The catalogue id (reference.md section 5) where there is one")
    version: int = Field(ge=1, description="Raise it whenever the rule's meaning changes")
    title: Localized
    scope: list[Name] = Field(
        min_length=1, description="The covenants the rule applies to (rules/covenants/<name>/)")
    severity: Severity
    references: list[Reference] = Field(min_length=1)
    effective_from: date | None = None
    effective_to: date | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    when: Annotated[Annotated[Match, Tag("(one)")] | Annotated[list[Match], Tag("(list)")],
                    Discriminator(lambda v: "(list)" if isinstance(v, list) else "(one)")
                    ] | None = Field(
        None, description="What the rule matches; a list: any of these (each its own findings). "
        "Required unless the rule is disabled")
    escalate: list[Escalation] = Field(
        default_factory=list, description="higher severities and when they apply, highest first")
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
        """What the rule matches (its first alternative); only disabled rules may lack it."""
        return self.matches[0]

    @property
    def matches(self) -> list[Match]:
        """Every alternative the rule matches; a finding for each match of any of them."""
        if self.when is None:
            raise ValueError(f"{self.id} is disabled and has no condition")
        return self.when if isinstance(self.when, list) else [self.when]

    def in_force(self, day: date) -> bool:
        """Whether the day (a plan's as-of date) is inside the rule's effective window."""
        return not ((self.effective_from and day < self.effective_from)
                    or (self.effective_to and day > self.effective_to))

    def value(self, raw: Any) -> Any:
        """A condition value with parameters resolved to their defaults."""
        if isinstance(raw, dict) and set(raw) == {"param"}:
            return self.parameter(raw["param"])
        if isinstance(raw, Ref) and isinstance(raw.plus, Param):
            plus = self.parameter(raw.plus.param)
            return raw.model_copy(update={"plus": Duration.model_validate(plus)
                                          if isinstance(plus, dict) else plus})
        if isinstance(raw, Ref) and isinstance(raw.minus, Param):
            return raw.model_copy(update={"minus": self.parameter(raw.minus.param)})
        return raw

    def parameter(self, name: str) -> Any:
        """The value of one of the rule's parameters."""
        try:
            return self.parameters[name]
        except KeyError:
            raise UnknownParameter(name, sorted(self.parameters)) from None

    def message_of(self, alternative: int) -> Localized:
        """The message of a finding made by one alternative."""
        return self.matches[alternative].message or self.message

    def own_name(self, alternative: int) -> str:
        """The name of one alternative: the rule id, then `<id>|<k>`."""
        return self.id if alternative == 0 else f"{self.id}{ALTERNATIVE}{alternative}"

    def parts_named(self) -> list[str]:
        """Every part the rule names, as written: each alternative's subject (`measure` for
        a measure), the parts it joins or asks absent, its escalations' joins, and the parts
        its measures count."""
        if self.when is None:
            return []
        named = [p for when in self.matches for p in (
            when.subject, *(j.part for j in [*when.with_, *when.without]))]
        named += [j.part for e in self.escalate for j in e.with_]
        return named + [m.of for _, m in self.measures()]

    def measures(self) -> list[tuple[str, Measure]]:
        """(name, measure) of every measure the rule computes: each alternative's subject's,
        under its own name, and each joined one (`measure_name`)."""
        if self.when is None:
            return []
        found = []
        for k, when in enumerate(self.matches):
            own = self.own_name(k)
            found += [(own, when.measure)] if when.measure else []
            joins = [*when.with_, *when.without, *(j for e in self.escalate for j in e.with_)]
            found += [(measure_name(own, j.alias), j.measure) for j in joins if j.measure]
        return found


class RuleFile(Spec):
    rules: list[RuleSpec]


Join.model_rebuild()
Match.model_rebuild()
RuleSpec.model_rebuild()
RuleFile.model_rebuild()


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
    found = []
    for when in rule.matches:
        found += [(when.subject, c) for c in conditions(when.where)]
        if when.measure:
            found += [(when.measure.of, c) for c in conditions(when.measure.where)]
            found += [(when.measure.of, c) for c in conditions(when.measure.share_where or [])]
            found += [("measure", c) for c in conditions(when.measure.having)]
        for join in [*when.with_, *when.without, *(j for e in rule.escalate for j in e.with_)]:
            found += [(join.part, c) for c in conditions(join.where)]
            if join.measure:
                found += [(join.measure.of, c) for c in conditions(join.measure.where)]
                found += [(join.measure.of, c)
                          for c in conditions(join.measure.share_where or [])]
        found += [(when.subject, c) for e in rule.escalate for c in conditions(e.where)]
    return found
