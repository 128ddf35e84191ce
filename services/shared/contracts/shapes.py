"""The shape of a plan, read from its JSON Schema: what each field holds, for the rules'
vocabulary (does a part have the field, of which type, from which vocabulary) and for finding
the plan's free texts.

One reading serves every part of a plan, whether its schema comes from the contract's models
(the common core, `PlanSubmission`) or is authored as JSON Schema (a covenant's extension):
the schema is the declaration, the shape is derived. Beyond standard JSON Schema it reads two
annotations: `x-vocabulary` (the vocabulary a field's values come from: `country`,
`language`, `theme`, `percent`, `euros`, or a vocabulary with labels), `x-free-text: false`
(a long text that is published data, not prose: a location's name or address),
`x-assessable-items` (a list's bound), `x-collection: {name, id}` (a list of parts whose ids
are unique and referenced by that name) and `x-references: <collection>` (a text holding such
an id). An enum's
vocabulary is its schema's title (the enum's name in `vocab.py`).
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal

FieldType = Literal["date", "number", "text", "flag", "list"]
FREE_TEXT_MIN_LENGTH = 100  # a string without a pattern that may be this long is prose
NO_DEFAULT: Any = object()
# enum titles whose values are named by CLDR rather than by labels
_CLDR_VOCABULARIES = {"Language": "language"}


@dataclass(frozen=True)
class Shape:
    """What a field (or a part) holds."""

    type: FieldType | Literal["object"] | None = None  # None: of several types, or unknown
    vocabulary: str | None = None
    fields: Mapping[str, "Shape"] = field(default_factory=dict)  # an object's
    item: "Shape | None" = None  # a list's elements'
    free_text: bool = False
    title: str | None = None
    default: Any = NO_DEFAULT  # the value an absent field takes (JSON Schema `default`)
    assessable_items: Mapping[str, Any] | None = None  # a list's bound on its elements and
    # the values of their lists named in `counting` (`x-assessable-items`)
    integer: bool = False  # a number without a fraction
    collection: Mapping[str, str] | None = None  # a list of parts with ids that others
    # reference: {name, id} (`x-collection`)
    references: str | None = None  # the collection whose ids this text holds (`x-references`)

    def nodes(self, path: str = "") -> Iterator[tuple[str, "Shape"]]:
        """(path pattern, shape) of this shape and every shape inside it (`*`: each element
        of a list), as integrity.py's patterns are written."""
        yield path, self
        for name, inner in self.fields.items():
            yield from inner.nodes(f"{path}/{name}" if path else name)
        if self.item is not None:
            yield from self.item.nodes(f"{path}/*" if path else "*")

    def at(self, steps: list[str]) -> "Shape | None":
        """The shape at a path of field names (`*` steps into a list's elements; a field of a
        list's elements is reached through the list, as the facts carry it)."""
        shape: Shape | None = self
        for step in steps:
            if shape is None:
                return None
            shape = shape.item if step == "*" else shape.element().fields.get(step)
        return shape

    def element(self) -> "Shape":
        """The shape of one value: a list's element, else the shape itself."""
        return self.item if self.item is not None else self

    def free_texts(self) -> Iterator[tuple[str, "Shape"]]:
        """(field, shape) of the fields that are free text or hold some."""
        return iter(self._free_text_fields)

    @cached_property
    def _free_text_fields(self) -> tuple[tuple[str, "Shape"], ...]:  # asked once per part
        return tuple((name, inner) for name, inner in self.fields.items()
                     if inner.holds_free_text)

    @cached_property
    def children(self) -> tuple["Shape", ...]:
        return (*self.fields.values(), *((self.item,) if self.item is not None else ()))

    @cached_property
    def checked_beyond_schema(self) -> bool:
        """Whether it or anything inside it has a check the JSON Schema cannot make: a country
        code (against ISO 3166-1) or a list's assessable bound. The rest need no walk."""
        return self.vocabulary == "country" or self.assessable_items is not None \
            or any(inner.checked_beyond_schema for inner in self.children)

    @cached_property
    def checked_fields(self) -> tuple[tuple[str, "Shape"], ...]:
        return tuple((n, f) for n, f in self.fields.items() if f.checked_beyond_schema)

    @cached_property
    def completed_fields(self) -> tuple[tuple[str, "Shape"], ...]:
        return tuple((n, f) for n, f in self.fields.items() if f.completed_on_dump)

    @cached_property
    def defaults(self) -> tuple[tuple[str, Any], ...]:
        """(field, default) of the fields that have a default other than null."""
        return tuple((n, f.default) for n, f in self.fields.items()
                     if f.default is not NO_DEFAULT and f.default is not None)

    @cached_property
    def completed_on_dump(self) -> bool:
        """Whether a valid value of it changes when dumped as the core is: a default to fill
        in, a number to make a float or a whole number, somewhere inside it."""
        return self.type == "number" or bool(self.defaults) \
            or any(inner.completed_on_dump for inner in self.children)

    @cached_property
    def holds_free_text(self) -> bool:
        return self.free_text or any(f.holds_free_text for f in self.fields.values()) \
            or (self.item is not None and self.item.holds_free_text)


def shape_of(schema: Mapping[str, Any]) -> Shape:
    """The shape a JSON Schema (with its `$defs`) describes."""
    return _Reader(schema.get("$defs", {})).read(schema)


class _Reader:
    def __init__(self, definitions: Mapping[str, Any]):
        self.definitions = definitions
        self.read_before: dict[str, Shape] = {}  # definition -> its shape

    def read(self, node: Mapping[str, Any]) -> Shape:
        ref = node.get("$ref")
        if ref and len(node) == 1:  # a plain reference: each definition is read once
            if ref not in self.read_before:
                self.read_before[ref] = self._read(self._resolved(node))
            return self.read_before[ref]
        return self._read(self._resolved(node))

    def _read(self, node: Mapping[str, Any]) -> Shape:
        variants = [v for v in node.get("anyOf", node.get("oneOf", []))
                    if v.get("type") != "null"]
        if len(variants) == 1:  # X or null
            inner = self.read(variants[0])
            return replace(inner, vocabulary=node.get("x-vocabulary", inner.vocabulary),
                           free_text=inner.free_text and node.get("x-free-text", True))
        if variants:
            return Shape()
        kind = node.get("type")
        if isinstance(kind, list):  # ["string", "null"]: a string or absent
            kinds = [k for k in kind if k != "null"]
            kind = kinds[0] if len(kinds) == 1 else None
        vocabulary = node.get("x-vocabulary") or (
            _CLDR_VOCABULARIES.get(node.get("title", ""), node.get("title"))
            if "enum" in node else None)
        default = node.get("default", NO_DEFAULT)
        if kind == "array":
            item = self.read(node.get("items", {}))
            return Shape("list", vocabulary or item.vocabulary, item=item, default=default,
                         assessable_items=node.get("x-assessable-items"),
                         collection=node.get("x-collection"))
        if kind == "object" or "properties" in node:
            return Shape("object", vocabulary, {name: self.read(inner) for name, inner in
                                                node.get("properties", {}).items()},
                         title=node.get("title"))
        if kind == "string":
            if node.get("format") in ("date", "date-time"):
                return Shape("date", vocabulary, default=default)
            free = (node.get("maxLength") or 0) >= FREE_TEXT_MIN_LENGTH and not (
                "pattern" in node or "enum" in node or "format" in node)
            return Shape("text", vocabulary, free_text=free and node.get("x-free-text", True),
                         default=default, references=node.get("x-references"))
        if kind == "integer":
            return Shape("number", vocabulary, default=default, integer=True)
        if kind == "number":
            return Shape("number", vocabulary, default=default)
        if kind == "boolean":
            return Shape("flag", vocabulary, default=default)
        return Shape(vocabulary=vocabulary, default=default)

    def _resolved(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        """A `$ref` to a definition replaced by it, the referring node's own keys kept."""
        ref = node.get("$ref")
        if not ref:
            return node
        name = ref.removeprefix("#/$defs/")
        return {**self.definitions[name], **{k: v for k, v in node.items() if k != "$ref"}}
