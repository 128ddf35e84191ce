"""Evaluation time per plan, next to the bare durable-rules engine on the same facts.

Plans: textile with 50, 500 and 5,000 production locations; banks with 20,000 and 50,000
financings (the latter split over several engine states, see durable_engine.shards).

For each plan size: our `DurableRulesEngine.evaluate` (decomposing the plan into facts,
reference and measure facts, asserting them, building findings) against the bare engine
asserting the same, already prepared facts into the same compiled rulesets with no-op actions.
Prints median and p99 of each, their ratio (goal: at most 2), and the time per plan part (flat
when time grows linearly with plan size).
"""

import argparse
import contextlib
import copy
import statistics
import time
import uuid
from collections.abc import Callable

import durable.engine as engine

from bench.plans import bank_plan, textile_plan
from services.rules.adapters.durable_engine import DurableRulesEngine
from services.rules.factory import engine_from_folder
from services.shared.contracts import PlanSubmission
from services.shared.covenants import BUNDLED_RULES
from services.shared.logging import configure_logging


def bare_engine(ours: DurableRulesEngine, plan: PlanSubmission) -> Callable[[], None]:
    """The same rulesets and facts, straight into a fresh host; returns one evaluation."""
    host = engine.Host()
    rulesets = ours._rulesets[plan.covenant]
    host.set_rulesets(copy.deepcopy({
        rs.name: {rid: {**rule, "run": lambda c: None} for rid, rule in rs.rules.items()}
        for rs in rulesets}))
    facts = ours.facts(plan)
    # the same batches as the adapter: ordered, and split where one state cannot hold them
    prepared = [(rs.name, batch) for rs in rulesets for batch in ours.assertion_batches(rs, facts)]

    def once() -> None:
        for name, batch in prepared:
            sid = uuid.uuid4().hex
            try:
                for fact in batch:
                    with contextlib.suppress(engine.MessageNotHandledException):
                        host.assert_fact(name, {**fact, "sid": sid})
            finally:
                with contextlib.suppress(Exception):
                    host.delete_state(name, sid)

    def evaluate() -> None:
        for _ in range(3):  # the same false-duplicate retry as the adapter
            try:
                return once()
            except engine.MessageObservedException:
                continue

    return evaluate


def timings(run: Callable[[], object], rounds: int) -> list[float]:
    run()  # warm up
    found = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        found.append(time.perf_counter() - started)
    return found


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=0, help="runs per size (default: by size)")
    args = parser.parse_args()
    configure_logging("WARNING")
    ours = engine_from_folder(BUNDLED_RULES)
    cases = [("textile", n, "locations", textile_plan(n)) for n in (50, 500, 5_000)]
    cases += [("banking", n, "financings", bank_plan(n)) for n in (20_000, 50_000)]
    print(f"{'plan':<28}{'ours p50':>10}{'ours p99':>10}{'bare p50':>10}{'bare p99':>10}"
          f"{'ratio':>7}{'us/part':>9}")
    for covenant, size, unit, plan in cases:
        rounds = args.rounds or max(3, min(50, 20_000 // size))
        mine = timings(lambda p=plan: ours.evaluate(p), rounds)
        bare = timings(bare_engine(ours, plan), rounds)
        ratio = statistics.median(mine) / statistics.median(bare)
        print(f"{f'{covenant}, {size:,} {unit}':<28}"
              f"{statistics.median(mine) * 1e3:>8.1f}ms{p99(mine) * 1e3:>8.1f}ms"
              f"{statistics.median(bare) * 1e3:>8.1f}ms{p99(bare) * 1e3:>8.1f}ms"
              f"{ratio:>7.2f}{statistics.median(mine) / size * 1e6:>9.1f}")


if __name__ == "__main__":
    main()
