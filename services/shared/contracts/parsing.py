"""From bytes to a valid plan, or to the complete list of what is wrong with it."""

import hashlib
import json
from typing import Any

from pydantic import ValidationError

from services.shared import covenants

from .errors import FieldError, errors_from_validation
from .extensions import check_extension
from .integrity import check_integrity
from .plan import PlanSubmission


class PlanInvalid(Exception):
    """The submission cannot be assessed; `errors` says where and why, all at once."""

    def __init__(self, errors: list[FieldError], document: Any = None):
        super().__init__(f"{len(errors)} error(s) in the submission")
        self.errors = errors
        self.document = document  # the parsed JSON when there was any, for best-effort routing


class _DuplicateKey(ValueError):
    pass


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(key)
        obj[key] = value
    return obj


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_json(body: bytes) -> Any:
    """Strict JSON: UTF-8 only, no duplicate keys, no NaN/Infinity; raises PlanInvalid."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PlanInvalid(
            [_error("invalid_utf8", f"the body is not UTF-8 (byte {e.start})")]) from None
    try:
        return json.loads(
            text, object_pairs_hook=_refuse_duplicate_keys, parse_constant=_refuse_constant
        )
    except json.JSONDecodeError as e:
        raise PlanInvalid(
            [_error("invalid_json", f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno}")]
        ) from None
    except _DuplicateKey as e:
        raise PlanInvalid([_error("duplicate_key", f"the key '{e}' appears twice in one object")]) \
            from None
    except RecursionError:
        raise PlanInvalid([_error("too_deep", "the JSON nests too deeply")]) from None
    except ValueError as e:
        raise PlanInvalid([_error("invalid_json", str(e))]) from None


def validate_plan(document: Any) -> PlanSubmission:
    """Structure, vocabularies and cross-references of a parsed document; raises PlanInvalid
    with every error found, structural and cross-object alike. The plan's covenant section
    holds what reading left unchanged of the document's, not a copy (a bank's section is
    held once): change the document afterwards only through a copy."""
    if not isinstance(document, dict):
        raise PlanInvalid([_error("not_an_object", "a plan submission is a JSON object")])
    plan, errors = None, []
    try:
        plan = PlanSubmission.model_validate(document)
    except ValidationError as e:
        errors = errors_from_validation(e)
    except RecursionError:
        raise PlanInvalid([_error("too_deep", "the JSON nests too deeply")]) from None
    covenant = covenants.current().get(_covenant_named(document))
    section = document.get(covenant.extension) if covenant else None
    if covenant is not None and section is not None:  # its absence: integrity's to report
        section, section_errors = check_extension(section, covenant)
        errors += section_errors
    reported = {e.pointer for e in errors}
    errors += [e for e in check_integrity(document) if e.pointer not in reported]
    if errors or plan is None:
        raise PlanInvalid(errors, document)
    return plan.with_sections({covenant.extension: section} if covenant and section else {})


def _covenant_named(document: dict[str, Any]) -> Any:
    submission = document.get("submission")
    return submission.get("covenant") if isinstance(submission, dict) else None


def parse_plan(body: bytes) -> PlanSubmission:
    return validate_plan(load_json(body))


def content_digest(plan: PlanSubmission) -> str:
    """SHA-256 of the normalised plan: equal for the same content however it was formatted,
    and in every version (ingest's ledger compares it with the digests it recorded). The plan
    as the rules read it is the plan as dumped, without walking its section once more."""
    canonical = json.dumps(plan.read_only_json(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _error(code: str, message: str) -> FieldError:
    return FieldError(pointer="", code=code, message=message)
