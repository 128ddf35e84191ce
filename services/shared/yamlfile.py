"""YAML files that people edit (rule files, frameworks, covenant definitions): problems named by
file and line, found with the node tree PyYAML composes beside the data."""

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
# libyaml's loader where PyYAML was built with it (the wheels are): the rule files load about ten
# times faster than with the pure-Python one, which a cold `covenant check` mostly spent its time in
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: bytes | str) -> Any:
    """YAML as data (safe: no Python objects), with the fastest safe loader there is."""
    return yaml.load(text, Loader=LOADER)


@dataclass(frozen=True)
class LintError:
    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def read(path: Path) -> tuple[yaml.Node | None, Any, list[LintError]]:
    """The file's node tree and data, or the problem that stops reading it (invalid YAML, a key
    given twice in one mapping)."""
    text = path.read_text(encoding="utf-8")
    try:
        tree, document = yaml.compose(text, Loader=LOADER), yaml.load(text, Loader=LOADER)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        return None, None, [LintError(path, mark.line + 1 if mark else 1,
                                      f"not valid YAML: {e}")]
    return tree, document, [LintError(path, line, f"'{key}' is given twice in one place (YAML "
                                      "keeps only the last)")
                            for key, line in repeated_keys(tree)]


def validation_errors(path: Path, tree: yaml.Node | None, error: ValidationError,
                      what: str) -> list[LintError]:
    """A pydantic error as one problem per field, each at its line."""
    return [LintError(path, line_of(tree, err["loc"]),
                      f"{'/'.join(map(str, err['loc'])) or what}: {err['msg']}")
            for err in error.errors()]


def parse(path: Path, model: type[M], what: str) -> tuple[M | None, yaml.Node | None,
                                                        list[LintError]]:
    """The file as the model, with its node tree; or the problems (each with its line)."""
    tree, document, problems = read(path)
    if tree is None and problems:
        return None, None, problems
    try:
        return model.model_validate(document), tree, problems
    except ValidationError as e:
        return None, tree, problems + validation_errors(path, tree, e, what)


def line_of(tree: yaml.Node | None, loc: Iterable[Any]) -> int:
    """The line of the node at a path of keys and indexes; the deepest existing one's when
    the path goes further than the file."""
    node, line = tree, 1
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
