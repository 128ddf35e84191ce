"""Patterns of the `matches` operator, checked before the engine ever sees them.

durable-rules compiles a pattern into a state machine in C, holding Python's lock: a nested
repetition such as `((a*)*)*b` makes that compilation run forever, freezing the whole process
(health endpoints included), and a large counted repetition (`x{1,1000}`) is refused with an
error code. So a pattern is refused here when it repeats something that itself repeats, or
repeats more than MAX_REPEAT times; the engine adapter also compiles every pattern in a child
process with a time limit before it builds an engine (adapters/pattern_probe.py).

The structure is read with Python's own parser of regular expressions; the engine's dialect is
close to it for what a rule needs (classes, groups, alternatives, repetition)."""

import re
import re._parser as sre  # the structure of a pattern; no public API gives it
from typing import Any

MAX_REPEAT = 100  # the largest count a pattern may give (`{n,m}`); the engine's limit is lower


def pattern_problems(pattern: str) -> list[str]:
    """What is wrong with a pattern for the engine, in words; empty when nothing is."""
    try:
        parsed = sre.parse(pattern)
    except re.error as e:
        return [f"'{pattern}' is not a valid pattern: {e}"]
    problems: list[str] = []
    _walk(list(parsed), 0, pattern, problems)
    return sorted(set(problems))


def _walk(items: list[tuple[Any, Any]], depth: int, pattern: str, problems: list[str]) -> None:
    for op, argument in items:
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, high, body = argument
            if (high is not sre.MAXREPEAT and high > MAX_REPEAT) or low > MAX_REPEAT:
                problems.append(f"'{pattern}' repeats more than {MAX_REPEAT} times")
            # a fixed count ({3}) is a concatenation, harmless inside a repetition
            repeats = high is sre.MAXREPEAT or high > low
            if repeats and depth:
                problems.append(f"'{pattern}' repeats something that itself repeats (the engine "
                                "cannot compile nested repetition in bounded time); write it "
                                "without the inner repetition")
            _walk(list(body), depth + repeats, pattern, problems)
        elif op is sre.SUBPATTERN:
            _walk(list(argument[-1]), depth, pattern, problems)
        elif op is sre.BRANCH:
            for branch in argument[1]:
                _walk(list(branch), depth, pattern, problems)
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            _walk(list(argument[1]), depth, pattern, problems)
