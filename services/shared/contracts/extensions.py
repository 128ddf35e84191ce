"""A covenant's own section of a plan (`textile`, `banking`, ...), checked against the JSON
Schema in its definition (`rules/covenants/<name>/extension.schema.yaml`).

The section is read as the common core is: a member that is null is absent, texts are trimmed,
country codes upper-cased and language codes lower-cased (`x-vocabulary`), before the schema
is applied by jsonschema-rs, a maintained validator of JSON Schema draft 2020-12. Each error is
a `FieldError` at its JSON pointer with the code pydantic gives the same fault in the core
(`missing`, `extra_forbidden`, `enum`, `string_too_long`, ...), so that a submitter hears of a
fault in the same words wherever it is, and never with the offending value (plan contents).
Country codes are checked against ISO 3166-1 and a list with `x-assessable-items` against its
bound. A valid section is returned as the core is dumped: defaults filled in, numbers of
`type: number` as floats and of `type: integer` as whole numbers.
"""

import copy
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema_rs

from services.shared.covenants import Covenant

from .countries import ISO_3166_ALPHA2
from .errors import FieldError, json_pointer
from .shapes import Shape, shape_of

Path = tuple[str | int, ...]


def check_extension(section: Any, covenant: Covenant) -> tuple[Any, list[FieldError]]:
    """The section normalised, and what is wrong with it (nothing: it is valid)."""
    shape = section_shape(covenant)
    value = _normalised(section, shape)
    at = (covenant.extension,)
    errors = _one_per_place([_error(e, at, shape) for e in _validator(covenant).iter_errors(value)])
    errors += list(_own_checks(value, shape, at))
    return (_completed(value, shape) if not errors else value), errors


def _one_per_place(errors: list[FieldError]) -> list[FieldError]:
    """One error per pointer, as the core gives: a value outside a vocabulary is said to be
    one (with the values allowed) rather than of the wrong type."""
    chosen: dict[str, FieldError] = {}
    for e in errors:
        if e.pointer not in chosen or e.code == "enum":
            chosen[e.pointer] = e
    return list(chosen.values())


# covenant name -> (its definition, its section's validator and shape), for the definition
# loaded last (a reload replaces it)
_prepared: dict[str, tuple[Covenant, Any, Shape]] = {}


def _validator(covenant: Covenant) -> Any:
    return _prepare(covenant)[1]


def section_shape(covenant: Covenant) -> Shape:
    """The shape of the covenant's section, read from its schema."""
    return _prepare(covenant)[2]


def _prepare(covenant: Covenant) -> tuple[Covenant, Any, Shape]:
    """The covenant's validator and shape, made once per definition loaded."""
    found = _prepared.get(covenant.name)
    if found is None or found[0] is not covenant:
        found = (covenant, jsonschema_rs.validator_for(dict(covenant.schema),
                                                       validate_formats=True),
                 shape_of(covenant.schema))
        _prepared[covenant.name] = found
    return found


# --- before the schema: read as the core is read ----------------------------------------------

def _normalised(value: Any, shape: Shape | None) -> Any:
    """The value as the core reads it: nulls dropped from objects, texts trimmed, vocabulary
    codes cased. What reading leaves unchanged is the value itself, not a copy: most plans
    arrive trimmed, and a bank's section is then held once, not twice."""
    if isinstance(value, dict):
        fields = shape.fields if shape is not None else {}
        copied: dict[str, Any] | None = None
        for i, (name, inner) in enumerate(value.items()):
            read = _read(inner, fields.get(name)) if inner is not None else None
            if copied is None:
                if read is inner and inner is not None:
                    continue
                copied = dict(itertools.islice(value.items(), i))
            if read is not None:
                copied[name] = read
        return value if copied is None else copied
    if isinstance(value, list):
        return _each(value, lambda element: _read(element, shape.item if shape else None))
    return _read(value, shape)


def _read(value: Any, shape: Shape | None) -> Any:
    if isinstance(value, str):
        return _text(value, shape)
    return _normalised(value, shape) if isinstance(value, dict | list) else value


def _each(values: list[Any], change: Callable[[Any], Any]) -> list[Any]:
    """The list with `change` applied to each element: the list itself when it changes none
    (an element is changed when `change` gives another object)."""
    copied: list[Any] | None = None
    for i, element in enumerate(values):
        changed = change(element)
        if copied is None:
            if changed is element:
                continue
            copied = values[:i]
        copied.append(changed)
    return values if copied is None else copied


def _text(value: str, shape: Shape | None) -> str:
    text = value.strip()  # the string itself when there is nothing to trim
    vocabulary = shape.vocabulary if shape is not None else None
    cased = text.upper() if vocabulary == "country" else \
        text.lower() if vocabulary == "language" else text
    return value if cased == value else cased


# --- the schema's errors in the core's words ---------------------------------------------------

_TYPE_CODES = {"string": "string_type", "integer": "int_type", "number": "float_type",
               "boolean": "bool_type", "array": "list_type", "object": "model_type"}
_LIMITS = {"maximum": ("less_than_equal", "le"), "minimum": ("greater_than_equal", "ge"),
           "exclusiveMaximum": ("less_than", "lt"), "exclusiveMinimum": ("greater_than", "gt"),
           "maxLength": ("string_too_long", "max_length"),
           "minLength": ("string_too_short", "min_length"),
           "maxItems": ("too_long", "max_length"), "minItems": ("too_short", "min_length")}
_WORDS = {"less_than_equal": "at most {}", "greater_than_equal": "at least {}",
          "less_than": "less than {}", "greater_than": "greater than {}",
          "string_too_long": "at most {} characters", "string_too_short": "at least {} characters",
          "too_long": "at most {} items", "too_short": "at least {} items"}


def _error(error: Any, at: Path, shape: Shape) -> FieldError:
    kind, path = error.kind, (*at, *error.instance_path)
    details = kind.as_dict()
    match kind.name:
        case "required":
            return FieldError(pointer=json_pointer((*path, details["property"])),
                              code="missing", message="Field required")
        case "additionalProperties":
            extra = sorted(details["unexpected"])
            return FieldError(pointer=json_pointer((*path, extra[0])), code="extra_forbidden",
                              message="Extra inputs are not permitted"
                              + (f" (also: {', '.join(extra[1:])})" if extra[1:] else ""))
        case "type":
            expected = details["types"][0] if details["types"] else "value"
            code = "date_type" if _at(shape, error.instance_path) == "date" \
                else _TYPE_CODES.get(expected, "value_error")
            return FieldError(pointer=json_pointer(path), code=code,
                              message=f"should be of type {expected}")
        case "enum":
            options = [str(o) for o in details["options"]]
            expected = " or ".join(filter(None, (", ".join(f"'{o}'" for o in options[:-1]),
                                                 f"'{options[-1]}'" if options else "")))
            return FieldError(pointer=json_pointer(path), code="enum",
                              message=f"Input should be {expected}",
                              context={"expected": expected[:200]})
        case "format":
            code = "date_from_datetime_parsing" if details["format"] == "date" \
                else "datetime_parsing" if details["format"] == "date-time" else "value_error"
            return FieldError(pointer=json_pointer(path), code=code,
                              message=f"not a valid {details['format']}")
        case "pattern":
            return FieldError(pointer=json_pointer(path), code="string_pattern_mismatch",
                              message=f"should match the pattern {details['pattern']}",
                              context={"pattern": str(details["pattern"])[:200]})
        case name if name in _LIMITS:
            code, key = _LIMITS[name]
            limit = details["limit"]
            return FieldError(pointer=json_pointer(path), code=code,
                              message=f"should be {_WORDS[code].format(limit)}",
                              context={key: limit})
    return FieldError(pointer=json_pointer(path), code="value_error",
                      message=f"does not satisfy the schema's {kind.name}")


def _at(shape: Shape | None, path: list[str | int]) -> str | None:
    """The type the shape gives the value at the path (None: not known)."""
    for step in path:
        if shape is None:
            return None
        shape = shape.item if isinstance(step, int) else shape.fields.get(step)
    return shape.type if shape is not None else None


# --- beyond the schema ------------------------------------------------------------------------

def _own_checks(value: Any, shape: Shape | None, path: Path) -> Iterator[FieldError]:
    """ISO country codes; lists within their assessable bound. Only where the shape has such
    a check somewhere inside (`checked_beyond_schema`): a plan's other fields are not walked."""
    if shape is None or not shape.checked_beyond_schema:
        return
    if isinstance(value, dict):
        for name, inner_shape in shape.checked_fields:
            if name in value:
                yield from _own_checks(value[name], inner_shape, (*path, name))
    elif isinstance(value, list):
        bound = shape.assessable_items
        if bound is not None:
            counted = bound.get("counting", ())
            items = len(value) + sum(len(element.get(name) or ()) for element in value
                                     if isinstance(element, dict) for name in counted)
            if items > bound["max"]:
                yield FieldError(
                    pointer=json_pointer(path), code="too_many_items",
                    message=f"{len(value)} elements with their lists make {items} items; the "
                    f"assessment takes at most {bound['max']} for now",
                    context={"elements": len(value), "items": items, "max_items": bound["max"]})
        if shape.item is not None and shape.item.checked_beyond_schema:
            for i, element in enumerate(value):
                yield from _own_checks(element, shape.item, (*path, i))
    elif isinstance(value, str) and shape.vocabulary == "country" \
            and len(value) == 2 and value not in ISO_3166_ALPHA2:
        yield FieldError(pointer=json_pointer(path), code="unknown_country",
                         message=f"'{value}' is not an ISO 3166-1 alpha-2 country code",
                         context={"code": value[:10]})


# --- after: as the core is dumped --------------------------------------------------------------

def _completed(value: Any, shape: Shape | None) -> Any:
    """Only where something inside the shape changes when dumped (`completed_on_dump`); the
    rest is the valid value as it is, and so is what dumping leaves unchanged (no copy)."""
    if shape is None or not shape.completed_on_dump:
        return value
    if isinstance(value, dict):
        filled: dict[str, Any] | None = None
        for name, inner in shape.completed_fields:
            if name in value and (done := _completed(value[name], inner)) is not value[name]:
                filled = dict(value) if filled is None else filled
                filled[name] = done
        for name, default in shape.defaults:
            if name not in value:
                filled = dict(value) if filled is None else filled
                filled[name] = copy.deepcopy(default)
        return value if filled is None else filled
    if isinstance(value, list):
        return _each(value, lambda element: _completed(element, shape.item))
    if shape.type == "number" and isinstance(value, int | float) \
            and not isinstance(value, bool):
        return int(value) if shape.integer else float(value)  # itself when already so
    return value
