"""The one place engines are built, for the service, the CLI, the tests and the tools: the rule
book of a rules folder (rule files and reference data) and the durable-rules engine for it.
Tooling and tests reach the adapters through here and the ports, never directly."""

from collections.abc import Iterable
from pathlib import Path

from services.rules.adapters.durable_engine import DurableRulesEngine
from services.rules.adapters.pattern_probe import engine_patterns
from services.rules.adapters.pattern_probe import unsafe_patterns as probe_patterns
from services.rules.adapters.rulefiles import (
    TESTS_SUFFIX,
    RuleFileError,
    declared_part_problems,
    load_rulebook,
    parameter_problems,
    rule_files,
)
from services.rules.core.domain import RuleBook

__all__ = ["TESTS_SUFFIX", "RuleFileError", "declared_part_problems", "engine_for",
           "engine_from_folder",
           "engine_patterns", "load_rulebook", "parameter_problems", "probe_patterns",
           "rule_files"]


def engine_for(rulebook: RuleBook) -> DurableRulesEngine:
    """An engine for a rule book already loaded (or changed, as the rule-case runner does)."""
    return DurableRulesEngine(rulebook)


def engine_from_folder(rules_dir: Path, only: Iterable[str] | None = None
                       ) -> DurableRulesEngine:
    """The engine for the rules folder's rule files and reference data (`only`: for these
    covenants' plans alone)."""
    return DurableRulesEngine(load_rulebook(rules_dir), only)
