"""JSON Schemas (draft 2020-12) of the contracts, generated from the models.

The generated files are committed under `contracts/` for upstream systems and editors;
a test fails when they drift from the models. Regenerate with `make schemas`.
"""

import copy
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from services.shared import covenants

from .messages import (
    AssessmentCompleted,
    NotificationDelivered,
    ReviewFinalised,
    SignalForwarded,
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
    "signal-forwarded": SignalForwarded,
    "notification-delivered": NotificationDelivered,
}


def generate() -> dict[str, str]:
    """File name -> schema text, stable across runs."""
    return {f"{name}.schema.json": _text(model, name) for name, model in MODELS.items()}


def _text(model: type[BaseModel], name: str) -> str:
    schema: dict[str, Any] = {"$schema": DRAFT, "$id": f"urn:irbc:schema:{name}",
                              **model.model_json_schema(by_alias=True, mode="validation")}
    if model is PlanSubmission:
        schema = with_sections(schema)
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def with_sections(schema: dict[str, Any]) -> dict[str, Any]:
    """The plan's schema with each covenant's section as its definition's schema describes it
    (under `$defs/<covenant>.<name>`); which one a plan carries, its `allOf` says."""
    found = copy.deepcopy(schema)
    for c in covenants.current():
        prefix = f"{c.name}."
        section = _prefixed(dict(c.schema), prefix)
        found["$defs"].update({prefix + name: node
                               for name, node in section.pop("$defs", {}).items()})
        found["$defs"][prefix + "section"] = {k: v for k, v in section.items() if k != "$schema"}
        found["properties"][c.extension] = {"$ref": f"#/$defs/{prefix}section"}
    return found


def _prefixed(node: Any, prefix: str) -> Any:
    """A schema whose references into its own `$defs` name them with the prefix."""
    if isinstance(node, list):
        return [_prefixed(v, prefix) for v in node]
    if not isinstance(node, dict):
        return node
    return {k: (v.replace("#/$defs/", f"#/$defs/{prefix}") if k == "$ref" and isinstance(v, str)
                else _prefixed(v, prefix)) for k, v in node.items()}


def write(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in generate().items():
        (folder / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    write(Path(sys.argv[1] if len(sys.argv) > 1 else "contracts"))
