"""Settings every service shares, read from the environment (and nowhere else)."""

import os
from pathlib import Path
from typing import Any

import pika
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .covenants import BUNDLED_RULES
from .db import Database
from .logging import LEVELS
from .messaging.broker import Bounds, broker_parameters
from .topology import DEFAULT_DELIVERY_LIMIT


class ServiceSettings(BaseSettings):
    """Environment variables are the upper-case field names, e.g. AMQP_URL, PREFETCH.

    SECRETS_DIR names a folder of files named after settings (amqp_url, smtp_url,
    database_url, ...), as Docker and Kubernetes mount secrets: a file's content is the
    setting's value, and an environment variable of the same name wins over it."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    def __init__(self, **values: Any) -> None:
        super().__init__(_secrets_dir=os.environ.get("SECRETS_DIR") or None, **values)

    amqp_url: SecretStr = Field(
        SecretStr("amqp://guest:guest@127.0.0.1:5672/%2F"),
        description="RabbitMQ URL; amqps:// for TLS; a cluster's nodes separated by commas "
                    "(tried in turn). Holds a password: never logged.",
    )
    amqp_ca_file: Path | None = Field(
        None, description="CA certificates to verify the broker with (amqps://); default: the "
                          "system's.")
    amqp_cert_file: Path | None = Field(
        None, description="Client certificate (PEM) for a broker that requires one (amqps://).")
    amqp_key_file: Path | None = Field(
        None, description="Its private key, when not in AMQP_CERT_FILE.")
    amqp_heartbeat_s: int = Field(
        30, ge=1, le=600, description="Client heartbeat: a broker node silent for one to two "
        "intervals is taken as gone and the next node is tried. Keep it above the longest "
        "handling time (no heartbeat goes out while a handler works).")
    amqp_connect_timeout_s: float = Field(
        10.0, gt=0, description="Bound on opening a broker connection (TCP and the AMQP "
        "handshake, which a frozen node never answers).")
    amqp_blocked_timeout_s: float = Field(
        60.0, gt=0, description="A connection the broker blocks (a memory or disk alarm) this "
        "long is closed and opened again.")
    prefetch: int = Field(32, ge=1, le=10_000, description="Unacked deliveries per consumer.")
    delivery_limit: int = Field(
        DEFAULT_DELIVERY_LIMIT, ge=1,
        description="Deliveries of one message before it is dead-lettered (x-delivery-limit); "
        "the notify queue allows four times as many.",
    )
    stop_timeout_s: float = Field(
        30.0, gt=0, description="On SIGTERM, how long to wait for in-flight confirms.")
    rules_dir: Path = Field(
        BUNDLED_RULES, description="The policy folder: the rule files (*.yaml), their reference "
        "data (reference/) and the covenant definitions with their assessment frameworks "
        "(covenants/<name>/), which every service reads; default: this project's rules/. "
        "Restart the services after adding or changing a covenant.")
    metrics_port: int | None = Field(None, description="Port of the Prometheus /metrics endpoint.")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR.")

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, level: str) -> str:
        if level.upper() not in LEVELS:
            raise ValueError(f"one of {', '.join(LEVELS)}")
        return level.upper()
    database_url: SecretStr = Field(  # each service describes what it keeps there
        SecretStr("sqlite:///var/covenant.sqlite3"),
        description="sqlite:///path or postgresql://user@host:5432/db")
    database_migrate: bool = Field(
        True, description="Bring the database schema to this release's at start (true), or "
                          "only check it is and refuse to start otherwise (false: run "
                          "`covenant db upgrade` as a deployment step).")

    def database(self) -> "Database":
        """The service's database (DATABASE_URL), migrated or checked per DATABASE_MIGRATE."""
        return Database(self.database_url.get_secret_value(), migrate=self.database_migrate)

    def broker(self) -> list[pika.URLParameters]:
        """Connection parameters for each broker node (see messaging/broker.py)."""
        return broker_parameters(self.amqp_url.get_secret_value(), ca_file=self.amqp_ca_file,
                                 cert_file=self.amqp_cert_file, key_file=self.amqp_key_file,
                                 bounds=Bounds(self.amqp_heartbeat_s, self.amqp_connect_timeout_s,
                                               self.amqp_blocked_timeout_s))
