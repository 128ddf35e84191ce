"""Writes the committed corpus of malformed submissions, tests/corpus/malformed/.

    python -m tests.corpus.generate

Deterministic. Two kinds of case:
- structural.jsonl: an example under examples/ with one value replaced (a wrong type, an unknown
  field, an impossible date, an unknown country or covenant, a duplicate id, a dangling
  reference), one line per case: {label, source, path, value, expect};
- bytes/: whole payloads with byte-level faults (JSON syntax, truncation, invalid UTF-8, UTF-16,
  deep nesting, odd top-level values), named in index.json with their `expect`.
`expect` is the JSON pointer under which ingest must report an error ("" for a fault of the
whole payload). tests/unit/test_bad_input.py feeds every case to ingest."""

import copy
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from services.shared import covenants
from services.shared.contracts.integrity import collections_for, references_for, walk

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SOURCES = ["textile-voorbeeld-mode-2019.json", "banking-voorbeeldbank-2019.json"]
DATES = ["2019-02-30", "2019-13-01", "0000-01-01", "19-03-01", "2019/03/01", "tomorrow"]


def pointer(path: tuple[Any, ...]) -> str:
    return "".join(f"/{str(p).replace('~', '~0').replace('/', '~1')}" for p in path)


def leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, node
    items = node.items() if isinstance(node, dict) else enumerate(node) \
        if isinstance(node, list) else ()
    for key, value in items:
        yield from leaves(value, (*path, key))


def at(document: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        document = document[p]
    return document


def changed(document: Any, path: list[Any] | tuple[Any, ...], value: Any) -> Any:
    copied = copy.deepcopy(document)
    parent = at(copied, path[:-1])
    parent[path[-1]] = value
    return copied


def wrong_type(value: Any) -> Any:
    """A value of another JSON type that no lax coercion turns back into the original's type."""
    if isinstance(value, bool):
        return "perhaps"
    if isinstance(value, int | float):
        return "many"
    if isinstance(value, str):
        return {"text": value}
    if isinstance(value, list):
        return {"items": value}
    if isinstance(value, dict):
        return [value]
    return None


def structural(doc: dict[str, Any]) -> Iterator[tuple[str, str, tuple[Any, ...], Any]]:
    """(label, expected pointer, path, new value) per fault; a wrong type for every third
    value."""
    for i, (path, value) in enumerate(leaves(doc)):
        if not path or path[:1] == ("schema",) or value is None:
            continue
        if path[-1] in ("submission_id",):  # identification survives to route the rejection
            continue
        if i % 3 == 0:
            yield "wrong-type", pointer(path), path, wrong_type(value)
        if isinstance(value, dict):
            yield "unknown-field", pointer((*path, "unexpected")), (*path, "unexpected"), 1
        if isinstance(value, str) and len(value) == 10 and value[4:5] == "-" \
                and value[:4].isdigit():
            yield "bad-date", pointer(path), path, DATES[len(path) % len(DATES)]
        if path[-1] in ("country", "hq_country") and isinstance(value, str):
            yield "unknown-country", pointer(path), path, "ZZ"
    yield "unknown-field", "/unexpected", ("unexpected",), True
    yield "unknown-covenant", "/submission/covenant", ("submission", "covenant"), "mining"
    covenant = covenants.current().get(doc["submission"]["covenant"])
    for lists in collections_for(covenant).values():
        for pattern, key in lists:
            items = list(walk(doc, pattern))
            if len(items) >= 2:
                path, _ = items[1]
                yield "duplicate-id", pointer(path[:-1]), (*path, key), items[0][1][key]
    for pattern, _collection in references_for(covenant):
        for path, value in list(walk(doc, pattern))[:1]:
            if isinstance(value, str) and not value.startswith("https://"):
                yield "dangling-reference", pointer(path), path, "NO-SUCH-ID"


def byte_faults(raw: bytes) -> Iterator[tuple[str, str, bytes]]:
    for fraction in (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99):
        yield "truncated", "", raw[:int(len(raw) * fraction)]
    yield "trailing-garbage", "", raw + b" }"
    yield "single-quotes", "", raw.replace(b'"', b"'")
    yield "invalid-utf8", "", raw.replace(b'"', b'"\xff\xfe', 1)
    yield "invalid-utf8", "", raw[:200] + b"\xc3\x28" + raw[200:]
    yield "utf16", "", raw.decode().encode("utf-16")
    yield "nan", "", raw.replace(b'"employees": ', b'"employees": NaN, "x": ', 1)
    yield "comment", "", b"// plan\n" + raw
    yield "duplicate-key", "", raw.replace(b"{", b'{"schema": "irbc-plan/1.0", ', 1)


CONSTANT: list[tuple[str, str, bytes]] = [
    ("empty", "", b""),
    ("whitespace", "", b" \n\t "),
    ("null", "", b"null"),
    ("array", "", b"[]"),
    ("string", "", b'"a plan"'),
    ("number", "", b"42"),
    ("empty-object", "", b"{}"),
    ("deep-nesting", "", b"[" * 100_000 + b"]" * 100_000),
    ("deep-nesting-object", "", b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
    ("huge-number", "", b'{"schema": "irbc-plan/1.0", "n": 1e999999}'),
    ("wrong-schema", "/schema", b'{"schema": "irbc-plan/9.9"}'),
    ("bom", "", b"\xef\xbb\xbf{}"),
]


def write() -> int:
    out = HERE / "bytes"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    index: dict[str, str] = {}
    lines = []
    for source in SOURCES:
        raw = (ROOT / "examples" / source).read_bytes()
        stem = source.split("-")[0]
        for label, expected, path, value in structural(json.loads(raw)):
            lines.append(json.dumps({"label": f"{stem}-{label}", "source": source,
                                     "path": list(path), "value": value, "expect": expected},
                                    ensure_ascii=False))
        for label, expected, body in byte_faults(raw):
            index[f"{len(index):03d}-{stem}-{label}"] = expected
            (out / f"{len(index) - 1:03d}-{stem}-{label}").write_bytes(body)
    for label, expected, body in CONSTANT:
        index[f"{len(index):03d}-{label}"] = expected
        (out / f"{len(index) - 1:03d}-{label}").write_bytes(body)
    (HERE / "structural.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (HERE / "index.json").write_text(json.dumps(index, indent=0, sort_keys=True) + "\n")
    return len(lines) + len(index)


if __name__ == "__main__":
    print(f"{write()} malformed submissions under {HERE}")
