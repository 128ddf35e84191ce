from pydantic import Field

from services.shared.errors import ConfigError
from services.shared.settings import ServiceSettings

from .matching import AUTOMATIC, CANDIDATE, Thresholds


class RegisterSettings(ServiceSettings):
    """The register of locations and signals (`covenant locations`, `covenant signals`, the
    console) reads the plans the rules service recorded, in DATABASE_URL."""

    locations_match_automatic: float = Field(
        AUTOMATIC, gt=0, le=1, description="Two spellings of a location at or above this fuzzy "
        "score (0..1) are one place without asking (Open Supply Hub's 0.8).")
    locations_match_candidate: float = Field(
        CANDIDATE, gt=0, le=1, description="From this score up to the automatic one, the pair "
        "is a candidate the secretariat confirms or rejects; below, two places.")

    def thresholds(self) -> Thresholds:
        try:
            return Thresholds(self.locations_match_automatic, self.locations_match_candidate)
        except ValueError:
            raise ConfigError("LOCATIONS_MATCH_CANDIDATE must not be above "
                              "LOCATIONS_MATCH_AUTOMATIC") from None
