"""The per-user cache of work that depends only on bytes (services/shared/cache.py): what the
policy files hold, the patterns the engine compiled. A hit gives exactly what the work would;
an edit is a new entry; a cache that is off, unwritable or damaged only costs time."""

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from services.rules.adapters import pattern_probe
from services.shared import cache, yamlfile

ROOT = Path(__file__).resolve().parents[2]
POLICY = b"""\
rules:
  - id: X-ONE
    since: 2019-01-01
    checked_at: 2024-05-06T07:08:09+02:00
    utc: 2024-05-06 07:08:09Z
    numbers: [1, 1.5, -0, true, null, "2019-01-01"]
    nested: {a: [{b: 2020-02-29}]}
    name: "Voorbeeld \\u00e9"
"""


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("COVENANT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "_unwritable", [])
    return tmp_path / "cache"


def entries(folder: Path, namespace: str) -> list[Path]:
    return sorted((folder / namespace).glob("*")) if (folder / namespace).is_dir() else []


def test_a_cached_file_reads_back_exactly_dates_and_times_included(folder):
    plain = yaml.load(POLICY, Loader=yamlfile.LOADER)
    first = yamlfile.load_yaml(POLICY)
    [entry] = entries(folder, "yaml")
    second = yamlfile.load_yaml(POLICY)
    assert first == second == plain
    rule = second["rules"][0]
    assert type(rule["since"]) is date and rule["since"] == date(2019, 1, 1)
    assert type(rule["checked_at"]) is datetime
    assert rule["checked_at"].utcoffset() == timedelta(hours=2)
    assert rule["utc"].tzinfo is not None and rule["utc"].utcoffset() == timedelta(0)
    assert rule["numbers"] == [1, 1.5, 0, True, None, "2019-01-01"]
    assert [type(n) for n in rule["numbers"][:3]] == [int, float, int]
    assert rule["nested"]["a"][0]["b"] == date(2020, 2, 29)
    assert entry.stat().st_mode & 0o077 == (folder / "yaml").stat().st_mode & 0o077 == 0


def test_the_second_read_comes_from_the_cache_not_the_yaml(folder, monkeypatch):
    yamlfile.load_yaml(POLICY)

    def no_parsing(*args, **kwargs):
        raise AssertionError("parsed although cached")

    monkeypatch.setattr(yaml, "load", no_parsing)
    assert yamlfile.load_yaml(POLICY)["rules"][0]["id"] == "X-ONE"
    assert yamlfile.load_yaml(POLICY.decode())["rules"][0]["id"] == "X-ONE"  # text or bytes


def test_an_edited_file_is_a_new_entry_never_the_old_data(folder):
    yamlfile.load_yaml(POLICY)
    edited = POLICY.replace(b"X-ONE", b"X-TWO")
    assert yamlfile.load_yaml(edited)["rules"][0]["id"] == "X-TWO"
    assert len(entries(folder, "yaml")) == 2


@pytest.mark.parametrize("text", [
    b"{1: one, 2: two}",              # keys that are not text would come back as "1", "2"
    b"!!set {a, b}",                  # a set
    b"data: !!binary aGVsbG8=",       # bytes
    b"{2019-01-01: new year}",        # a date as a key
])
def test_data_json_cannot_give_back_exactly_is_read_but_not_cached(folder, text):
    assert yamlfile.load_yaml(text) == yamlfile.load_yaml(text) == \
        yaml.load(text, Loader=yamlfile.LOADER)
    assert entries(folder, "yaml") == []


def test_a_damaged_entry_is_read_again_from_the_yaml(folder):
    yamlfile.load_yaml(POLICY)
    [entry] = entries(folder, "yaml")
    for damage in (b"{not json", b'{"\\u0000yaml": "nonsense"}', b""):
        entry.write_bytes(damage)
        assert yamlfile.load_yaml(POLICY) == yaml.load(POLICY, Loader=yamlfile.LOADER)


def test_off_means_no_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COVENANT_CACHE_DIR", cache.OFF)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert yamlfile.load_yaml(POLICY)["rules"][0]["id"] == "X-ONE"
    assert cache.folder() is None and list(tmp_path.iterdir()) == []


def test_by_default_the_users_cache_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("COVENANT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache.folder() == tmp_path / "covenant-compliance"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.folder() == tmp_path / "home" / ".cache" / "covenant-compliance"


def test_a_folder_that_cannot_be_written_is_passed_by_and_said_once(tmp_path, monkeypatch):
    import io
    import logging
    import threading

    import structlog

    from services.shared.logging import configure_logging

    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("COVENANT_CACHE_DIR", str(blocked))
    monkeypatch.setattr(cache, "_unwritable", [])
    stream, hooks = io.StringIO(), (sys.excepthook, threading.excepthook)
    try:
        configure_logging("WARNING", json=True, stream=stream)
        assert yamlfile.load_yaml(POLICY)["rules"][0]["id"] == "X-ONE"
        assert yamlfile.load_yaml(POLICY.replace(b"ONE", b"TWO"))["rules"][0]["id"] == "X-TWO"
    finally:  # the process's logging as it was, for the tests after this one
        sys.excepthook, threading.excepthook = hooks
        logging.getLogger().handlers.clear()
        structlog.reset_defaults()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["cache_unwritable"]
    assert str(tmp_path) not in stream.getvalue()


def test_a_pattern_proven_once_is_not_probed_again_by_the_next_process(folder, monkeypatch):
    monkeypatch.setattr(pattern_probe, "_PROVEN", set())
    assert pattern_probe.unsafe_patterns(["ab+c"]) == {}
    [entry] = entries(folder, "patterns")
    monkeypatch.setattr(pattern_probe, "_PROVEN", set())  # as a new process starts

    def no_child(*args, **kwargs):
        raise AssertionError("probed again")

    monkeypatch.setattr(subprocess, "Popen", no_child)
    assert pattern_probe.unsafe_patterns(["ab+c"]) == {}
    entry.unlink()  # an entry from another build of the engine would not be found either
    monkeypatch.setattr(pattern_probe, "_PROVEN", set())
    with pytest.raises(AssertionError, match="probed again"):
        pattern_probe.unsafe_patterns(["ab+c"])


def test_a_refused_pattern_is_never_remembered(folder, monkeypatch):
    monkeypatch.setattr(pattern_probe, "_PROVEN", set())
    refused = pattern_probe.unsafe_patterns(["x{1,1000}"], timeout=5)
    assert list(refused) == ["x{1,1000}"]
    assert entries(folder, "patterns") == [] and not pattern_probe._PROVEN


def test_a_cold_check_gives_the_same_report_from_an_empty_and_a_filled_cache(tmp_path):
    """The whole command, as a company runs it: the second run reads the cache the first
    filled, and prints and exits exactly alike (its output flushed before the quick exit)."""
    covenant = Path(sys.executable).with_name("covenant")
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"},
           "COVENANT_CACHE_DIR": str(tmp_path / "cache")}  # output buffered, as in a pipe
    plan = ROOT / "examples" / "textile-voorbeeld-mode-2019.json"
    runs = [subprocess.run([str(covenant), "check", str(plan)], capture_output=True,
                           env=env, cwd=tmp_path, timeout=120) for _ in range(2)]
    assert all(entries(tmp_path / "cache", kind)
               for kind in ("yaml", "yaml-repeated", "patterns", "plan-schema"))
    assert [r.returncode for r in runs] == [1, 1]
    assert runs[0].stdout == runs[1].stdout and runs[0].stdout.endswith(b")\n")
    assert len(runs[0].stdout.splitlines()) > 40 and runs[1].stderr == b""


def test_timezones_and_dates_of_every_kind_survive(folder):
    moments = [date(1, 1, 1), datetime(2024, 1, 1), datetime(2024, 1, 1, tzinfo=UTC),
               datetime(2024, 1, 1, 12, 30, 15, 250000, tzinfo=timezone(timedelta(hours=-5)))]
    encoded = yaml.safe_dump({"m": moments}).encode()
    yamlfile.load_yaml(encoded)
    again = yamlfile.load_yaml(encoded)["m"]
    assert again == moments and [type(m) for m in again] == [type(m) for m in moments]
    assert [getattr(m, "tzinfo", None) is None for m in again] == \
        [getattr(m, "tzinfo", None) is None for m in moments]


REPEATED = b"rules:\n  - id: X-ONE\n    title: one\n    title: two\n"


@pytest.mark.parametrize("text, problems", [(POLICY, []), (REPEATED, [4])])
def test_a_file_read_again_is_not_composed_and_keeps_its_problems_lines(folder, tmp_path,
                                                                        monkeypatch, text,
                                                                        problems):
    """The node tree gives the lines of a file's problems; a file read before takes its
    repeated keys from the cache, and its tree is made only when a line is asked for."""
    path = tmp_path / "rule.yaml"
    path.write_bytes(text)
    tree, first, found = yamlfile.read(path)
    assert [p.line for p in found] == problems and entries(folder, "yaml-repeated")

    def no_composing(*args, **kwargs):
        raise AssertionError("composed although cached")

    with monkeypatch.context() as patched:
        patched.setattr(yaml, "compose", no_composing)
        tree, again, found_again = yamlfile.read(path)
    assert again == first and found_again == found
    assert tree is not None and yamlfile.line_of(tree, ("rules", 0, "id")) == 2


def test_the_plans_schema_comes_from_the_cache_under_the_models_and_the_covenants(
        folder, monkeypatch, tmp_path):
    """Pydantic's work, kept under what it is made from: the same schema from the cache; a
    covenant defined beside the others makes a new entry, which names it."""
    from services.rules.core import vocabulary
    from services.shared import covenants
    from services.shared.contracts import PlanSubmission
    from tests import new_covenant

    registry = covenants.load(ROOT / "rules")
    with covenants.using(registry):
        made = PlanSubmission.model_json_schema(by_alias=True, mode="validation")
        assert vocabulary._core_schema(registry) == made
    with monkeypatch.context() as patched, covenants.using(registry):
        patched.setattr(PlanSubmission, "model_json_schema", lambda **_: pytest.fail("made"))
        assert vocabulary._core_schema(registry) == made
    assert len(entries(folder, "plan-schema")) == 1
    other = covenants.load(new_covenant.make(tmp_path)[0])
    with covenants.using(other):
        widened = vocabulary._core_schema(other)
    assert len(entries(folder, "plan-schema")) == 2 and widened != made
