"""`mutmut run`, with two mends: a long profile goes on where its last run stopped, and a
timeout never signals a process that is not the test run it was set for.

**Going on** (`--resume`, the profiles that carry their results): mutmut 3 tests again every
mutant named on its command line, even one it has a result for; it keeps known results only
when run without names, and then it tests every function of the modules, not only the
profile's. So a long profile named by its functions started over at every sitting (its
fastest mutants first) and got little further each time. With `--resume`, of the named
mutants only those without a result are tested. A mutant has no result when it was never
tested, when its function changed (mutmut then drops the function's results), or when
`tool.retest_undetected` set it to be tested again.

**Timeouts**: mutmut 3.8 sends SIGXCPU to a mutant's test run when its wall-clock time is up,
and leaves the timeouts of runs that ended in its queue: when one comes due, it signals that
process id whatever holds it by then. Test runs that start threads and processes use up
process ids quickly, so ids come round again (32,768 by default on Linux): on 2026-12-05 a
stale timeout hit a thread of mutmut's own process, whose id had been a finished run's, and
SIGXCPU ended the whole sitting (exit -24). It could as well end another mutant's run early
(a false "timeout", counted as detected) or a broker or database process. Here a timeout
signals only the run it was set for, while it still runs: the id is still an unreaped child
of this process, and no later run was given the same id since.

tool.py runs this file as a script in the work folder. It imports nothing of the checkout:
mutmut runs the work folder's copies of the tests, and a `tests` package imported from
elsewhere first would stand in their way.
"""

import heapq
import itertools
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

Collect = Callable[..., tuple[list[tuple[Any, str, int | None]], dict[str, Any]]]


def pending(collect: Collect) -> Collect:
    """mutmut's `collect_source_file_mutation_data`, keeping only the mutants without a result
    (each is (its file's data, its name, its exit code or None))."""
    def collect_pending(*, mutant_names: tuple[str, ...] | list[str]) -> tuple[
            list[tuple[Any, str, int | None]], dict[str, Any]]:
        mutants, by_path = collect(mutant_names=mutant_names)
        return [m for m in mutants if m[2] is None], by_path
    return collect_pending


class Timeouts:
    """In place of mutmut's `register_timeout`: after `seconds`, SIGXCPU to the test run
    `pid`, if it is still that run."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, int]] = []  # (when, pid, serial), soonest first
        self._latest: dict[int, int] = {}  # pid -> the serial of its latest timeout
        self._serials = itertools.count()
        self._changed = threading.Condition()
        self._watching = 0  # the process whose thread watches (a forked child starts its own)

    def register(self, pid: int, timeout_s: float) -> None:
        with self._changed:
            if self._watching != os.getpid():
                self._watching = os.getpid()
                threading.Thread(target=self._watch, name="mutant-timeouts",
                                 daemon=True).start()
            serial = next(self._serials)
            self._latest[pid] = serial
            heapq.heappush(self._due, (time.monotonic() + timeout_s, pid, serial))
            self._changed.notify()

    def _watch(self) -> None:
        with self._changed:
            while True:
                now = time.monotonic()
                while self._due and self._due[0][0] <= now:
                    _, pid, serial = heapq.heappop(self._due)
                    if self._latest.get(pid) == serial:
                        del self._latest[pid]
                        if still_running_child(pid):
                            os.kill(pid, signal.SIGXCPU)
                self._changed.wait(self._due[0][0] - now if self._due else None)


def still_running_child(pid: int) -> bool:
    """`pid` is a child of this process that has not ended (one that ended keeps its id until
    it is reaped; WNOWAIT leaves it to be reaped by its runner)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None
    except ChildProcessError:  # not a child of ours (any more)
        return False


def main(argv: list[str]) -> None:
    import mutmut.__main__ as mutmut
    import mutmut.workers.isolation as isolation

    isolation.register_timeout = Timeouts().register  # type: ignore[assignment]
    if "--resume" in argv:
        argv = [a for a in argv if a != "--resume"]
        mutmut.collect_source_file_mutation_data = pending(  # type: ignore[assignment]
            mutmut.collect_source_file_mutation_data)
    mutmut.cli(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
