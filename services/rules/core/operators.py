"""The operators of a condition, each declared once: what it means in words, what value it
takes, how it compiles to a durable-rules condition, and its plain reading.

The two readings stand side by side on purpose, and are written independently: the plain one
works on Python values (dates as dates, lists as sets), the compiled one on what the engine
can compare (derived day ages and month keys, `$iany`/`$iall` over lists, a missing field
spelled out where the engine would skip it). `covenant rules crosscheck` runs both on the same
facts and must find no difference. The rule-file models (`language.Op`), the editor schema,
lint and the README's list of operators are derived from `OPERATORS`.

A comparison with another field (`{field: ...}` as the value) is compiled in `compiler.py`
(`_compare_fields`) and read in `evaluator.py`; `takes_field` says which operators allow it.
"""

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, Protocol

from services.rules.core.patterns import pattern_problems
from services.rules.core.values import MISSING, Duration, as_date

Expression = dict[str, Any]
ValueShape = Literal["none", "one", "list", "duration"]


class CompileError(ValueError):
    pass


class Site(Protocol):
    """Where a condition is compiled: the field's name in the engine, and the derived forms of
    it the fact builder can add (`age_days`, `age_mk`; see compiler.Derived)."""

    @property
    def field(self) -> str: ...

    def derived(self, form: str) -> str: ...


@dataclass(frozen=True)
class Operator:
    name: str
    meaning: str  # in words, for the README and the editor schema
    value: ValueShape  # what the condition's value must be
    compile: Callable[[Site, Any], Expression]  # (site, value) -> engine condition
    holds: Callable[[Any, Any, date], bool]  # (the field's value or MISSING, value, as_of)
    takes_field: bool = False  # the value can be another field (`{field: ...}`)
    reads_as_of: bool = False  # compares with the submission date (`as_of` of the fact)


# --- engine expressions ------------------------------------------------------------------------

def all_of(terms: list[Expression]) -> Expression:
    return _group("$and", terms)


def any_of(terms: list[Expression]) -> Expression:
    return _group("$or", terms)


def _group(op: str, terms: list[Expression]) -> Expression:
    """`op` over the terms, nested groups of the same `op` merged into it."""
    flat_terms = [t for term in terms for t in (term[op] if set(term) == {op} else [term])]
    return flat_terms[0] if len(flat_terms) == 1 else {op: flat_terms}


def missing(field: str) -> Expression:
    return {"$nex": {field: 1}}


ENGINE_COMPARISONS = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}


def _values(site: Site, value: Any) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise CompileError(f"the condition on {site.field} needs a non-empty list of values")
    return value


def _each_not(site: Site, values: list[Any]) -> Expression:
    return {"$iall": {site.field: all_of([{"$neq": {"$i": v}} for v in values])}}


def _age(site: Site, value: Any, op: str) -> tuple[str, int]:
    """The derived age field and the limit in its units for `older_than` / `within`."""
    try:
        duration = Duration.model_validate(value)
    except ValueError:
        raise CompileError(f"'{op}' on {site.field} needs days, months or years") from None
    if duration.calendar:
        return site.derived("age_mk"), MONTH * duration.in_months
    return site.derived("age_days"), duration.days


MONTH = 32  # month-key units per calendar month (see compiler.py)


def _compile_older_than(site: Site, value: Any) -> Expression:
    age, limit = _age(site, value, "older_than")
    return {"$gt": {age: limit}}


def _compile_within(site: Site, value: Any) -> Expression:
    age, limit = _age(site, value, "within")
    return all_of([{"$gte": {site.derived("age_days"): 0}}, {"$lte": {age: limit}}])


# --- plain reading -------------------------------------------------------------------------

_ORDERINGS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _compare(op: str, a: Any, b: Any) -> bool:
    try:
        return bool(_ORDERINGS[op](a, b))
    except TypeError:
        return False


def _is_list(v: Any) -> bool:
    return isinstance(v, list)


def _against_submission(op: str, v: Any, value: Any, as_of: date) -> bool:
    day = as_date(v)
    if day is None:
        return False
    if op == "in_future":
        return day > as_of
    limit = Duration.model_validate(value).after(day)
    return as_of > limit if op == "older_than" else day <= as_of <= limit


def _ordering(op: str) -> Operator:
    return Operator(
        op, f"the field is {_WORDS[op]} the value (a missing field: false)", "one",
        lambda site, value: {ENGINE_COMPARISONS[op]: {site.field: value}},
        lambda v, value, as_of: v is not MISSING and _compare(op, v, value), takes_field=True)


_WORDS = {"<": "less than", "<=": "at most", ">": "more than", ">=": "at least"}

def _pattern(site: Site, value: Any) -> str:
    """A pattern the engine can compile in bounded time (core/patterns.py), or CompileError
    (the engine itself refuses a pattern that is not text only with its error code 102)."""
    if not isinstance(value, str):
        raise CompileError(f"'matches' on {site.field} needs a pattern (text), not {value!r}")
    problems = pattern_problems(value)
    if problems:
        raise CompileError("; ".join(problems))
    return value


_DECLARED: list[Operator] = [
    Operator("==", "the field equals the value (a missing field: false)", "one",
             lambda site, value: {site.field: value},
             lambda v, value, as_of: v is not MISSING and v == value, takes_field=True),
    Operator("!=", "the field differs from the value, or is missing", "one",
             lambda site, value: any_of([{"$neq": {site.field: value}}, missing(site.field)]),
             lambda v, value, as_of: v is MISSING or v != value, takes_field=True),
    *(_ordering(op) for op in ("<", "<=", ">", ">=")),
    Operator("in", "the field is one of the values (or of a list of reference data: "
             "`{field: country.languages}`)", "list",
             lambda site, value: any_of([{site.field: v} for v in _values(site, value)]),
             lambda v, value, as_of: v is not MISSING and v in value, takes_field=True),
    Operator("not_in", "the field is none of the values, or is missing", "list",
             lambda site, value: any_of([all_of([{"$neq": {site.field: v}}
                                                 for v in _values(site, value)]),
                                         missing(site.field)]),
             lambda v, value, as_of: v is MISSING or v not in value),
    Operator("missing", "the field is absent, null, an empty text or an empty list (at any "
             "depth)", "none",
             lambda site, value: missing(site.field),
             lambda v, value, as_of: v is MISSING),
    Operator("present", "the field holds a value", "none",
             lambda site, value: {"$ex": {site.field: 1}},
             lambda v, value, as_of: v is not MISSING),
    Operator("contains", "the list field holds the value", "one",
             lambda site, value: {"$iany": {site.field: {"$i": value}}},
             lambda v, value, as_of: _is_list(v) and value in v),
    Operator("lacks", "the list field does not hold the value, or is missing", "one",
             lambda site, value: any_of([missing(site.field), _each_not(site, [value])]),
             lambda v, value, as_of: v is MISSING or (_is_list(v) and value not in v)),
    Operator("lacks_any", "the list field misses at least one of the values, or is missing",
             "list",
             lambda site, value: any_of([missing(site.field),
                                         *(_each_not(site, [v]) for v in _values(site, value))]),
             lambda v, value, as_of: v is MISSING or (_is_list(v)
                                                      and any(x not in v for x in value))),
    Operator("intersects", "the list field shares at least one value with the values", "list",
             lambda site, value: {"$iany": {site.field: any_of(
                 [{"$i": v} for v in _values(site, value)])}},
             lambda v, value, as_of: _is_list(v) and bool(set(v) & set(value))),
    Operator("disjoint", "the list field shares no value with the values, or is missing",
             "list",
             lambda site, value: any_of([missing(site.field),
                                         _each_not(site, _values(site, value))]),
             lambda v, value, as_of: v is MISSING or (_is_list(v) and not set(v) & set(value))),
    Operator("subset_of", "every value of the list field is one of the values, or it is "
             "missing", "list",
             lambda site, value: any_of([missing(site.field), {"$iall": {site.field: any_of(
                 [{"$i": v} for v in _values(site, value)])}}]),
             lambda v, value, as_of: v is MISSING or (_is_list(v) and set(v) <= set(value))),
    Operator("superset_of", "the list field holds every one of the values", "list",
             lambda site, value: all_of([{"$iany": {site.field: {"$i": v}}}
                                         for v in _values(site, value)]),
             lambda v, value, as_of: _is_list(v) and set(v) >= set(value)),
    Operator("matches", "the whole text matches the pattern (durable-rules regular "
             "expressions: no nested repetition)", "one",
             lambda site, value: {"$mt": {site.field: _pattern(site, value)}},
             lambda v, value, as_of: isinstance(v, str) and re.fullmatch(value, v) is not None),
    Operator("older_than", "the date lies more than the length (`{days|months|years}`) "
             "before the submission date", "duration", _compile_older_than,
             lambda v, value, as_of: _against_submission("older_than", v, value, as_of),
             reads_as_of=True),
    Operator("within", "the date lies at most the length before the submission date, and "
             "not after it", "duration", _compile_within,
             lambda v, value, as_of: _against_submission("within", v, value, as_of),
             reads_as_of=True),
    Operator("in_future", "the date lies after the submission date", "none",
             lambda site, value: {"$lt": {site.derived("age_days"): 0}},
             lambda v, value, as_of: _against_submission("in_future", v, value, as_of),
             reads_as_of=True),
]

OPERATORS: Mapping[str, Operator] = {op.name: op for op in _DECLARED}
NAMES: tuple[str, ...] = tuple(OPERATORS)
NO_VALUE = frozenset(op.name for op in _DECLARED if op.value == "none")
LIST_VALUE = frozenset(op.name for op in _DECLARED if op.value == "list")
AGE_OPS = frozenset(op.name for op in _DECLARED if op.reads_as_of)
COMPARISONS = frozenset(op.name for op in _DECLARED if op.takes_field and op.value == "one")


def markdown() -> str:
    """The operators as a Markdown table (the README's list is this text)."""
    shapes = {"none": "none", "one": "a value", "list": "a list of values",
              "duration": "`{days|months|years}`"}
    rows = ["| operator | holds when | value |", "|---|---|---|"]
    rows += [f"| `{op.name}` | {op.meaning} | {shapes[op.value]}"
             f"{' or another field' if op.takes_field else ''} |" for op in _DECLARED]
    return "\n".join(rows)
