"""The judge of `make mutate` (tests/mutation/tool.py): which survivors count as explained,
and what the score is."""

import ast
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from tests.mutation import runner, tool
from tests.mutation.tool import (
    Explanation,
    Mutant,
    judge,
    keep,
    refresh_data_files,
    report,
    retest_undetected,
    seed,
    selection,
)

MODULE = "services.notify.store"


def mutant(n: int, status: str, was: str = "", now: str = "",
           name: str = "xǁSqlNotificationStoreǁbegin") -> Mutant:
    return Mutant(f"{MODULE}.{name}__mutmut_{n}", status, was, now)


def explained(now=None, change=None, function="services/notify/store.py::*", **why):
    return Explanation(function, now, None, change, why.get("equivalent"), why.get("ignored"),
                       why.get("killed_by"))


def test_a_mutants_function_is_named_as_in_the_report():
    assert mutant(1, "killed").function == "services/notify/store.py::SqlNotificationStore.begin"
    assert mutant(1, "killed", name="x__now").function == "services/notify/store.py::_now"
    assert mutant(1, "killed", name="x_letters_for").function == \
        "services/notify/store.py::letters_for"


def test_the_profiles_functions_become_mutmuts_names():
    assert selection({"mutate": {"services/notify/domain.py": ["letters_for", "Secretariat.*"],
                                 "services/notify/store.py": None}}) == [
        "services.notify.domain.x_letters_for__mutmut_*",
        "services.notify.domain.xǁSecretariatǁ*__mutmut_*",
        "services.notify.store.x*"]


def test_only_the_letter_case_of_sql_text_is_an_sql_case_change():
    sql = explained(change="sql-case", equivalent="case-insensitive")
    fits = [
        ('"SELECT state FROM notify_ledger WHERE letter_key = ?"),',
         '"select state from notify_ledger where letter_key = ?"),', True),
        ('"excluded.legal_name, language = excluded.language, "',
         '"EXCLUDED.LEGAL_NAME, LANGUAGE = EXCLUDED.LANGUAGE, "', True),
        ('"ON CONFLICT (letter_key) DO NOTHING"), (key, "sending", _now()))',
         '"ON CONFLICT (letter_key) DO NOTHING"), (key, "SENDING", _now()))', False),
        ('return "new"', 'return "NEW"', False),
        ('cur.execute(self._db.sql("SELECT 1"))', 'CUR.EXECUTE(self._db.sql("select 1"))', False),
        ('"SELECT state"', '"SELECT status"', False),
    ]
    for was, now, expected in fits:
        assert sql.fits(mutant(1, "survived", was, now)) is expected, (was, now)


def test_survivors_are_judged_by_their_explanations_and_equivalents_leave_the_score():
    mutants = [mutant(1, "killed"), mutant(2, "timeout"),
               mutant(3, "survived", 'return "new"', 'return "NEW"'),
               mutant(4, "survived", "x = 1", "x = 2"),
               mutant(5, "no tests", "y = 1", "y = None"),
               mutant(6, "survived", "z = 1", "z = 0")]
    explanations = [explained('return "NEW"', equivalent="no reader"),
                    explained("x = 2", ignored="log wording"),
                    explained("z = 0", killed_by="tests/unit/test_x.py::test_z"),
                    explained("y = None", function="services/other.py::*", ignored="elsewhere")]
    outcome = judge(mutants, explanations)
    assert [m.name[-1] for m in outcome.unexplained] == ["5"]  # its explanation is elsewhere
    assert [(m.name[-1], e.killed_by) for m, e in outcome.not_killed] == [
        ("6", "tests/unit/test_x.py::test_z")]
    assert sorted(name[-1] for name in outcome.explained) == ["3", "4"]
    assert outcome.score == 2 / 5  # killed and timeout over all but the equivalent one


def test_a_test_named_to_kill_a_mutant_must_be_one_the_profile_runs():
    profile = {"mutate": {"services/notify/store.py": None},
               "tests": ["tests/unit/test_x.py", "tests/unit/test_y.py::test_one"]}
    named = [explained("a = 0", killed_by="tests/unit/test_x.py::test_any"),  # its file runs
             explained("b = 0", killed_by="tests/unit/test_y.py::test_one"),  # it runs
             explained("c = 0", killed_by="tests/unit/test_y.py::test_two"),  # not run
             explained("d = 0", killed_by="tests/unit/test_z.py"),  # not run
             explained("e = 0", killed_by="tests/unit/test_z.py",  # another module's
                       function="services/other.py::f"),
             explained("f = 0", ignored="log wording")]
    assert [e.now for e in tool.unrun(profile, named)] == ["c = 0", "d = 0"]
    # the committed profiles run every test their explanations name
    profiles = yaml.safe_load((tool.HERE / "profiles.yaml").read_text())
    explanations = tool.load_explanations(tool.HERE / "survivors.yaml")
    assert {name: tool.unrun(p, explanations) for name, p in profiles.items()} == {
        name: [] for name in profiles}


def test_mutants_a_stopped_run_left_unchecked_are_neither_survivors_nor_counted():
    outcome = judge([mutant(1, "killed"), mutant(2, "not checked"),
                     mutant(3, "survived", "x = 1", "x = 2")], [])
    assert [m.name[-1] for m in outcome.unchecked] == ["2"]
    assert [m.name[-1] for m in outcome.unexplained] == ["3"]
    assert outcome.score == 1 / 2


@pytest.mark.parametrize("carry", [True, False])
def test_a_long_profiles_results_go_on_on_another_machine_and_ci_always_starts_afresh(
        tmp_path, monkeypatch, carry):
    """`carry: true`: a run's results are copied to be committed, and a new work folder (a
    fresh checkout) starts from them, without overwriting results of its own."""
    monkeypatch.setattr(tool, "RESULTS", tmp_path / "results")
    profile = {"mutate": {"services/notify/store.py": None, "services/notify/domain.py": []},
               "carry": carry}
    first, second = tmp_path / "first", tmp_path / "second"
    (first / "mutants" / "services" / "notify").mkdir(parents=True)
    (first / "mutants" / "services" / "notify" / "store.py.meta").write_text('{"run": 1}')
    keep(first, "long", profile)
    kept = tmp_path / "results" / "long" / "services" / "notify"
    assert sorted(p.name for p in kept.glob("*")) == (["store.py.meta"] if carry else [])
    seed(second, "long", profile)
    seeded = second / "mutants" / "services" / "notify" / "store.py.meta"
    assert (seeded.read_text() if seeded.exists() else None) == ('{"run": 1}' if carry else None)
    if carry:
        seeded.write_text('{"run": 2}')  # its own results since: kept, not overwritten
        seed(second, "long", profile)
        assert seeded.read_text() == '{"run": 2}'


def test_only_the_long_profiles_carry_their_results():
    profiles = yaml.safe_load((tool.HERE / "profiles.yaml").read_text())
    assert {name for name, profile in profiles.items() if profile.get("carry")} == \
        {"full", "rules"}


def test_a_run_tests_again_the_mutants_no_test_detected_and_keeps_the_rest(tmp_path):
    """A test may have been written for a survivor since the last run: the next run tests it
    again (mutmut keeps an outcome while the function is unchanged). Only the profile's."""
    import json

    profile = {"mutate": {"services/notify/store.py": None}}
    meta = tmp_path / "mutants" / "services" / "notify" / "store.py.meta"
    meta.parent.mkdir(parents=True)
    store = "services.notify.store.xǁSqlNotificationStoreǁbegin__mutmut_"
    codes = {f"{store}1": 1, f"{store}2": 0, f"{store}3": 33, f"{store}4": None,
             f"{store}5": 36, "services.notify.other.x_f__mutmut_1": 0}
    meta.write_text(json.dumps({"exit_code_by_key": codes, "hash_by_function_name": {}}))
    globs = selection({"mutate": {"services/notify/store.py": ["SqlNotificationStore.begin"]}})
    original = meta.read_text()
    retest_undetected(tmp_path, profile, globs)
    assert json.loads(meta.read_text())["exit_code_by_key"] == {
        f"{store}1": 1, f"{store}2": None, f"{store}3": None, f"{store}4": None,
        f"{store}5": 36, "services.notify.other.x_f__mutmut_1": 0}
    # one explained as equivalent (or not worth a test) keeps its outcome: no test is meant to
    # detect it
    meta.write_text(original)
    retest_undetected(tmp_path, profile, globs, settled=frozenset({f"{store}2"}))
    assert json.loads(meta.read_text())["exit_code_by_key"] == {
        f"{store}1": 1, f"{store}2": 0, f"{store}3": None, f"{store}4": None,
        f"{store}5": 36, "services.notify.other.x_f__mutmut_1": 0}


def test_a_data_file_changed_since_the_last_run_is_copied_again(tmp_path):
    """mutmut makes the Python files again but keeps its first copy of any other file: a
    wording file edited since must not be tested in its old version."""
    checkout, work = tmp_path / "checkout", tmp_path / "work"
    for root in (checkout, work / "mutants"):
        (root / "services" / "i18n").mkdir(parents=True)
        (root / "services" / "i18n" / "same.yaml").write_text("a: 1\n")
    (checkout / "services" / "i18n" / "errors.yaml").write_text("new: 2\n")
    copies = work / "mutants" / "services" / "i18n"
    (copies / "errors.yaml").write_text("old: 1\n")
    (copies / "gone.yaml").write_text("x: 1\n")  # no longer in the checkout
    (copies / "store.py").write_text("# a mutated module: mutmut's own\n")
    (copies / "store.py.meta").write_text("{}")
    refresh_data_files(work, checkout)
    assert sorted(p.name for p in copies.iterdir()) == ["same.yaml", "store.py", "store.py.meta"]


def test_the_report_times_the_whole_run_over_its_sittings():
    """A long profile is checked over several sittings: the report sums each mutant's own test
    time, which its results keep, not only the last sitting's (none: `--no-run`)."""
    mutants = [mutant(1, "killed", now="a", was="b"), mutant(2, "timeout"),
               mutant(3, "not checked")]
    mutants = [replace(m, seconds=s) for m, s in zip(mutants, (3_000.0, 4_560.0, 0.0),
                                                     strict=True)]
    profile = {"mutate": {"services/notify/store.py": None}, "tests": [
        "tests/unit/test_x.py", "tests/unit/test_y.py::test_a", "tests/unit/test_y.py::test_b"]}
    text = report("full", profile, judge(mutants, []), 0.0, [])
    assert "guarded by tests of 2 files; 3 mutants, whose tests ran 2.1 h in all" in text
    assert "the last sitting 0 s" in text


def test_the_floor_a_run_proposes_is_one_its_own_score_meets():
    # rounded, a score of 0.99786 proposed 0.998, and the same results then failed it
    assert tool.floor_for(0.99786) == 0.997
    assert tool.floor_for(0.998) == 0.998 and tool.floor_for(1.0) == 1.0
    assert all(tool.floor_for(k / 2001) <= k / 2001 for k in range(2002))


def test_the_reports_explanations_come_in_the_same_order_in_every_process():
    """The report is committed: sorted by function alone, two explanations of one function
    came in the order of a set, which text hashing makes differ between runs."""
    code = """
import json, sys
from tests.mutation.tool import Explanation, Mutant, judge, report
module = "services.notify.store.xǁSqlNotificationStoreǁbegin__mutmut_"
lines = ["a = 1", "b = 2", "c = 3", "d = 4", "e = 5"]
mutants = [Mutant(f"{module}{n}", "survived", "x", now) for n, now in enumerate(lines)]
explanations = [Explanation("services/notify/store.py::*", now, None, None, "same", None, None)
                for now in reversed(lines)]
profile = {"mutate": {"services/notify/store.py": None}, "tests": []}
print(report("full", profile, judge(mutants, explanations), 0.0, explanations))
"""
    reports = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True, env={**os.environ, "PYTHONHASHSEED": str(seed)},
                              cwd=Path(__file__).resolve().parents[2]).stdout
               for seed in range(4)}
    [only] = reports
    listed = [line for line in only.splitlines() if line.startswith("- `services")]
    assert [line.split("`")[3] for line in listed] == ["a = 1", "b = 2", "c = 3", "d = 4",
                                                      "e = 5"]


def test_a_long_profile_resumes_with_only_the_mutants_without_a_result():
    """mutmut tests again every mutant named on its command line: a long profile's run goes
    through runner.py --resume, which keeps only those without a result; `ci` tests every one."""
    data = object()
    known = [(data, "m.x_f__mutmut_1", None), (data, "m.x_f__mutmut_2", 1),
             (data, "m.x_f__mutmut_3", 0), (data, "m.x_g__mutmut_1", None)]
    asked = []

    def collect(*, mutant_names):
        asked.append(mutant_names)
        return known, {"m.py": data}

    mutants, by_path = runner.pending(collect)(mutant_names=["m.x_*"])
    assert [name for _, name, _ in mutants] == ["m.x_f__mutmut_1", "m.x_g__mutmut_1"]
    assert by_path == {"m.py": data} and asked == [["m.x_*"]]
    # what it replaces in mutmut is still there, called as runner.py calls it (read, not
    # imported: mutmut reads its configuration as it loads)
    source = Path(importlib.util.find_spec("mutmut.__main__").origin).read_text()
    [collector] = [node for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)
                   and node.name == "collect_source_file_mutation_data"]
    assert [a.arg for a in collector.args.kwonlyargs] == ["mutant_names"]
    assert not collector.args.args

    long_run = tool.mutmut_command(["m.x_*"], 2, resume=True)
    assert long_run[1:] == [str(tool.HERE / "runner.py"), "run", "m.x_*", "--resume",
                            "--max-children", "2"]
    assert tool.mutmut_command(["m.x_*"], None, resume=False)[1:] == [
        str(tool.HERE / "runner.py"), "run", "m.x_*"]


def _wait_for(child: subprocess.Popen, seconds: float) -> int | None:
    try:
        return child.wait(seconds)
    except subprocess.TimeoutExpired:
        return None


def test_a_timeout_signals_only_the_test_run_it_was_set_for():
    """mutmut 3.8 signals a timed-out process id whatever holds it by then: ids come round
    again, and one stale timeout ended a whole sitting (runner.py)."""
    timeouts = runner.Timeouts()
    slow = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    timeouts.register(slow.pid, 0.2)
    assert _wait_for(slow, 20) == -signal.SIGXCPU  # its own run, still running: signalled

    again = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(2)"])
    timeouts.register(again.pid, 0.1)  # as if the id were a finished run's, given again...
    timeouts.register(again.pid, 60)  # ...to a later run with a timeout of its own
    assert _wait_for(again, 20) == 0  # the stale timeout passed it by

    # not a child of this process (a thread's id, say): never signalled, though it runs
    outsider = subprocess.Popen([sys.executable, "-c",
                                 "import os, subprocess, sys, time; child = subprocess.Popen("
                                 "[sys.executable, '-c', 'import time; time.sleep(2)']); "
                                 "print(child.pid, flush=True); sys.exit(child.wait())"],
                                stdout=subprocess.PIPE, text=True)
    assert outsider.stdout is not None
    grandchild = int(outsider.stdout.readline())
    assert not runner.still_running_child(grandchild)
    timeouts.register(grandchild, 0.05)
    assert _wait_for(outsider, 20) == 0  # the grandchild ended of itself
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 20
    while runner.still_running_child(ended.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not runner.still_running_child(ended.pid)  # ended, not yet reaped
    assert ended.wait(1) == 0  # and still there for its runner to reap


def test_the_runner_takes_the_place_of_mutmuts_timeouts_as_mutmut_calls_them():
    source = Path(importlib.util.find_spec("mutmut.workers.isolation").origin).read_text()
    assert "from mutmut.workers.timeout import register_timeout" in source
    calls = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
             and getattr(node.func, "id", None) == "register_timeout"]
    assert calls and all(len(c.args) + len(c.keywords) == 2 for c in calls)
    assert {k.arg for c in calls for k in c.keywords} <= {"pid", "timeout_s"}


@pytest.mark.parametrize("before, now, kept", [
    (["a.py"], ["a.py", "b.py"], False),  # a test added: statistics made anew, results kept
    (["a.py", "b.py"], ["a.py"], True),  # a test removed: mutmut starts over, as it should
    (["a.py"], ["a.py"], True),
    (None, ["a.py"], True),  # a first run
])
def test_adding_a_test_to_a_profile_keeps_its_results(tmp_path, before, now, kept):
    """mutmut forgets its results when the tests change (a hash kept with its statistics);
    when tests were only added, the statistics go instead."""
    stats = tmp_path / "mutants" / "mutmut-stats.json"
    stats.parent.mkdir()
    stats.write_text("{}")
    if before is not None:
        (tmp_path / "tests.json").write_text(json.dumps(before))
    tool.keep_results_when_tests_are_added(tmp_path, now)
    assert stats.exists() == kept
    assert json.loads((tmp_path / "tests.json").read_text()) == now


def test_a_test_run_killed_by_a_signal_detects_its_mutant():
    """The rules engine's C code aborts (SIGABRT) on facts a mutant broke: detected, as a
    segfault is; mutmut's own words stand for the codes it knows."""
    assert tool.status_of(-6) == "crashed" and "crashed" in tool.DETECTED
    assert (tool.status_of(-11), tool.status_of(1), tool.status_of(0), tool.status_of(None),
            tool.status_of(35)) == ("segfault", "killed", "survived", "not checked", "suspicious")
