"""Settings every service shares, read from the environment (and nowhere else)."""

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from .topology import DEFAULT_DELIVERY_LIMIT


class ServiceSettings(BaseSettings):
    """Environment variables are the upper-case field names, e.g. AMQP_URL, PREFETCH."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    amqp_url: SecretStr = Field(
        SecretStr("amqp://guest:guest@127.0.0.1:5672/%2F"),
        description="RabbitMQ URL; amqps:// for TLS. Holds a password: never logged.",
    )
    prefetch: int = Field(32, ge=1, le=10_000, description="Unacked deliveries per consumer.")
    delivery_limit: int = Field(
        DEFAULT_DELIVERY_LIMIT, ge=1,
        description="Deliveries of one message before it is dead-lettered (x-delivery-limit); "
        "the notify queue allows four times as many.",
    )
    stop_timeout_s: float = Field(
        30.0, gt=0, description="On SIGTERM, how long to wait for in-flight confirms.")
    metrics_port: int | None = Field(None, description="Port of the Prometheus /metrics endpoint.")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR.")
