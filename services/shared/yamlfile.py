"""YAML files that people edit (rule files, frameworks, covenant definitions): problems named by
file and line, found with the node tree PyYAML composes beside the data."""

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from services.shared import cache

M = TypeVar("M", bound=BaseModel)
# libyaml's loader where PyYAML was built with it (the wheels are): the rule files load about ten
# times faster than with the pure-Python one, which a cold `covenant check` mostly spent its time in
_FASTEST = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_FASTEST):  # type: ignore[misc,valid-type]
    """The fastest safe loader, refusing an impossible date (2016-17-04) as invalid YAML at
    its line: PyYAML's own raises a bare ValueError, which no reader of a file expects."""


def _timestamp(loader: Any, node: yaml.ScalarNode) -> date | datetime:
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError as e:
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value} is no date ({e})", node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
LOADER = _Loader
# Even libyaml's loader builds the data in Python (PyYAML's constructor): two thirds of a cold
# `covenant check` went into the 40-odd policy files. So what a file holds is kept as JSON in
# the cache (cache.py), under its bytes with PyYAML's version and loader. Dates and times are
# tagged objects; data JSON cannot give back exactly (keys that are not text, sets, binary) is
# not cached.
_SALT = f"{yaml.__version__}/{LOADER.__name__}/1\n".encode()
_TAG = "\u0000yaml"  # the key of an object that stands for a date or a time


def load_yaml(text: bytes | str) -> Any:
    """YAML as data (safe: no Python objects), with the fastest safe loader there is; from the
    cache when these bytes were read before."""
    raw = _SALT + (text.encode("utf-8") if isinstance(text, str) else text)
    kept = cache.get("yaml", raw)
    if kept is not None:
        try:
            return json.loads(kept, object_hook=_decoded)
        except (ValueError, KeyError, TypeError):
            pass  # damaged: read the YAML again
    data = yaml.load(text, Loader=LOADER)
    try:
        encoded = json.dumps(data, default=_encoded, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError):
        return data  # holds what JSON cannot keep
    if json.loads(encoded, object_hook=_decoded) == data:  # e.g. keys that are not text
        cache.put("yaml", raw, encoded)
    return data


def _encoded(value: Any) -> dict[str, str]:
    if isinstance(value, datetime):
        return {_TAG: "datetime", "iso": value.isoformat()}
    if isinstance(value, date):
        return {_TAG: "date", "iso": value.isoformat()}
    raise TypeError(type(value).__name__)


def _decoded(obj: dict[str, Any]) -> Any:
    kind = obj.get(_TAG)
    if kind is None:
        return obj
    return {"datetime": datetime, "date": date}[kind].fromisoformat(obj["iso"])


@dataclass(frozen=True)
class LintError:
    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class Tree:
    """A file's node tree, for the lines of its problems: composed when a line is first asked
    for (a file without problems never is; composing was a tenth of a cold `covenant check`)."""

    def __init__(self, text: bytes):
        self.text = text

    @functools.cached_property
    def node(self) -> yaml.Node | None:
        return yaml.compose(self.text, Loader=LOADER)


def read(path: Path) -> tuple[Tree | None, Any, list[LintError]]:
    """The file's node tree and data, or the problem that stops reading it (invalid YAML, a key
    given twice in one mapping)."""
    text = path.read_bytes()
    try:
        document = load_yaml(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        # the problem without PyYAML's "in <byte string>, line n": the line is ours to say
        said = " ".join(filter(None, (getattr(e, "context", None), getattr(e, "problem", None))))
        return None, None, [LintError(path, mark.line + 1 if mark else 1,
                                      f"not valid YAML: {said or e}")]
    tree = Tree(text)
    return tree, document, [LintError(path, line, f"'{key}' is given twice in one place (YAML "
                                      "keeps only the last)")
                            for key, line in _repeated_in(tree)]


def _repeated_in(tree: Tree) -> list[tuple[str, int]]:
    """`repeated_keys` of the file, from the cache when these bytes were read before."""
    key = _SALT + tree.text
    kept = cache.get("yaml-repeated", key)
    if kept is not None:
        try:
            return [(str(name), int(line)) for name, line in json.loads(kept)]
        except (ValueError, TypeError):
            pass  # damaged: compose the file again
    found = repeated_keys(tree.node)
    cache.put("yaml-repeated", key, json.dumps(found).encode())
    return found


def problems_of(error: ValidationError) -> list[tuple[list[str | int], str]]:
    """Each field's problem in a pydantic error: the path of keys and indexes in the file (a
    union member's tag, in parentheses, is not one; see rules/core/language.py) and the message,
    without pydantic's "Value error, " before the models' own words."""
    return [([step for step in err["loc"] if not (isinstance(step, str) and step[:1] == "(")],
             str(err["ctx"]["error"]) if err["type"] == "value_error" else err["msg"])
            for err in error.errors()]


def validation_errors(path: Path, tree: Tree | None, error: ValidationError,
                      what: str) -> list[LintError]:
    """A pydantic error as one problem per field, each at its line."""
    return [LintError(path, line_of(tree, loc), f"{'/'.join(map(str, loc)) or what}: {message}")
            for loc, message in problems_of(error)]


def parse(path: Path, model: type[M], what: str) -> tuple[M | None, Tree | None,
                                                        list[LintError]]:
    """The file as the model, with its node tree; or the problems (each with its line)."""
    tree, document, problems = read(path)
    if tree is None and problems:
        return None, None, problems
    try:
        return model.model_validate(document), tree, problems
    except ValidationError as e:
        return None, tree, problems + validation_errors(path, tree, e, what)


def line_of(tree: Tree | None, loc: Iterable[Any]) -> int:
    """The line of the node at a path of keys and indexes; the deepest existing one's when
    the path goes further than the file."""
    node, line = (tree.node if tree is not None else None), 1
    for step in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == step), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) \
                and step < len(node.value):
            node = node.value[step]
        else:
            node = None
    return node.start_mark.line + 1 if node is not None else line


def repeated_keys(node: yaml.Node | None) -> list[tuple[str, int]]:
    """(key, line) of each key that a mapping in the tree holds more than once."""
    found: list[tuple[str, int]] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                found.append((key.value, key.start_mark.line + 1))
            seen.add(key.value)
            found += repeated_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            found += repeated_keys(item)
    return found
