from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator

from services.shared.contracts import Language
from services.shared.settings import ServiceSettings

from .domain import MAX_RECIPIENTS


class Webhook(BaseModel):
    url: str = Field(pattern=r"^https?://\S+$")
    secret: SecretStr


class NotifySettings(ServiceSettings):
    smtp_url: SecretStr | None = Field(
        None, description="smtp://user:pass@host:587 (STARTTLS) or smtps://...; unset: outbox.")
    smtp_ca_file: Path | None = Field(
        None, description="CA certificates to verify the SMTP server with (a private CA); "
                          "default: the system's.")
    outbox_dir: Path = Field(Path("outbox"), description="Where .eml files go without SMTP.")
    database_url: SecretStr = Field(
        SecretStr("sqlite:///var/covenant.sqlite3"),
        description="Delivery ledger and archive: sqlite:///path or postgresql://...",
    )
    mail_from: str = Field("IMVO-convenanten <noreply@imvo-convenanten.example>",
                           description="From header of every notification.")
    secretariat_addresses: dict[str, str] = Field(
        {"*": "secretariaat@imvo-convenanten.example"},
        description='JSON: covenant -> address, "*" for the default, '
                    'e.g. {"*": "a@x.nl", "banking": "b@x.nl"}.',
    )
    secretariat_contacts: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description='JSON: covenant (or "*") -> {"name", "phone"}: whom a letter tells the '
                    "reader to ask, beside the covenant's secretariat address (which is also "
                    'the Reply-To), e.g. {"*": {"name": "Secretariaat IMVO-convenanten", '
                    '"phone": "+31 70 000 0000"}}; default: "the covenant secretariat" in the '
                    "reader's language.")
    message_id_domain: str | None = Field(
        None, pattern=r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*"
                      r"[A-Za-z0-9])?)+$",
        description="The fully qualified domain of every Message-ID; default: MAIL_FROM's.")
    secretariat_language: Language = Field(Language.NL, description="nl or en.")
    secretariat_digest: bool = Field(
        False, description="true: the secretariat gets `covenant notify digest` (daily) instead "
                           "of one e-mail per assessment; rejections still come at once.")
    max_recipients: int = Field(
        MAX_RECIPIENTS, ge=1, le=100,
        description="Addresses in one letter, at most: the company's first contacts beyond it "
                    "get no copy.")
    company_letter: Literal["automatic", "after_review"] = Field(
        "automatic",
        description="automatic: the company gets the automatic pre-assessment at once; "
                    "after_review: only the secretariat does, and the company hears from the "
                    "feedback letter the console sends when a review is finalised.")
    webhooks: dict[str, Webhook] = Field(
        default_factory=dict,
        description='JSON: recipient -> {"url", "secret"}; recipients "company:<company id>", '
                    '"secretariat:<covenant>" or "secretariat:*". They get a signed POST instead '
                    "of an e-mail.",
    )

    @field_validator("secretariat_addresses")
    @classmethod
    def _has_default(cls, addresses: dict[str, str]) -> dict[str, str]:
        if "*" not in addresses:
            raise ValueError('needs a "*" entry: the address for covenants not listed')
        return addresses
