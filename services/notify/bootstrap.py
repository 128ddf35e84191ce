"""Composition root of the notify service."""

from prometheus_client import CollectorRegistry

from services.shared.db import Database
from services.shared.metrics import ServiceMetrics
from services.shared.runner import run_service

from .adapters import OutboxMailer, SmtpMailer
from .domain import Renderer, Secretariat
from .handlers import NotifyHandler, WebhookTarget
from .ports import Mailer
from .settings import NotifySettings
from .store import SqlNotificationStore


def build_mailer(settings: NotifySettings) -> Mailer:
    if settings.smtp_url is not None:
        ca_file = str(settings.smtp_ca_file) if settings.smtp_ca_file else None
        return SmtpMailer(settings.smtp_url.get_secret_value(), ca_file=ca_file)
    return OutboxMailer(settings.outbox_dir)


def build_store(settings: NotifySettings, db: Database | None = None) -> SqlNotificationStore:
    return SqlNotificationStore(db or settings.database())


def build_secretariat(settings: NotifySettings, digest: bool | None = None) -> Secretariat:
    return Secretariat(settings.secretariat_addresses, settings.secretariat_language,
                       settings.secretariat_digest if digest is None else digest,
                       settings.secretariat_contacts)


def build_renderer(settings: NotifySettings) -> Renderer:
    return Renderer(settings.message_id_domain)


def build_handler(settings: NotifySettings, metrics: ServiceMetrics,
                  db: Database | None = None) -> NotifyHandler:
    secretariat = build_secretariat(settings)
    webhooks = {recipient: WebhookTarget(hook.url, hook.secret.get_secret_value())
                for recipient, hook in settings.webhooks.items()}
    return NotifyHandler(build_mailer(settings), build_renderer(settings), secretariat,
                         settings.mail_from,
                         metrics, build_store(settings, db), webhooks,
                         max_recipients=settings.max_recipients,
                         company_letter=settings.company_letter)


def main(settings: NotifySettings | None = None) -> None:
    settings = settings or NotifySettings()
    registry = CollectorRegistry()
    metrics = ServiceMetrics.create("notify", registry)
    db = settings.database()
    run_service("notify", settings, build_handler(settings, metrics, db), metrics, registry,
                {"database": db.reachable})
