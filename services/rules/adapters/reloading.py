"""Hot reload: picks up edited rule files and reference data without a restart.

Before an evaluation, at most every `interval` seconds, the rules folder is hashed; when its
version changed, a complete new engine is built (a fresh durable-rules host: the engine cannot
re-register a ruleset name) and swapped in. This runs in the consumer's thread between two
messages, so no message is lost or handled twice by a reload. A broken edit keeps the last good
rule set active, is logged with its errors (file names and messages, never plan data), counted,
and tried again only once the files change again. The covenant definitions are part of the
folder: a reload makes the process work with the new ones (its labels, the plans it reads);
the other services take them when they restart.
"""

import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from services.rules.adapters.rulefiles import version_of
from services.rules.core.prior import Prior
from services.rules.ports import RuleEngine
from services.shared import covenants
from services.shared.contracts import Finding, PlanSubmission
from services.shared.logging import get_logger
from services.shared.metrics import ServiceMetrics

log = get_logger()


class ReloadingEngine:
    def __init__(self, rules_dir: Path, build: Callable[[Path], RuleEngine],
                 metrics: ServiceMetrics, interval: float = 2.0,
                 clock: Callable[[], float] = time.monotonic):
        self._build = build
        self._dir = rules_dir
        self._metrics = metrics
        self._interval = interval
        self._clock = clock
        self._engine = build(rules_dir)
        self._checked_at = clock()
        self._refused: str | None = None  # a version that failed to load
        metrics.ruleset_loaded.set(1)

    @property
    def ruleset_version(self) -> str:
        return self._engine.ruleset_version

    def evaluate(self, plan: PlanSubmission, prior: Prior | None = None) -> list[Finding]:
        self.reload_if_changed()
        return self._engine.evaluate(plan, prior)

    def due_on(self, covenant: str, reporting_year: int) -> date | None:
        return self._engine.due_on(covenant, reporting_year)

    def reload_if_changed(self) -> None:
        now = self._clock()
        if now - self._checked_at < self._interval:
            return
        self._checked_at = now
        try:
            version = version_of(self._dir)
        except OSError as e:  # the folder is being replaced: try again next time
            log.warning("rules folder unreadable", error=type(e).__name__)
            return
        if version in (self._engine.ruleset_version, self._refused):
            return
        try:
            engine = self._build(self._dir)
        except Exception as e:  # any broken edit: keep the last good rule set
            self._refused = version
            self._metrics.rule_reloads.labels("failed").inc()
            self._metrics.ruleset_loaded.set(0)
            log.error("rule reload failed; the previous rule set stays active",
                      active=self._engine.ruleset_version, refused=version,
                      error=str(e)[:1000])
            return
        previous, self._engine, self._refused = self._engine.ruleset_version, engine, None
        covenants.use(engine.rulebook.covenants)
        self._metrics.rule_reloads.labels("ok").inc()
        self._metrics.ruleset_loaded.set(1)
        log.info("rules reloaded", previous=previous, active=engine.ruleset_version,
                 rules=len(engine.rulebook.rules))
