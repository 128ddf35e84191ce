"""Composition root of the console: the stores on the shared database, the covenant calendar
of the rules folder, the Flask app, served by waitress."""

import structlog

from services.rules.adapters.reference_files import load_reference
from services.rules.settings import RulesSettings
from services.shared.db import Database

from .adapters import SqlAccounts, SqlAssessments, SqlAuditLog, SqlReviews
from .settings import ConsoleSettings
from .web import Stores, create_app

log = structlog.get_logger()


def build_stores(db: Database, rules: RulesSettings | None = None) -> Stores:
    reference = load_reference((rules or RulesSettings()).rules_dir / "reference")
    return Stores(SqlAccounts(db), SqlAssessments(db), SqlAuditLog(db), reference.due_on,
                  SqlReviews(db))


def main(settings: ConsoleSettings | None = None) -> None:
    from waitress import serve

    from services.shared.logging import configure_logging

    settings = settings or ConsoleSettings()
    configure_logging(settings.log_level)
    db = settings.database()
    db.ensure_schema()
    app = create_app(build_stores(db), secure_cookies=settings.console_secure_cookies)
    log.info("console listening", host=settings.console_host, port=settings.console_port)
    serve(app, host=settings.console_host, port=settings.console_port,
          threads=settings.console_threads, ident="covenant-console")
