from pathlib import Path

from pydantic import Field

from services.rules.settings import BUNDLED_RULES
from services.shared.settings import ServiceSettings


class ConsoleSettings(ServiceSettings):
    console_host: str = Field("127.0.0.1", description="Address the console listens on.")
    console_port: int = Field(8080, ge=1, le=65535, description="Port of the console.")
    console_secure_cookies: bool = Field(
        True, description="Session cookies are Secure (sent over HTTPS only) and `__Host-` "
        "prefixed; false only for a console reached over plain HTTP on this machine.")
    console_threads: int = Field(4, ge=1, le=64, description="Requests served at once.")
    rules_dir: Path = Field(BUNDLED_RULES, description="The rule files, their reference data "
                            "(the covenant calendar) and the assessment frameworks "
                            "(frameworks/), as the rules service reads them.")
