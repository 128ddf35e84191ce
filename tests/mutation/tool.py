"""Mutation testing of the modules that carry the promises (`make mutate`; `make test` runs the
`ci` profile).

    python -m tests.mutation --profile full --report docs/mutation-report.md
    python -m tests.mutation --profile ci

A profile (`profiles.yaml`) names the modules to mutate (and in each, the functions that carry
a promise, when not all do) and the test files that guard them.
mutmut (3.x) runs in a work folder of its own, `var/mutation/<profile>/`, that links to the
checkout and holds the profile as its `[tool.mutmut]` table, so the checkout's pyproject.toml
stays free of it and a profile's results are kept between runs. A profile with `carry: true`
(the long ones) goes on where its last run stopped: it tests only the mutants without a result,
those of functions changed since included (runner.py --resume). It also copies its results to
`tests/mutation/results/<profile>/` (mutmut's `<module>.py.meta`: each mutant's outcome and
each function's hash) to be committed: a run on another machine, where the work folder is new,
starts from them, so a run of hours can be finished over several sessions. The `ci` profile
does neither: `make test` tests every mutant afresh, so a weakened test is caught even where
the code did not change. Each run tests again the mutants no test detected last time (a test
may have been written for one since), but for those explained as equivalent or not worth a
test.

Every mutant that no test detects must be explained in `survivors.yaml`: either it is
equivalent or not worth a test (with the reason), or a test now kills it (and it must then be
killed: an entry that names a test but survives is a failure). The run fails when a survivor
is unexplained, when a named test does not kill its mutant, or when the score (detected mutants
over all mutants not declared equivalent) falls below the profile's `floor`.
"""

import argparse
import fnmatch
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = HERE / "results"  # <profile>/<module>.py.meta: the committed results
LINKED = ["services", "tests", "rules", "examples", "contracts", "deploy", "docs", "bench",
          "README.md", "setup.py", "MANIFEST.in"]
# mutmut's words for a mutant some test noticed; every other status ("survived", "no tests",
# "suspicious") needs an explanation, but for "not checked": the run stopped before it
DETECTED = {"killed", "timeout", "segfault", "caught by type check", "crashed"}
UNCHECKED = "not checked"


def status_of(code: int | None) -> str:
    """mutmut's word for a test run's exit code. A run killed by a signal mutmut has no word
    for (SIGABRT: the rules engine's C code aborts on facts a mutant broke) crashed, as a
    segfault does; mutmut would call it "suspicious"."""
    from mutmut.stats import status_by_exit_code

    if code is not None and code < 0 and code not in status_by_exit_code:
        return "crashed"
    return status_by_exit_code[code]


@dataclass(frozen=True)
class Mutant:
    name: str  # mutmut's key, e.g. services.rules.core.operators.x__compile_within__mutmut_16
    status: str
    was: str  # the original line(s) the mutant changes, stripped
    now: str  # the line(s) as the mutant has them, stripped
    seconds: float = 0.0  # how long its tests ran, in whichever sitting checked it

    @property
    def module(self) -> str:
        return self.name.rsplit("__mutmut_", 1)[0].rpartition(".")[0]

    @property
    def function(self) -> str:
        """`module.py::function` or `module.py::Class.method`."""
        key = self.name.rsplit("__mutmut_", 1)[0].rpartition(".")[2]
        if key.startswith("x\u01c1"):  # a method: xǁClassǁmethod
            name = ".".join(part for part in key[1:].split("\u01c1") if part)
        else:
            name = key[2:]  # a function: x_<name>
        return f"{self.module.replace('.', '/')}.py::{name}"


@dataclass(frozen=True)
class Explanation:
    function: str  # path::name, or a glob of them
    now: str | None  # the mutated line(s); None when `change` names a kind of change
    was: str | None
    change: str | None  # a kind of change that fits any line: "sql-case"
    equivalent: str | None  # why no test can tell it from the original
    ignored: str | None  # why it is not worth a test (log wording, say)
    killed_by: str | None  # the test that kills it

    def fits(self, mutant: Mutant) -> bool:
        if not fnmatch.fnmatchcase(mutant.function, self.function):
            return False
        if self.change is not None:
            return CHANGES[self.change](mutant.was, mutant.now)
        return (self.now is not None and _same(self.now, mutant.now)
                and (self.was is None or _same(self.was, mutant.was)))


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


_LITERAL = re.compile(r'"[^"]*"')
_SQLISH = re.compile(r"[?=,(]|\b(select|insert|update|delete|values|where|from|into|set|"
                     r"conflict|nothing|order by|like|true|false)\b", re.IGNORECASE)


def _sql_case(was: str, now: str) -> bool:
    """Only the letter case of SQL text changed: every changed string literal reads as SQL
    (a keyword, a placeholder, a list), and nothing outside the literals changed."""
    if was == now or was.lower() != now.lower():
        return False
    if _LITERAL.sub('""', was) != _LITERAL.sub('""', now):
        return False
    literals = zip(_LITERAL.findall(was), _LITERAL.findall(now), strict=True)
    changed = [a for a, b in literals if a != b]
    return bool(changed) and all(_SQLISH.search(text) for text in changed)


CHANGES = {"sql-case": _sql_case}


def load_explanations(path: Path) -> list[Explanation]:
    entries = yaml.safe_load(path.read_text()) or []
    explained = []
    for entry in entries:
        kinds = [k for k in ("equivalent", "ignored", "killed_by") if entry.get(k)]
        if len(kinds) != 1:
            raise SystemExit(f"{path}: {entry.get('function')} needs exactly one of "
                             f"equivalent, ignored, killed_by")
        if (entry.get("change") is None) == (entry.get("now") is None) or \
                entry.get("change") not in (None, *CHANGES):
            raise SystemExit(f"{path}: {entry.get('function')} needs `now` or a `change` "
                             f"of {', '.join(CHANGES)}")
        explained.append(Explanation(entry["function"], entry.get("now"), entry.get("was"),
                                     entry.get("change"), entry.get("equivalent"),
                                     entry.get("ignored"), entry.get("killed_by")))
    return explained


def prepare(profile_name: str, profile: dict[str, Any], debug: bool = False) -> Path:
    """The work folder: links to the checkout and a pyproject.toml with the profile."""
    work = ROOT / "var" / "mutation" / profile_name
    work.mkdir(parents=True, exist_ok=True)
    for name in LINKED:
        link = work / name
        if not link.is_symlink():
            link.symlink_to(ROOT / name)
    table = {
        "source_paths": ["services/"],
        "only_mutate": list(profile["mutate"]),
        "also_copy": [n + "/" if (ROOT / n).is_dir() else n for n in LINKED if n != "services"],
        "pytest_add_cli_args": ["-p", "no:xdist", "-p", "no:cacheprovider", "-o", "addopts=",
                                "-W", "ignore"],
        "pytest_add_cli_args_test_selection": profile["tests"],
        "use_git_change_detection": False,
        "timeout_multiplier": float(profile.get("timeout_multiplier", 15.0)),
        "debug": debug,
    }
    lines = [f"{key} = {json.dumps(value)}" for key, value in table.items()]
    text = (ROOT / "pyproject.toml").read_text()
    text = text.replace("\n[tool.mutmut]", "\n[tool.checkout-mutmut]")  # never two tables
    (work / "pyproject.toml").write_text(text + "\n[tool.mutmut]\n" + "\n".join(lines) + "\n")
    return work


def refresh_data_files(work: Path, checkout: Path = ROOT) -> None:
    """mutmut copies `services/` into the work folder once, and later makes again only its
    Python files: a data file changed since (a YAML of wording, a schema) would be tested in
    its old version. Copies that differ from the checkout are dropped; mutmut copies them
    again before the run."""
    copied = work / "mutants" / "services"
    if not copied.is_dir():
        return
    for path in copied.rglob("*"):
        if not path.is_file() or path.suffix in (".py", ".meta", ".pyc"):
            continue
        source = checkout / path.relative_to(work / "mutants")
        if not source.is_file() or source.read_bytes() != path.read_bytes():
            path.unlink()


def _metas(work: Path, profile_name: str, profile: dict[str, Any]) -> list[tuple[Path, Path]]:
    """(the work folder's, the committed) results file of each mutated module; none for a
    profile that does not carry its results."""
    return [(work / "mutants" / f"{path}.meta", RESULTS / profile_name / f"{path}.meta")
            for path in profile["mutate"]] if profile.get("carry") else []


def keep_results_when_tests_are_added(work: Path, tests: list[str]) -> None:
    """Before a run: mutmut forgets every result once the profile's tests differ from those of
    its last run (it keeps a hash of them with its statistics of which test reaches which
    function). When tests were only added, no result can be wrong (a new test can only detect
    more, and the undetected are tested again anyway), so the statistics are dropped instead:
    mutmut makes them anew and keeps its results. A removed test still makes it start over."""
    last = work / "tests.json"  # the tests of the last run
    if last.exists() and set(json.loads(last.read_text())) < set(tests):
        (work / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
    last.write_text(json.dumps(tests))


def seed(work: Path, profile_name: str, profile: dict[str, Any]) -> None:
    """Before a run: the committed results of each module the work folder has none of. mutmut
    keeps an outcome only while its function's hash is unchanged, so an edited function is
    tested again."""
    for local, kept in _metas(work, profile_name, profile):
        if kept.exists() and not local.exists():
            local.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(kept, local)


def retest_undetected(work: Path, profile: dict[str, Any], globs: list[str],
                      settled: frozenset[str] = frozenset()) -> None:
    """Before a run: the profile's mutants no test detected are tested again, as a test may
    have been written for one since (mutmut itself keeps an outcome while its function is
    unchanged). They are few; the detected ones keep their outcome, and so do the `settled`
    (explained as equivalent or not worth a test: no test is meant to detect them)."""
    for path in profile["mutate"]:
        meta = work / "mutants" / f"{path}.meta"
        if not meta.exists():
            continue
        data = json.loads(meta.read_text())
        codes = data["exit_code_by_key"]
        again = [name for name, code in codes.items() if code is not None
                 and status_of(code) not in DETECTED
                 and name not in settled
                 and any(fnmatch.fnmatchcase(name, glob) for glob in globs)]
        if again:
            codes.update(dict.fromkeys(again))
            meta.write_text(json.dumps(data, indent=4))


def settled(work: Path, globs: list[str], explanations: list[Explanation]) -> frozenset[str]:
    """The undetected mutants of the last run explained as equivalent or not worth a test.
    None in a new work folder: their changed lines are read from mutmut's copy of the sources,
    which the run makes, so there they are all tested again."""
    try:
        mutants = collect(work, globs)
    except FileNotFoundError:
        return frozenset()
    outcome = judge(mutants, explanations)
    return frozenset(outcome.explained)


def keep(work: Path, profile_name: str, profile: dict[str, Any]) -> None:
    """After a run (or a judging of the last): its results, to commit."""
    for local, kept in _metas(work, profile_name, profile):
        if local.exists():
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(local, kept)


def selection(profile: dict[str, Any]) -> list[str]:
    """mutmut's names (globs) of the mutants of the profile's functions: `f` is
    `x_f__mutmut_<n>`, `C.m` is `xǁCǁm__mutmut_<n>`, `*` is every function of the module."""
    globs = []
    for path, functions in profile["mutate"].items():
        module = path.removesuffix(".py").replace("/", ".")
        for function in functions or ["*"]:
            if function == "*":
                globs.append(f"{module}.x*")
            elif "." in function:
                cls, _, method = function.partition(".")
                globs.append(f"{module}.x\u01c1{cls}\u01c1{method}__mutmut_*")
            else:
                globs.append(f"{module}.x_{function}__mutmut_*")
    return globs


def mutmut_command(globs: list[str], children: int | None, resume: bool) -> list[str]:
    """`mutmut run` of the profile's mutants, through runner.py (its timeouts signal only
    their own test runs); `resume`: only those without a result, as a long profile goes on over
    several sittings. Without it every one is tested again, as the `ci` profile must."""
    command = [sys.executable, str(HERE / "runner.py"), "run", *globs]
    if resume:
        command.append("--resume")
    if children:
        command += ["--max-children", str(children)]
    return command


def run_mutmut(work: Path, globs: list[str], children: int | None, resume: bool) -> float:
    command = mutmut_command(globs, children, resume)
    started = time.monotonic()
    with open(work / "mutmut.log", "w") as log:
        done = subprocess.run(command, cwd=work, stdout=log, stderr=subprocess.STDOUT)
    seconds = time.monotonic() - started
    (work / "seconds").write_text(f"{seconds:.0f}\n")
    if done.returncode != 0:
        tail = (work / "mutmut.log").read_text()[-3000:]
        raise SystemExit(f"mutmut failed (exit {done.returncode}); the end of "
                         f"{work / 'mutmut.log'}:\n{tail}")
    return seconds


def collect(work: Path, globs: list[str]) -> list[Mutant]:
    """Every mutant of the profile with its status and change, read through mutmut's API
    (the version is pinned in requirements-dev.lock)."""
    os.chdir(work)  # mutmut reads its configuration and results relative to the folder
    try:
        return _read(globs)
    finally:
        os.chdir(ROOT)


def _read(globs: list[str]) -> list[Mutant]:
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.utils.file_utils import walk_mutatable_files

    mutants = []
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        for name, code in sorted(data.exit_code_by_key.items()):
            if not any(fnmatch.fnmatchcase(name, glob) for glob in globs):
                continue
            status = status_of(code)
            was = now = ""
            if status not in DETECTED and status != UNCHECKED:
                diff = get_diff_for_mutant(name, path=path).splitlines()
                was = "\n".join(x[1:].strip() for x in diff
                                if x.startswith("-") and not x.startswith("---"))
                now = "\n".join(x[1:].strip() for x in diff
                                if x.startswith("+") and not x.startswith("+++"))
            mutants.append(Mutant(name, status, was, now, data.durations_by_key.get(name, 0.0)))
    return mutants


@dataclass
class Outcome:
    mutants: list[Mutant]
    explained: dict[str, Explanation]  # mutant name -> its explanation
    unexplained: list[Mutant]
    not_killed: list[tuple[Mutant, Explanation]]  # named a test, yet undetected
    unchecked: list[Mutant]  # the run stopped before them (mutmut resumes there)

    @property
    def score(self) -> float:
        """Detected over the mutants checked, but for those declared equivalent."""
        counted = [m for m in self.mutants if m.status != UNCHECKED
                   and not (m.name in self.explained and self.explained[m.name].equivalent)]
        detected = sum(m.status in DETECTED for m in counted)
        return detected / len(counted) if counted else 1.0


def judge(mutants: list[Mutant], explanations: list[Explanation]) -> Outcome:
    explained: dict[str, Explanation] = {}
    unexplained, not_killed, unchecked = [], [], []
    for m in mutants:
        if m.status in DETECTED:
            continue
        if m.status == UNCHECKED:
            unchecked.append(m)
            continue
        fit = next((e for e in explanations if e.fits(m)), None)
        if fit is None:
            unexplained.append(m)
        elif fit.killed_by:
            not_killed.append((m, fit))
        else:
            explained[m.name] = fit
    return Outcome(mutants, explained, unexplained, not_killed, unchecked)


def unrun(profile: dict[str, Any], explanations: list[Explanation]) -> list[Explanation]:
    """Explanations of this profile's mutants whose `killed_by` test the profile does not
    run: mutmut can never see it kill its mutant (its file, or the test itself, must be in
    `tests`)."""
    modules = tuple(f"{path}::" for path in profile["mutate"])
    run = set(profile["tests"])
    return [e for e in explanations if e.killed_by and e.function.startswith(modules)
            and e.killed_by not in run and e.killed_by.partition("::")[0] not in run]


def report(profile_name: str, profile: dict[str, Any], outcome: Outcome, seconds: float,
           explanations: list[Explanation]) -> str:
    by_module: dict[str, Counter[str]] = {}
    for m in outcome.mutants:
        counts = by_module.setdefault(m.module.replace(".", "/") + ".py", Counter())
        counts["mutants"] += 1
        counts["detected" if m.status in DETECTED else m.status] += 1
        if m.name in outcome.explained:
            e = outcome.explained[m.name]
            counts["equivalent" if e.equivalent else "ignored"] += 1
    lines = [
        f"# Mutation testing: profile `{profile_name}`",
        "",
        "Written by `make mutate` (`python -m tests.mutation --profile full --report ...`); "
        "do not edit by hand. Explanations live in `tests/mutation/survivors.yaml`.",
        "",
        f"- mutmut over {len(profile['mutate'])} modules, guarded by tests of "
        f"{len({t.partition('::')[0] for t in profile['tests']})} files; "
        f"{len(outcome.mutants)} mutants, whose tests ran "
        f"{_duration(sum(m.seconds for m in outcome.mutants))} in all (for each mutant, the "
        f"run that gave its outcome, summed over the sittings; several run at once); the last "
        f"sitting {_duration(seconds)} on {os.cpu_count()} cores",
        f"- score (detected over the mutants checked and not equivalent): "
        f"**{outcome.score:.1%}**",
        f"- not checked, as the run stopped before them: **{len(outcome.unchecked)}**",
        f"- unexplained survivors: **{len(outcome.unexplained)}**; tests named to kill a "
        f"mutant that did not: **{len(outcome.not_killed)}**",
        "",
        "| module | mutants | detected | survived | no tests | equivalent | ignored "
        "| not checked |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for module, c in sorted(by_module.items()):
        lines.append(f"| `{module}` | {c['mutants']} | {c['detected']} | {c['survived']} | "
                     f"{c['no tests']} | {c['equivalent']} | {c['ignored']} | {c[UNCHECKED]} |")
    sections = [
        ("Killed by a test written for it", [e for e in explanations if e.killed_by],
         lambda e: f"killed by `{e.killed_by}`"),
        ("Equivalent", sorted({e for e in outcome.explained.values() if e.equivalent},
                              key=_in_order), lambda e: e.equivalent),
        ("Not worth a test", sorted({e for e in outcome.explained.values() if e.ignored},
                                    key=_in_order), lambda e: e.ignored),
    ]
    for title, entries, why in sections:
        lines += ["", f"## {title} ({len(entries)})", ""]
        for e in entries:
            what = f"any {e.change} change" if e.change else f"`{_one_line(e.now or '')}`"
            lines.append(f"- `{e.function}`: {what}: {why(e)}")
    if outcome.unexplained:
        lines += ["", "## Unexplained survivors", ""]
        lines += [f"- `{m.function}` ({m.status}): `{_one_line(m.was)}` -> `{_one_line(m.now)}`"
                  for m in outcome.unexplained]
    return "\n".join(lines) + "\n"


def floor_for(score: float) -> float:
    """The highest floor of three decimals that the score meets (rounded, 0.99786 would give
    0.998, which the same results then fail)."""
    return math.floor(score * 1000 + 1e-9) / 1000


def _in_order(e: Explanation) -> tuple[str, ...]:
    """By function, then by line: the same for every run (a set's order is not, as text
    hashes differ from one process to the next), so a report changes only with its content."""
    return e.function, e.change or "", e.now or "", e.was or ""


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def _one_line(text: str) -> str:
    return " / ".join(text.splitlines()).replace("|", "\\|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--report", type=Path, help="write the Markdown report here")
    parser.add_argument("--children", type=int, help="parallel mutants (default: every core)")
    parser.add_argument("--fresh", action="store_true",
                        help="forget earlier results, this folder's and the committed ones")
    parser.add_argument("--no-run", action="store_true", help="judge the last run's results")
    parser.add_argument("--debug", action="store_true", help="mutmut prints every pytest run")
    args = parser.parse_args(argv)

    profiles = yaml.safe_load((HERE / "profiles.yaml").read_text())
    if args.profile not in profiles:
        parser.error(f"no profile {args.profile!r}; profiles.yaml has {', '.join(profiles)}")
    profile = profiles[args.profile]
    work = prepare(args.profile, profile, args.debug)
    if args.fresh:
        subprocess.run(["rm", "-rf", str(work / "mutants")], check=True)
    else:
        seed(work, args.profile, profile)
    globs = selection(profile)
    explanations = load_explanations(HERE / "survivors.yaml")
    if args.no_run:
        timed = work / "seconds"
        seconds = float(timed.read_text()) if timed.exists() else 0.0
    else:
        refresh_data_files(work)
        keep_results_when_tests_are_added(work, profile["tests"])
        retest_undetected(work, profile, globs, settled(work, globs, explanations))
        seconds = run_mutmut(work, globs, args.children, bool(profile.get("carry")))
    keep(work, args.profile, profile)
    outcome = judge(collect(work, globs), explanations)
    text = report(args.profile, profile, outcome, seconds, explanations)
    if args.report:
        args.report.write_text(text)
    print(text.split("\n| module")[0])
    failures = [f"unexplained survivor in {m.function} ({m.status}): {m.was!r} -> {m.now!r}"
                for m in outcome.unexplained]
    failures += [f"{e.killed_by} was to kill {m.function}: {m.now!r}, but it {m.status}"
                 for m, e in outcome.not_killed]
    failures += [f"{e.killed_by} is named to kill a mutant of {e.function}, but the profile "
                 f"does not run it: add it to its tests" for e in unrun(profile, explanations)]
    if outcome.unchecked:
        failures.append(f"{len(outcome.unchecked)} mutants were not checked: run again to "
                        f"finish (mutmut goes on where it stopped)")
    floor = float(profile.get("floor", 0.0))
    if outcome.score < floor:
        failures.append(f"score {outcome.score:.2%} is below the floor {floor:.2%}")
    elif (raised := floor_for(outcome.score)) >= floor + 0.001:
        print(f"The score is above the floor: raise `floor` of {args.profile} in "
              f"tests/mutation/profiles.yaml to {raised:.3f} (it only goes up).")
    for failure in failures:
        print("FAIL:", failure)
    return 1 if failures else 0
