"""`mutmut run` that goes on where the last run stopped: of the mutants named on its command
line, only those without a result are tested.

mutmut 3 tests again every mutant named on its command line, even one it has a result for; it
keeps known results only when run without names, and then it tests every function of the
modules, not only the profile's. So a long profile named by its functions started over at
every sitting (its fastest mutants first) and got little further each time. tool.py runs this
file as a script in the work folder, for the profiles that carry their results. A mutant has no
result when it was never tested, when its function changed (mutmut then drops the function's
results), or when `tool.retest_undetected` set it to be tested again.

It imports nothing of the checkout: mutmut runs the work folder's copies of the tests, and a
`tests` package imported from elsewhere first would stand in their way.
"""

import sys
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


def main(argv: list[str]) -> None:
    import mutmut.__main__ as mutmut

    mutmut.collect_source_file_mutation_data = pending(  # type: ignore[assignment]
        mutmut.collect_source_file_mutation_data)
    mutmut.cli(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
