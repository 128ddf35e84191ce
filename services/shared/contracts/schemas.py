"""JSON Schemas (draft 2020-12) of the contracts, generated from the models.

The generated files are committed under `contracts/` for upstream systems and editors;
a test fails when they drift from the models. Regenerate with `make schemas`.
"""

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .messages import (
    AssessmentCompleted,
    NotificationDelivered,
    ReviewFinalised,
    SubmissionAccepted,
    SubmissionRejected,
)
from .plan import PlanSubmission

DRAFT = "https://json-schema.org/draft/2020-12/schema"
MODELS: dict[str, type[BaseModel]] = {
    "irbc-plan-1.0": PlanSubmission,
    "submission-accepted": SubmissionAccepted,
    "submission-rejected": SubmissionRejected,
    "assessment-completed": AssessmentCompleted,
    "review-finalised": ReviewFinalised,
    "notification-delivered": NotificationDelivered,
}


def generate() -> dict[str, str]:
    """File name -> schema text, stable across runs."""
    return {f"{name}.schema.json": _text(model, name) for name, model in MODELS.items()}


def _text(model: type[BaseModel], name: str) -> str:
    schema: dict[str, Any] = {"$schema": DRAFT, "$id": f"urn:irbc:schema:{name}",
                              **model.model_json_schema(by_alias=True, mode="validation")}
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in generate().items():
        (folder / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    write(Path(sys.argv[1] if len(sys.argv) > 1 else "contracts"))
