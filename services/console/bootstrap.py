"""Composition root of the console: the stores on the shared database, the covenant calendar
of the rules folder, the Flask app served by waitress, and the relay that publishes the
outbox's feedback events to RabbitMQ (AMQP_URL)."""

import secrets
import threading
from functools import partial
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from services.register.published import high_risk_in
from services.register.signals import SqlSignals
from services.register.store import SqlRegister
from services.rules.adapters.durable_engine import DurableRulesEngine
from services.rules.adapters.history import SqlAssessmentHistory
from services.rules.adapters.rulefiles import load_rulebook
from services.rules.factory import engine_from_folder
from services.rules.tooling.explain import explain
from services.rules.tooling.frameworks import criteria_of, load_frameworks
from services.shared.contracts.parsing import validate_plan
from services.shared.db import Database
from services.shared.logging import get_logger
from services.shared.messaging.pika_adapter import publish_confirmed
from services.shared.outbox import OutboxRelay, SqlOutbox

from .adapters import (
    SqlAccounts,
    SqlAssessments,
    SqlAuditLog,
    SqlReviews,
)
from .domain import Role
from .settings import ConsoleSettings
from .web import Stores, create_app

log = get_logger()


def build_stores(db: Database, rules_dir: Path | None = None) -> Stores:
    """The stores, the covenant calendar, and the assessment frameworks with the rules they
    score (RULES_DIR)."""
    settings = ConsoleSettings()
    folder = rules_dir or settings.rules_dir
    rulebook = load_rulebook(folder)
    frameworks = load_frameworks(folder)
    register = SqlRegister(db, rulebook.covenants, settings.thresholds())
    return Stores(SqlAccounts(db), SqlAssessments(db), SqlAuditLog(db),
                  rulebook.covenants.due_on, SqlReviews(db), SqlOutbox(db),
                  Explainer(folder, SqlAssessmentHistory(db)), frameworks,
                  {c: criteria_of(rulebook, c) for c in frameworks}, register,
                  SqlSignals(db, register, rulebook.covenants),
                  high_risk_in(folder))


class Explainer:
    """`covenant rules explain` for the console, with the company's earlier plans known. The
    engine is built on the first question (it takes a few seconds and some memory) and kept."""

    def __init__(self, rules_dir: Path, history: SqlAssessmentHistory):
        self._rules_dir, self._history = rules_dir, history
        self._lock = threading.Lock()
        self._engine: DurableRulesEngine | None = None

    def __call__(self, document: dict[str, Any], rule_id: str) -> list[str]:
        with self._lock:
            if self._engine is None:
                self._engine = engine_from_folder(self._rules_dir)
            plan = validate_plan(document)
            return explain(self._engine, plan, rule_id, self._history.prior(plan))


def main(settings: ConsoleSettings | None = None) -> None:
    from waitress import serve

    from services.shared.logging import configure_logging

    settings = settings or ConsoleSettings()
    configure_logging(settings.log_level)
    db = settings.database()
    db.ensure_schema()
    stores = build_stores(db, settings.rules_dir)
    # the feedback events, published with confirms; the broker away only delays them
    relay = OutboxRelay(stores.outbox, partial(publish_confirmed, settings.broker()))
    relay.start()
    app = create_app(stores, secure_cookies=settings.console_secure_cookies,
                     oidc=settings.oidc())
    log.info("console listening", host=settings.console_host, port=settings.console_port)
    try:
        serve(app, host=settings.console_host, port=settings.console_port,
              threads=settings.console_threads, ident="covenant-console")
    finally:
        relay.stop()


DEMO_DATABASE = Path("var/demo.sqlite3")  # where `make run` keeps what it assessed


def demo(database: Path = DEMO_DATABASE, port: int | None = None) -> int:
    """The console on the embedded defaults (`make console`): the database `make run` filled,
    plain HTTP on this machine, demo accounts with a password made for this start, and the
    feedback letters written by notify's own handler to the outbox folder. Demo accounts
    exist only here."""
    from waitress import create_server

    from services.notify.bootstrap import build_handler as build_notify
    from services.notify.settings import NotifySettings
    from services.shared.messaging.handling import Delivery, Outgoing
    from services.shared.metrics import ServiceMetrics

    if not database.exists():
        print(f"{database} does not exist: `make run` assesses the examples into it first")
        return 1
    settings = ConsoleSettings()
    db = Database(f"sqlite:///{database}")
    db.ensure_schema()
    stores = build_stores(db, settings.rules_dir)
    password = secrets.token_urlsafe(12)
    logins: list[tuple[str, Role, str | None, str | None, str]] = [
        ("secretariaat", Role.SECRETARIAT, None, None, "nl"),
        ("auditor", Role.AUDITOR, None, None, "en")]
    logins += [(f"bedrijf-{company.lower()}", Role.COMPANY, covenant, company, "nl")
               for covenant, company in stores.assessments.companies()]
    for username, role, covenant, company, language in logins:
        stores.accounts.remove(username)
        stores.accounts.add(username, password, role, covenant, company, language)
    notify_settings = NotifySettings(database_url=f"sqlite:///{database}")
    notify = build_notify(notify_settings, ServiceMetrics.create("notify", CollectorRegistry()),
                          db)

    def hand_to_notify(messages: list[Outgoing]) -> None:
        for m in messages:
            notify(Delivery(m.body, m.routing_key, message_id=m.message_id,
                            correlation_id=m.correlation_id))

    relay = OutboxRelay(stores.outbox, hand_to_notify, interval_s=1.0)
    relay.start()
    server = create_server(create_app(stores, secure_cookies=False), host="127.0.0.1",
                           port=port if port is not None else settings.console_port,
                           threads=settings.console_threads)
    print(f"The console: http://127.0.0.1:{server.effective_port}/\n"
          f"Log in as `secretariaat` (every covenant), `auditor` (reads only) or a company "
          f"({', '.join(u for u, *_ in logins[2:])}), password {password}\n"
          f"Feedback letters go to {notify_settings.outbox_dir}/. Ctrl-C stops.", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        relay.stop()
        server.close()
    return 0
