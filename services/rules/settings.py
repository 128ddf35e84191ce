from pathlib import Path

from pydantic import Field, SecretStr

from services.shared.settings import ServiceSettings


class RulesSettings(ServiceSettings):
    database_url: SecretStr = Field(
        SecretStr("sqlite:///var/covenant.sqlite3"),
        description="Assessments of earlier years: sqlite:///path or postgresql://...",
    )
    signals_file: Path | None = Field(
        None, description="A register of signals forwarded to companies kept outside this "
        "system (CSV: company_id, covenant, signal_ref, forwarded_on); unset: the register in "
        "the database (`covenant signals add`, the console).")
    rules_reload_interval_s: float = Field(
        2.0, ge=0, description="How often the rules service looks for edited rule files.")
