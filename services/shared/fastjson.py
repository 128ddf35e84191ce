"""JSON text, fast: orjson where it can (about nine times `json.dumps`' speed, the same values,
non-ASCII written as it is), `json` where orjson refuses what json writes (an integer beyond 64
bits, which a plan's section may hold). Reading stays with `json.loads`: orjson reads such an
integer as a float."""

import json
from typing import Any

import orjson


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson's refusal; json writes what it can and raises for the rest
        return json.dumps(value, ensure_ascii=False)
