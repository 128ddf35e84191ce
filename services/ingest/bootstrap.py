"""Composition root of the ingest service."""

from prometheus_client import CollectorRegistry

from services.shared.db import Database
from services.shared.metrics import ServiceMetrics
from services.shared.runner import run_service

from .adapters import SqlSubmissionLedger
from .handlers import IngestHandler
from .settings import IngestSettings


def build_handler(settings: IngestSettings, db: Database | None = None) -> IngestHandler:
    ledger = SqlSubmissionLedger(db or settings.database())
    return IngestHandler(ledger, settings.max_submission_bytes, settings.publishers)


def main(settings: IngestSettings | None = None) -> None:
    settings = settings or IngestSettings()
    registry = CollectorRegistry()
    db = settings.database()
    run_service("ingest", settings, build_handler(settings, db),
                ServiceMetrics.create("ingest", registry), registry, {"database": db.reachable})
