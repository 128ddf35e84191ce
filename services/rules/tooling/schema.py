"""The JSON Schemas of the rule-file language, the covenant definitions and their assessment
frameworks (`rules/covenants/<name>/covenant.yaml`, `framework.yaml`), for editors (validation
and completion).

Committed as `contracts/rule-file.schema.json`, `contracts/framework.schema.json` and
`contracts/covenant.schema.json`;
regenerate with `make schemas`. Every rule file's first line points editors at its schema (the
YAML language server reads `# yaml-language-server: $schema=../contracts/rule-file.schema.json`).
"""

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from services.rules.core.framework import Framework
from services.rules.core.language import RuleFile
from services.shared.covenants import CovenantSpec

NAME = "rule-file.schema.json"
FRAMEWORK_NAME = "framework.schema.json"
COVENANT_NAME = "covenant.schema.json"


def _schema(model: type[BaseModel], ident: str) -> str:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "$id": f"urn:irbc:schema:{ident}",
              **model.model_json_schema(by_alias=True, mode="validation")}
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def generate() -> str:
    return _schema(RuleFile, "rule-file")


def generate_framework() -> str:
    return _schema(Framework, "framework")


def generate_covenant() -> str:
    return _schema(CovenantSpec, "covenant")


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "contracts")
    (folder / NAME).write_text(generate(), encoding="utf-8")
    (folder / FRAMEWORK_NAME).write_text(generate_framework(), encoding="utf-8")
    (folder / COVENANT_NAME).write_text(generate_covenant(), encoding="utf-8")
