"""Plan size and cold start: how time and memory grow with a plan, and how long a self-check
takes from nothing.

Sizes: textile plans of 5,000 and 50,000 production locations, bank plans of 50,000, 200,000
and 1,000,000 financings, each measured as the rules service meets it. (200,000 is the first
size whose facts are parked, services/rules/adapters/parking.py: from it to a million shows how
parked plans grow.) A first process builds the
plan and writes the `submission.accepted` event that carries it (what ingest publishes); a
second, measured one loads the rules, reads the event's bytes, decodes them as the rules
service does (services/shared/messaging/handling.decode), evaluates the plan once to warm up
(rulesets, reference data) and then once timed. It reports the time, the findings, and the
process's peak memory (its high-water mark: the event's bytes, which the service holds until it
acknowledges them, the plan decoded from them, and the evaluation), next to its peak once the
event was decoded and its memory once the rules were loaded. Growth is linear when the time
per part stays flat from the smaller size to the larger: "x smallest" is the time per part
against the covenant's smallest size, "x smaller" against the next smaller (1.00 is linear).

Cold start: `covenant check` on the 2019 example as a whole process, against `python -c pass` in
the same run (the interpreter's own start, which no command can go below), with the cache of
policy files (services/shared/cache.py) empty and filled. Issue 17's goal: at most 150 ms.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = [("textile", 5_000), ("textile", 50_000),
         ("banking", 50_000), ("banking", 200_000), ("banking", 1_000_000)]
UNITS = {"textile": "locations", "banking": "financings"}
EXAMPLE = ROOT / "examples" / "textile-voorbeeld-mode-2019.json"
COVENANT = Path(sys.executable).with_name("covenant")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_event(covenant: str, size: int, path: Path) -> None:
    """Run in a child: the accepted event of a plan of the size, as ingest publishes it."""
    from bench.plans import bank_plan, textile_plan
    from services.shared.contracts import SubmissionAccepted

    plan = textile_plan(size) if covenant == "textile" else bank_plan(size)
    event = SubmissionAccepted(correlation_id="bench", content_sha256="0" * 64,  # unread
                               plan=plan)
    path.write_bytes(event.model_dump_json(by_alias=True).encode())


def one(covenant: str, path: Path) -> dict[str, float]:
    """Run in the child: the event decoded, its plan evaluated (warm), timed and measured."""
    from services.rules.factory import engine_from_folder
    from services.rules.handlers import ACCEPTED
    from services.shared.covenants import BUNDLED_RULES
    from services.shared.logging import configure_logging
    from services.shared.messaging.handling import Delivery, decode

    configure_logging("WARNING")
    engine = engine_from_folder(BUNDLED_RULES, only={covenant})
    loaded = peak_mib()
    body = path.read_bytes()
    plan = decode(ACCEPTED, Delivery(body, "submission.accepted"), "submission.accepted").plan
    decoded = peak_mib()
    engine.evaluate(plan)
    started = time.perf_counter()
    findings = engine.evaluate(plan)
    return {"seconds": time.perf_counter() - started, "loaded_mib": loaded,
            "decoded_mib": decoded, "peak_mib": peak_mib(), "event_mib": len(body) / 2**20,
            "findings": len(findings)}


def measured(covenant: str, size: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        event = Path(folder) / "accepted.json"
        subprocess.run([sys.executable, "-m", "bench.scaling", "--event", covenant, str(size),
                        str(event)], cwd=ROOT, check=True)
        out = subprocess.run([sys.executable, "-m", "bench.scaling", "--one", covenant,
                              str(event)], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout
    return json.loads(out.splitlines()[-1])


def scaling() -> None:
    print(f"{'plan':<32}{'evaluate':>10}{'per part':>11}{'x smallest':>11}{'x smaller':>10}"
          f"{'peak':>10}{'decoded':>10}{'loaded':>10}{'event':>10}{'findings':>10}")
    smallest: dict[str, float] = {}
    smaller: dict[str, float] = {}
    for covenant, size in SIZES:
        m = measured(covenant, size)
        per_part = m["seconds"] / size
        smallest.setdefault(covenant, per_part)
        before = smaller.get(covenant, per_part)
        smaller[covenant] = per_part
        print(f"{f'{covenant}, {size:,} {UNITS[covenant]}':<32}{m['seconds']:>9.2f}s"
              f"{per_part * 1e6:>9.1f}us{per_part / smallest[covenant]:>11.2f}"
              f"{per_part / before:>10.2f}"
              f"{m['peak_mib']:>6.0f} MiB{m['decoded_mib']:>6.0f} MiB"
              f"{m['loaded_mib']:>6.0f} MiB{m['event_mib']:>6.0f} MiB{m['findings']:>10,.0f}")


def process(argv: list[str], rounds: int, env: dict[str, str] | None = None,
            before: Callable[[], None] = lambda: None) -> tuple[float, float]:
    """Median wall time and peak memory of a whole process, over the rounds (`before` runs
    ahead of each, untimed)."""
    times, peaks = [], []
    for _ in range(rounds + 1):  # the first warms the file cache and is not counted
        before()
        started = time.perf_counter()
        child = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, env=env)
        _, _, usage = os.wait4(child.pid, 0)  # this child's own, not every child's so far
        child.returncode = 0  # reaped here
        times.append(time.perf_counter() - started)
        peaks.append(usage.ru_maxrss / 1024)
    return statistics.median(times[1:]), statistics.median(peaks[1:])


def cold_start(rounds: int) -> None:
    """As an installed package starts: its modules' bytecode written once (an installed wheel
    has it; this checkout writes it on the first, uncounted, round). With an empty cache of
    policy files (a first run, or after an edit of the rules) and with the cache filled."""
    with tempfile.TemporaryDirectory() as folder:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["COVENANT_CACHE_DIR"] = folder
        command = [str(COVENANT), "check", str(EXAMPLE)]
        bare, _ = process([sys.executable, "-c", "pass"], rounds, env)
        empty, empty_peak = process(command, rounds, env,
                                    before=lambda: shutil.rmtree(folder, ignore_errors=True))
        cached, peak = process(command, rounds, env)
    print(f"{'cold start':<32}{'wall':>10}{'x python':>10}{'peak':>10}")
    print(f"{'python -c pass':<32}{bare * 1e3:>8.0f}ms{1:>10.2f}")
    for label, wall, memory in (("covenant check, first run", empty, empty_peak),
                                ("covenant check, cached", cached, peak)):
        print(f"{label:<32}{wall * 1e3:>8.0f}ms{wall / bare:>10.2f}{memory:>6.0f} MiB")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--event", nargs=3, metavar=("COVENANT", "SIZE", "FILE"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--one", nargs=2, metavar=("COVENANT", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=5, help="cold starts timed (default 5)")
    args = parser.parse_args()
    if args.event:
        write_event(args.event[0], int(args.event[1]), Path(args.event[2]))
        return
    if args.one:
        print(json.dumps(one(args.one[0], Path(args.one[1]))))
        return
    cold_start(args.rounds)
    scaling()


if __name__ == "__main__":
    main()
