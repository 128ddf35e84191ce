"""Evaluation time per plan, next to the bare durable-rules engine on the same facts.

Plans: textile with 50, 500 and 5,000 production locations; banks with 20,000 and 50,000
financings (the latter split over several engine states, see durable_engine.shards).

For each plan size: our `DurableRulesEngine.evaluate` (decomposing the plan into facts,
reference and measure facts, asserting them, building findings) and the rules service's handler
as a whole (decoding the accepted event, the company's earlier plans from a SQLite history,
evaluating, the assessment event, recording it in the history) against the bare engine
asserting the same, already prepared facts into the same compiled rulesets with no-op actions.
The bare engine is given each fact whole, as a plain use of durable-rules would; ours gives
it only the fields the ruleset's conditions read (`durable_engine.fields_read`).
Prints the medians and p99s, the ratios to the bare engine (issue 17's goal for the handler: at
most 1.3), and the time per plan part (flat when time grows linearly with plan size).

Then the three services' handlers (ingest, rules, notify) in one process, without the broker,
against the bare engine on a small (5 locations) and a realistic (200) plan: issue 17 asks 1.6
at most. Every comparison is timed in turn, round by round (`interleaved`): on a shared machine
the cores' speed drifts within a minute, and this keeps both sides of a ratio at one speed.
"""

import argparse
import contextlib
import copy
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import durable.engine as engine
from prometheus_client import CollectorRegistry

from bench.plans import bank_plan, distinct_plans, textile_plan
from services.pipeline import LocalPipeline
from services.rules.adapters.durable_engine import DurableRulesEngine
from services.rules.adapters.history import SqlAssessmentHistory
from services.rules.factory import engine_from_folder
from services.rules.handlers import RulesHandler
from services.shared.contracts import (
    PLANS_EXCHANGE,
    PlanSubmission,
    SubmissionAccepted,
    plan_routing_key_for,
)
from services.shared.covenants import BUNDLED_RULES
from services.shared.db import Database
from services.shared.logging import configure_logging
from services.shared.messaging.handling import Delivery, Outgoing
from services.shared.metrics import ServiceMetrics
from services.shared.topology import STAGES


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


def whole_handler(ours: DurableRulesEngine, plan: PlanSubmission, folder: Path
                  ) -> Callable[[], None]:
    """The rules service's handler on the plan's accepted event, history included."""
    db = Database(f"sqlite:///{folder}/history-{uuid.uuid4().hex}.sqlite3")
    handler = RulesHandler(ours, SqlAssessmentHistory(db),
                           ServiceMetrics.create("rules", CollectorRegistry()))
    event = SubmissionAccepted(correlation_id="bench", content_sha256="0" * 64, plan=plan)
    body = event.model_dump_json(by_alias=True).encode()

    def run() -> None:
        outcome = handler(Delivery(body, event.routing_key(), message_id=event.message_id))
        if outcome.after_publish:
            outcome.after_publish()
    return run


def interleaved(runs: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """The time of each run, once per round and in turn. On a shared machine the cores' speed
    drifts by a third and more within a minute: runs timed one after another would be compared
    at different speeds, runs timed in turn share each round's."""
    for run in runs.values():
        run()  # warm up
    found: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            found[name].append(time.perf_counter() - started)
    return found


def three_services(locations: int, rounds: int, folder: Path) -> Callable[[], dict[str, float]]:
    """Ingest's, the rules' and notify's handlers in one process, connected as `make run`
    connects them (services/pipeline.py: in-memory SQLite stores, the outbox): each call takes
    one plan of a company of its own through all three, and gives each one's time."""
    pipeline = LocalPipeline.on_embedded_defaults(outbox=folder / f"outbox-{uuid.uuid4().hex}")
    spent: dict[str, float] = {}
    for consumer in pipeline.consumers.values():
        def timed(delivery: Delivery, process: Any = consumer.process,
                  stage: str = consumer.stage) -> Any:
            started = time.perf_counter()
            try:
                return process(delivery)
            finally:
                spent[stage] = spent.get(stage, 0.0) + time.perf_counter() - started
        consumer.process = timed  # type: ignore[method-assign]
    bodies = iter(distinct_plans(locations, rounds + 1))  # and the warm-up's

    def run() -> dict[str, float]:
        spent.clear()
        body, message_id = next(bodies), str(uuid.uuid4())
        pipeline.broker.publish(Outgoing(PLANS_EXCHANGE, plan_routing_key_for(body), body,
                                         message_id, correlation_id=message_id))
        pipeline.broker.drain(pipeline.consumers)
        if set(spent) != set(STAGES):
            raise RuntimeError(f"the plan did not pass all three services: {sorted(spent)}")
        return dict(spent)
    return run


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
    print(f"{'plan':<28}{'evaluate':>10}{'handler':>10}{'p99':>10}{'bare':>10}{'p99':>10}"
          f"{'eval/bare':>10}{'handler/bare':>13}{'us/part':>9}")
    with tempfile.TemporaryDirectory() as folder:
        for covenant, size, unit, plan in cases:
            rounds = args.rounds or max(3, min(50, 20_000 // size))
            found = interleaved({"mine": lambda p=plan: ours.evaluate(p),
                                 "handler": whole_handler(ours, plan, Path(folder)),
                                 "bare": bare_engine(ours, plan)}, rounds)
            mine, handler, bare = found["mine"], found["handler"], found["bare"]
            base = statistics.median(bare)
            print(f"{f'{covenant}, {size:,} {unit}':<28}"
                  f"{statistics.median(mine) * 1e3:>8.1f}ms"
                  f"{statistics.median(handler) * 1e3:>8.1f}ms{p99(handler) * 1e3:>8.1f}ms"
                  f"{base * 1e3:>8.1f}ms{p99(bare) * 1e3:>8.1f}ms"
                  f"{statistics.median(mine) / base:>10.2f}"
                  f"{statistics.median(handler) / base:>13.2f}"
                  f"{statistics.median(handler) / size * 1e6:>9.1f}")
        print("\nthe three services' handlers in one process (no broker, in-memory SQLite, the "
              "outbox), in turn with the bare engine on the same plan (issue 17 asks 1.6 at most)")
        print(f"{'plan':<28}{'ingest':>10}{'rules':>10}{'notify':>10}{'three':>10}{'bare':>10}"
              f"{'three/bare':>12}")
        for locations in (5, 200):
            rounds = args.rounds or (100 if locations == 5 else 40)
            stages: list[dict[str, float]] = []
            services = three_services(locations, rounds, Path(folder))
            found = interleaved({"three": lambda into=stages, run=services: into.append(run()),
                                 "bare": bare_engine(ours, textile_plan(locations))}, rounds)
            base = statistics.median(found["bare"])
            each = {s: statistics.median(t[s] for t in stages[1:]) for s in STAGES}
            three = statistics.median(sum(t.values()) for t in stages[1:])
            print(f"{f'textile, {locations} locations':<28}"
                  + "".join(f"{each[s] * 1e3:>8.1f}ms" for s in STAGES)
                  + f"{three * 1e3:>8.1f}ms{base * 1e3:>8.1f}ms{three / base:>12.2f}")


if __name__ == "__main__":
    main()
