from pydantic import Field, SecretStr

from services.shared.settings import ServiceSettings

DEFAULT_MAX_SUBMISSION_BYTES = 20 * 1024 * 1024


class IngestSettings(ServiceSettings):
    max_submission_bytes: int = Field(
        DEFAULT_MAX_SUBMISSION_BYTES, ge=1, description="Largest accepted plan body in bytes.")
    database_url: SecretStr = Field(
        SecretStr("sqlite:///var/covenant.sqlite3"),
        description="Ledger of accepted submissions: sqlite:///path or postgresql://...",
    )
    publishers: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Who may submit plans, per covenant, as JSON: {"textile": ["amqp-user"]}. '
        "Checked against the message's user_id property, which RabbitMQ validates against the "
        "publishing connection's user. Empty: no check (embedded mode, development).")
