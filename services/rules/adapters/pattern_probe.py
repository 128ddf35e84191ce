"""Every `matches` pattern is compiled by the engine in a child process, with a time limit,
before an engine that holds it is built in this one.

durable-rules compiles patterns in C while holding Python's lock, so a pattern whose
compilation does not end would freeze the whole service: the consuming thread, the health
endpoints, the signal handlers. The rule language already refuses the known cases (nested
repetition, core/patterns.py); this is the bound for any other: a pattern that does not compile
within PROBE_SECONDS, or that the engine refuses, is reported with the reason and never reaches
the service's engine. Patterns proven once are remembered for the life of the process, and in
the cache (shared/cache.py) under the engine's version, so a reload, a test run or the next
`covenant check` pays for new patterns only."""

import json
import subprocess
import sys
from collections.abc import Iterable
from functools import cache as once
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from services.shared import cache

PROBE_SECONDS = 10.0

_CHILD = """
import json, sys
from durable import engine
host = engine.Host()
for i, pattern in enumerate(json.load(sys.stdin)):
    try:
        host.set_rulesets({f"probe{i}": {"r": {"all": [{"m": {"$mt": {"x": pattern}}}],
                                               "run": lambda c: None}}})
        print(i, "ok", flush=True)
    except Exception as e:
        print(i, "refused", " ".join(str(e).split())[:200], flush=True)
"""

_PROVEN: set[str] = set()
_OK = b"ok"


@once
def _engine_build() -> str | None:
    """The engine's compiled library as installed (path, size, time): another build or version
    proves its patterns again; None (no cache) if it cannot be found. (Asking the package
    metadata for the version costs 40 ms.)"""
    spec = find_spec("durable_rules_engine")
    if spec is None or not spec.origin:
        return None
    stat = Path(spec.origin).stat()
    return f"{spec.origin} {stat.st_size} {stat.st_mtime_ns}"


def _key(pattern: str) -> bytes | None:
    build = _engine_build()
    return None if build is None else f"{build}\n{pattern}".encode()


def _proven(pattern: str) -> bool:
    key = _key(pattern)
    if pattern not in _PROVEN and key is not None and cache.get("patterns", key) == _OK:
        _PROVEN.add(pattern)
    return pattern in _PROVEN


def _remember(pattern: str) -> None:
    _PROVEN.add(pattern)
    key = _key(pattern)
    if key is not None:
        cache.put("patterns", key, _OK)


def engine_patterns(definitions: Any) -> list[str]:
    """Every pattern (`$mt`) in engine rule definitions, in order, without repeats."""
    found: dict[str, None] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$mt" and isinstance(value, dict):
                    found.update((v, None) for v in value.values() if isinstance(v, str))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(definitions)
    return list(found)


def unsafe_patterns(patterns: Iterable[str], timeout: float | None = None) -> dict[str, str]:
    """pattern -> why the engine cannot take it, for each pattern it cannot; each child gets
    `timeout` seconds (PROBE_SECONDS by default)."""
    timeout = PROBE_SECONDS if timeout is None else timeout
    todo = [p for p in dict.fromkeys(patterns) if not _proven(p)]
    unsafe: dict[str, str] = {}
    while todo:
        child = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            output, _ = child.communicate(json.dumps(todo), timeout=timeout)
            finished = True
        except subprocess.TimeoutExpired:
            child.kill()
            output, _ = child.communicate()
            finished = False
        done = 0
        for line in output.splitlines():
            index, verdict, *why = line.split(" ", 2)
            done = int(index) + 1
            if verdict == "ok":
                _remember(todo[int(index)])
            else:
                unsafe[todo[int(index)]] = f"the engine refuses it ({' '.join(why)})"
        if finished and done < len(todo):  # the child died: blame the pattern it was on
            unsafe[todo[done]] = f"the engine crashed compiling it (exit {child.returncode})"
        elif not finished:
            unsafe[todo[done]] = f"the engine does not compile it within {timeout:g} s"
        todo = todo[done + 1:]
    return unsafe
