from pathlib import Path

from pydantic import Field

from services.shared.settings import ServiceSettings


class RulesSettings(ServiceSettings):
    rules_dir: Path = Field(Path("rules"), description="Folder of the rule files (*.yaml).")
