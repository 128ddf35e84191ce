"""The JSON Schema of the rule-file language, for editors (validation and completion).

Committed as `contracts/rule-file.schema.json`; regenerate with `make schemas`. Every rule
file's first line points editors at it (the YAML language server reads
`# yaml-language-server: $schema=../contracts/rule-file.schema.json`).
"""

import json
import sys
from pathlib import Path

from services.rules.core.language import RuleFile

NAME = "rule-file.schema.json"


def generate() -> str:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "$id": "urn:irbc:schema:rule-file",
              **RuleFile.model_json_schema(by_alias=True, mode="validation")}
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "contracts")
    (folder / NAME).write_text(generate(), encoding="utf-8")
