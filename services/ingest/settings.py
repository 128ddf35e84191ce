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
