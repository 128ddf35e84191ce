"""How each placeholder of a rule's message is shown to a reader, derived from what it names.

A policy expert writes `{country}`, `{due_on}`, `{value}` or `{param.min_share}`; the reader
gets "Turkije", "1 april 2019", "87%" and "90%". The presentation follows from the part and
field a placeholder names (the same resolution lint checks placeholders with):

- a field whose values come from a vocabulary (`vocabulary.field_values`): its labels,
  country and language names from CLDR;
- a date: in words; a flag: yes or no; a number: localised, as a percentage or an amount in
  euros where the schema says so (and for `_pct` and `_eur` fields of reference data);
- a measure's `value`: a percentage for a share (`share_where`), else as the field it sums or
  takes the least or most of; its `group`: as the field it groups by;
- a parameter: as the field it is compared with; a length of time in words.

Anything else (names, ids, free text) is shown as it is. `services/shared/i18n.show` does the
showing.
"""

from typing import Any

from services.rules.core.language import (
    Join,
    Match,
    Measure,
    RuleSpec,
    all_conditions,
    conditions,
)
from services.rules.core.vocabulary import field_type, field_values


def field_presentation(kind: str, dotted: str) -> str:
    values = field_values(kind, dotted)
    if values:
        return values
    last = dotted.rsplit(".", 1)[-1]
    match field_type(kind, dotted):
        case "date":
            return "date"
        case "flag":
            return "flag"
        case "number":
            return "percent" if last.endswith("_pct") else "euros" if last.endswith("_eur") \
                else "number"
    return "text"


def measure_presentation(measure: Measure, dotted: str) -> str:
    if dotted == "value":
        if measure.share_where is not None:
            return "share"
        quantity = measure.min or measure.max or (None if measure.divide_by else measure.sum)
        return field_presentation(measure.of, quantity) if quantity else "number"
    if dotted == "group":
        return field_presentation(measure.of, measure.group_by[0]) \
            if len(measure.group_by) == 1 and not measure.normalise else "text"
    return field_presentation("measure", dotted)


def _join_presentation(join: Join, dotted: str) -> str:
    return measure_presentation(join.measure, dotted) if join.measure \
        else field_presentation(join.part, dotted)


def _subject_presentation(when: Match, dotted: str) -> str:
    return measure_presentation(when.measure, dotted) if when.measure \
        else field_presentation(when.subject, dotted)


def parameter_presentation(rule: RuleSpec, name: str) -> str:
    """As the field the parameter is compared with; a length of time in words."""
    value = rule.parameters.get(name)
    if isinstance(value, dict) and set(value) <= {"days", "months", "years"}:
        return "duration"

    def uses(c: Any) -> bool:
        return isinstance(c.value, dict) and c.value.get("param") == name

    for when in rule.matches:
        for c in conditions(when.where):
            if uses(c):
                return _subject_presentation(when, c.field)
    for part, c in all_conditions(rule):
        if uses(c) and part != "measure":
            return field_presentation(part, c.field)
    return "text"


def presentation(rule: RuleSpec, alternative: int, name: str) -> str:
    """How the placeholder `name` of the alternative's message (or of an escalation's reason,
    which may name the parts it joins) is shown."""
    when = rule.matches[alternative]
    aliases = {j.alias: j for j in [*when.with_, *(j for e in rule.escalate for j in e.with_)]}
    head, _, rest = name.partition(".")
    if head == "param":
        return parameter_presentation(rule, rest)
    if head in aliases and rest:
        return _join_presentation(aliases[head], rest)
    return _subject_presentation(when, name)
