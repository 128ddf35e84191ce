"""The facts of a large plan's spread parts, parked between being made and being asserted
(services/rules/adapters/parking.py)."""

import gc
import subprocess
import sys
import textwrap
import tracemalloc
from datetime import date

import pytest

from bench.plans import bank_plan
from services.rules.adapters import durable_engine
from services.rules.adapters.durable_engine import DurableRulesEngine
from services.rules.adapters.parking import CHUNK, PARTS_PER_BUCKET, Parked
from services.rules.adapters.rulefiles import load_rulebook
from services.rules.core.vocabulary import parts_of
from tests.support import ROOT

KEYS = {"financing": "financing_id", "financing_chain": "financing_id"}


def facts(parts: int) -> list[dict]:
    """A financing fact per part, and two chain facts for every third, made after all the
    financings (as links are); values pickle gives back as they were."""
    made: list[dict] = [{"kind": "financing", "financing_id": f"F-{i}", "amount": 2**70 + i,
                         "start": date(2019, 1, 1 + i % 28), "countries": ["NL", "ID"]}
                        for i in range(parts)]
    made += [{"kind": "financing_chain", "financing_id": f"F-{i}", "value_chain": chain}
             for i in range(0, parts, 3) for chain in ("cocoa", "gold")]
    return made


def parked(made: list[dict], spill_at: int, parts: int) -> Parked:
    into = Parked(KEYS, spill_at, lambda: parts)
    for fact in made:
        into.add(fact)
    return into


def test_facts_that_fit_a_state_stay_as_they_were_made_without_counting_the_parts():
    """The parts are counted (a walk over a bank's financings) only for parking."""
    made = facts(100)
    kept = Parked(KEYS, len(made), parts=lambda: pytest.fail("the parts were counted"))
    for fact in made:
        kept.add(fact)
    assert not kept.spilled and len(kept) == len(made)
    [group] = kept.groups()
    assert group == made and all(a is b for a, b in zip(group, made, strict=True))


def test_parked_facts_come_back_whole_each_part_in_one_group_in_the_order_made():
    parts = 3 * PARTS_PER_BUCKET + 7
    made = facts(parts)
    kept = parked(made, spill_at=1_000, parts=parts)
    assert kept.spilled and len(kept) == len(made)
    groups = list(kept.groups())
    assert len(groups) == 4  # buckets of about PARTS_PER_BUCKET parts
    assert sorted(map(repr, (f for g in groups for f in g))) == sorted(map(repr, made))
    where: dict[str, set[int]] = {}
    for n, group in enumerate(groups):
        for fact in group:
            where.setdefault(fact["financing_id"], set()).add(n)
        # each group in the order made: a part's chains after every financing in it
        order = [next(i for i, f in enumerate(made) if f == fact) for fact in group[:50]]
        assert order == sorted(order)
    assert len(where) == parts and all(len(n) == 1 for n in where.values())
    assert all(len(g) > CHUNK for g in groups)  # compressed chunks and what was pending


def test_a_part_goes_to_the_same_bucket_in_every_process():
    """The bucket is a hash of the key's text that Python's own (seeded per process) is not."""
    script = textwrap.dedent("""
        from services.rules.adapters.parking import Parked
        into = Parked({"financing": "financing_id"}, 10, lambda: 5_000)
        for i in range(200):
            into.add({"kind": "financing", "financing_id": f"F-{i}"})
        print([sorted(f["financing_id"] for f in g) for g in into.groups()])
    """)
    seen = {subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, text=True,
                           capture_output=True, env={"PYTHONHASHSEED": seed}).stdout
            for seed in ("1", "2")}
    assert len(seen) == 1


@pytest.fixture(scope="module")
def rulebook():
    return load_rulebook(ROOT / "rules")


def test_an_evaluation_does_not_hold_a_large_plans_facts_at_once(rulebook, monkeypatch):
    """A bank of 20,000 financings over states of 2,000 facts, its spread facts parked past
    2,000: evaluating it holds at its peak less than half of what its facts take as dicts
    (held as dicts, 1.3 times that)."""
    monkeypatch.setattr(durable_engine, "MAX_FACTS_PER_RULESET", 2_000)
    monkeypatch.setattr(durable_engine, "PARK_FACTS_AT", 2_000)
    engine = DurableRulesEngine(rulebook)
    plan = bank_plan(20_000, clients=100)
    engine.evaluate(plan)  # reference data and rulesets warm
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        with parts_of("banking"):
            all_facts = engine._facts(plan, None)
        size = tracemalloc.get_traced_memory()[0] - before
        del all_facts
        gc.collect()
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        findings = engine.evaluate(plan)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert findings
    assert size > 20_000 * 500 and peak < size / 2, (peak, size)
