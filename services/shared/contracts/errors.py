"""Field-level errors with JSON pointers, the common currency of every rejection."""

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class FieldError(BaseModel):
    """One thing wrong with a submission: where (RFC 6901 pointer), what kind, and in words."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pointer: str
    code: str
    message: str
    context: dict[str, str | int | float] = Field(
        default_factory=dict, description="the values the error's text names (a limit, the "
        "allowed values), for saying it in another language (services/shared/i18n/errors.yaml)")
    rule_id: str | None = Field(None, description="the catalogue rule the error enforces, "
                                "where it is one (PROC-REFERENCES-RESOLVE)")


def json_pointer(path: Iterable[str | int]) -> str:
    """RFC 6901 pointer for a path of keys and indexes; the empty path is the whole document.
    (Made for every fact of a plan: a loop is twice as fast as a join over a generator.)"""
    pointer = ""
    for step in path:
        pointer += f"/{step}" if isinstance(step, int) else \
            "/" + str(step).replace("~", "~0").replace("/", "~1")
    return pointer


def errors_from_validation(exc: ValidationError) -> list[FieldError]:
    """Pydantic's errors as FieldErrors. The offending input values are left out on purpose:
    they are plan contents, and rejections travel to logs, metrics and e-mail."""
    errors = []
    for e in exc.errors(include_input=False, include_url=False):
        message = e["msg"].removeprefix("Value error, ")
        errors.append(FieldError(pointer=json_pointer(e["loc"]), code=e["type"], message=message,
                                 context=_context(e.get("ctx") or {})))
    return errors


def _context(ctx: dict[str, Any]) -> dict[str, str | int | float]:
    """Numbers and short texts only (a limit, the allowed values); not exceptions."""
    return {k: v if isinstance(v, int | float) else str(v)[:200] for k, v in ctx.items()
            if isinstance(v, str | int | float) and not isinstance(v, bool)}
