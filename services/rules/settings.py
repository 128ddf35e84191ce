from pathlib import Path

from pydantic import Field

from services.shared.settings import ServiceSettings

BUNDLED_RULES = Path(__file__).resolve().parents[2] / "rules"


class RulesSettings(ServiceSettings):
    rules_dir: Path = Field(BUNDLED_RULES, description="Folder of the rule files (*.yaml); "
                            "default: the rules/ folder of this project.")
    rules_reload_interval_s: float = Field(
        2.0, ge=0, description="How often the rules service looks for edited rule files.")
