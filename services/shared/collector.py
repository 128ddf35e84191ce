"""Python's cyclic garbage collector, paused around work that makes millions of objects and
few cycles: a plan's validation, facts and evaluation.

The collector runs whenever allocations outnumber frees by a threshold, and traverses more of
the objects alive the more of them there are: on a large plan it was half of ingest's time
(a bank's 50,000 financings: 2.3 s, 1.1 s paused) and a fifth of the rules' (textile's 50,000
locations; it made their time per location grow by a quarter from 5,000 to 50,000), at the
same peak memory. Objects without cycles go by reference counting whether it runs or not;
what cycles the work leaves are collected once it runs again.
"""

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """The collector off for the block; on again after it unless it was off before (work in
    overlapping threads: the one that turned it off turns it on)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
