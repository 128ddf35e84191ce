"""Field-level errors with JSON pointers, the common currency of every rejection."""

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class FieldError(BaseModel):
    """One thing wrong with a submission: where (RFC 6901 pointer), what kind, and in words."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pointer: str
    code: str
    message: str
    rule_id: str | None = Field(None, description="the catalogue rule the error enforces, "
                                "where it is one (PROC-REFERENCES-RESOLVE)")


def json_pointer(path: Iterable[str | int]) -> str:
    """RFC 6901 pointer for a path of keys and indexes; the empty path is the whole document."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def errors_from_validation(exc: ValidationError) -> list[FieldError]:
    """Pydantic's errors as FieldErrors. The offending input values are left out on purpose:
    they are plan contents, and rejections travel to logs, metrics and e-mail."""
    errors = []
    for e in exc.errors(include_input=False, include_url=False):
        message = e["msg"].removeprefix("Value error, ")
        errors.append(FieldError(pointer=json_pointer(e["loc"]), code=e["type"], message=message))
    return errors
