"""A rule edit cannot stop the rules service: patterns the engine cannot compile in bounded
time (durable-rules compiles them in C holding Python's lock: `((a*)*)*b` never finishes) are
refused by the rule language, by lint, and, for any the language misses, by a probe in a child
process with a time limit before the service's engine is built."""

import os
import shutil
import subprocess
import sys
import time

import pytest

from services.rules.adapters import pattern_probe
from services.rules.adapters.reloading import ReloadingEngine
from services.rules.core import operators
from services.rules.core.patterns import pattern_problems
from services.rules.factory import RuleFileError, engine_from_folder
from services.rules.tooling.lint import lint
from services.shared.metrics import ServiceMetrics
from tests.support import ROOT

NESTED = "((a*)*)*b"
RULE = "DD1-POLICY-PUBLIC"


def with_pattern(rules_dir, pattern: str, written: str = '"{}"') -> None:
    path = rules_dir / "dd1-policy.yaml"
    text = path.read_text()
    assert 'op: matches, value: "http://.*"' in text
    path.write_text(text.replace('op: matches, value: "http://.*"',
                                 f'op: matches, value: {written.format(pattern)}'))


@pytest.mark.parametrize(("pattern", "refused"), [
    ("http://.*", None), ("[A-Z]{2}-[0-9]+", None), ("([A-Z]{2})+", None), ("(ab|cd)*e", None),
    (NESTED, "itself repeats"), ("(a*)*b", "itself repeats"), ("(a+|b)*", "itself repeats"),
    ("(x{1,10}){1,10}", "itself repeats"), ("x{1,1000}", "more than 100 times"),
    ("[", "not a valid pattern"),
])
def test_the_language_refuses_patterns_the_engine_cannot_compile(pattern, refused):
    problems = pattern_problems(pattern)
    assert (refused is None and problems == []) or (refused and refused in problems[0])


def test_lint_reports_a_nested_repetition_at_its_rule(rules_copy):
    with_pattern(rules_copy, NESTED)
    [error] = lint(rules_copy)
    assert error.file.name == "dd1-policy.yaml" and RULE in error.message
    assert "itself repeats" in error.message


@pytest.mark.parametrize(("pattern", "written", "said"), [
    ("(x{1,1000})*", '"{}"', "'(x{1,1000})*' repeats more than 100 times; '(x{1,1000})*' "
     "repeats something that itself repeats (the engine cannot compile nested repetition in "
     "bounded time); write it without the inner repetition"),
    ("5", "{}", "'matches' on public_url needs a pattern (text), not 5"),
])
def test_lint_says_in_words_what_is_wrong_with_a_pattern(rules_copy, pattern, written, said):
    """Every problem of a pattern, and a pattern that is not text (which the engine refuses
    with only its error code 102 as the rules are loaded)."""
    with_pattern(rules_copy, pattern, written)
    assert [e.message for e in lint(rules_copy)] == [f"{RULE}: does not compile: {said}"]


def test_rules_test_ends_with_an_error_instead_of_hanging(rules_copy):
    with_pattern(rules_copy, NESTED)
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "services.cli", "rules", "test"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT,
                         env={**os.environ, "RULES_DIR": str(rules_copy)})
    assert run.returncode == 78 and "itself repeats" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
    assert time.monotonic() - started < 60


def test_the_probe_bounds_compilation_and_names_what_the_engine_refuses():
    unsafe = pattern_probe.unsafe_patterns([NESTED, "x{1,1000}", "a*b"], timeout=2)
    assert unsafe == {NESTED: "the engine does not compile it within 2 s",
                      "x{1,1000}": "the engine refuses it (Could not create ruleset, error "
                                   "code: 501)"}
    assert "a*b" in pattern_probe._PROVEN


def test_a_pattern_the_language_misses_never_reaches_the_services_engine(rules_copy,
                                                                          monkeypatch):
    """The probe is the bound for any pattern the language's check lets through."""
    monkeypatch.setattr(operators, "pattern_problems", lambda pattern: [])
    monkeypatch.setattr(pattern_probe, "PROBE_SECONDS", 2.0)
    with_pattern(rules_copy, NESTED)
    with pytest.raises(RuleFileError, match=rf"rule {RULE}: pattern .*within 2 s"):
        engine_from_folder(rules_copy)


def test_a_reload_with_such_a_pattern_keeps_the_last_good_rule_set(rules_copy, monkeypatch):
    from prometheus_client import CollectorRegistry

    metrics = ServiceMetrics.create("rules", CollectorRegistry())
    reloading = ReloadingEngine(rules_copy, engine_from_folder, metrics, interval=0)
    good = reloading.ruleset_version
    for check in (pattern_problems, lambda pattern: []):  # the language's check, the probe's
        monkeypatch.setattr(operators, "pattern_problems", check)
        monkeypatch.setattr(pattern_probe, "PROBE_SECONDS", 2.0)
        with_pattern(rules_copy, NESTED if check is pattern_problems else "(a*)*(b*)*")
        reloading.reload_if_changed()
        assert reloading.ruleset_version == good
        shutil.copy(ROOT / "rules" / "dd1-policy.yaml", rules_copy / "dd1-policy.yaml")
    assert metrics.rule_reloads.labels("failed")._value.get() == 2
