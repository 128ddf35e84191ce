"""The `covenant` command's entry point: what must happen before the CLI's modules load."""

import gc
import sys


def console() -> None:
    """A `check` is a short process that makes many objects as it starts (modules, models, the
    compiled rules) and frees few of them: the cyclic garbage collector, run again and again
    over them, took a sixth of a cold check. It is off until the rules are built; then what
    start-up made is frozen out of its reach and it runs again, for the plans' own garbage
    (`services.cli.started`; each evaluation pauses it, `services/shared/collector.py`)."""
    if sys.argv[1:2] == ["check"]:
        gc.disable()
    from services.cli import console as run

    run()
