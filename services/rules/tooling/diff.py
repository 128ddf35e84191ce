"""What changes between two rule sets on the same plans: the findings that appear and
those that disappear."""

import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from services.rules.core.domain import RuleBook
from services.rules.factory import engine_for, load_rulebook
from services.rules.ports import RuleEngine
from services.shared.contracts import PlanInvalid, PlanSubmission, parse_plan


@dataclass(frozen=True)
class PlanDiff:
    plan: str
    appeared: list[str]
    disappeared: list[str]


def diff(base: RuleBook, head: RuleBook, plans: list[Path]) -> list[PlanDiff]:
    before, after = engine_for(base), engine_for(head)
    result = []
    for path in plans:
        try:
            plan = parse_plan(path.read_bytes())
        except PlanInvalid:
            continue
        old = set(_keys(before, plan))
        new = set(_keys(after, plan))
        result.append(PlanDiff(str(path), sorted(new - old), sorted(old - new)))
    return result


def _keys(engine: RuleEngine, plan: PlanSubmission) -> Iterator[str]:
    for f in engine.evaluate(plan):
        yield f"[{f.severity.value}] {f.rule_id} {', '.join(f.pointers)}"


def load_base(base: str, rules_dir: Path, workdir: Path) -> RuleBook:
    """The rule set at a folder, or at a git ref of the repository that holds `rules_dir`."""
    if Path(base).is_dir():
        return load_rulebook(Path(base))
    top = subprocess.run(["git", "-C", str(rules_dir), "rev-parse", "--show-toplevel"],
                         capture_output=True, text=True, check=True).stdout.strip()
    relative = rules_dir.resolve().relative_to(Path(top).resolve()).as_posix()
    archive = subprocess.run(["git", "-C", top, "archive", "--format=tar", base, relative],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(workdir, filter="data")
    return load_rulebook(workdir / relative)


def temporary_folder() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="covenant-rules-")
