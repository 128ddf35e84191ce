"""Composition root of the rules service."""

from collections.abc import Iterable

from prometheus_client import CollectorRegistry

from services.rules.adapters.history import SqlAssessmentHistory
from services.rules.adapters.reloading import ReloadingEngine
from services.rules.adapters.signals import CsvSignalRegister, SqlSignalRegister
from services.rules.factory import engine_from_folder
from services.rules.handlers import RulesHandler
from services.rules.ports import RuleEngine
from services.rules.settings import RulesSettings
from services.shared.db import Database
from services.shared.metrics import ServiceMetrics
from services.shared.runner import run_service


def build_engine(settings: RulesSettings, only: Iterable[str] | None = None) -> RuleEngine:
    return engine_from_folder(settings.rules_dir, only)


def build_handler(settings: RulesSettings, metrics: ServiceMetrics,
                  db: Database | None = None) -> RulesHandler:
    engine = ReloadingEngine(settings.rules_dir, engine_from_folder, metrics,
                             settings.rules_reload_interval_s)
    db = db or settings.database()
    history = SqlAssessmentHistory(db)
    signals = (CsvSignalRegister(settings.signals_file) if settings.signals_file
               else SqlSignalRegister(db))
    return RulesHandler(engine, history, metrics, signals)


def main(settings: RulesSettings | None = None) -> None:
    settings = settings or RulesSettings()
    registry = CollectorRegistry()
    metrics = ServiceMetrics.create("rules", registry)
    db = settings.database()
    handler = build_handler(settings, metrics, db)
    run_service("rules", settings, handler, metrics, registry,
                {"rules": lambda: bool(handler.engine.ruleset_version),
                 "database": db.reachable})
