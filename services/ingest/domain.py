"""Ingest decisions, free of I/O: is a submission acceptable, and who should hear if not."""

import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from services.rules.core.facts import MAX_SHARED_FACTS, shared_facts
from services.shared import covenants
from services.shared.contracts import (
    FieldError,
    Language,
    PlanInvalid,
    PlanSubmission,
    RejectionReason,
    content_digest,
    load_json,
    validate_plan,
)
from services.shared.contracts.integrity import walk
from services.shared.contracts.plan import Identifier
from services.shared.text import plain

_IDENTIFIER: TypeAdapter[str] = TypeAdapter(Identifier)
_ACCEPTED_NAMESPACE = uuid.UUID("6f1c2a53-6c7e-4d8e-9a0b-2f4d1c0e8b71")


@dataclass(frozen=True)
class Valid:
    plan: PlanSubmission
    digest: str

    @property
    def accepted_message_id(self) -> str:
        """Deterministic, so a re-publish after a crash carries the same id downstream."""
        return str(uuid.uuid5(_ACCEPTED_NAMESPACE, f"{self.plan.submission.submission_id}:"
                                                   f"{self.digest}"))


@dataclass(frozen=True)
class Invalid:
    reason: RejectionReason
    errors: list[FieldError]
    document: Any = None


def examine(body: bytes, max_bytes: int) -> Valid | Invalid:
    if len(body) > max_bytes:
        return Invalid(RejectionReason.TOO_LARGE, [FieldError(
            pointer="", code="too_large",
            message=f"the submission is {len(body):,} bytes; the limit is {max_bytes:,}",
            context={"size": len(body), "limit": max_bytes})])
    try:
        plan = validate_plan(load_json(body))
    except PlanInvalid as e:
        return Invalid(RejectionReason.INVALID, e.errors, e.document)
    if (too_many := unassessable(plan)) is not None:
        return Invalid(RejectionReason.TOO_LARGE, [too_many], plan.to_json_dict())
    return Valid(plan, content_digest(plan))


def unassessable(plan: PlanSubmission) -> FieldError | None:
    """Why the rules could not assess a valid plan, if they could not: more facts than every
    engine state can hold beside the rest (accepted, it could only be dead-lettered). Ingest
    refuses it; `covenant check` says so as ingest would."""
    parts = shared_facts(plan)
    if parts <= MAX_SHARED_FACTS:
        return None
    return FieldError(
        pointer="", code="too_many_shared_parts",
        message=f"the plan has {parts:,} parts and list values that the assessment must hold "
        "together (all but the long lists it can split, such as financings and production "
        f"locations); it takes at most {MAX_SHARED_FACTS:,} for now",
        context={"parts": parts, "max_parts": MAX_SHARED_FACTS})


def conflict(submission_id: str) -> Invalid:
    return Invalid(RejectionReason.CONFLICT, [FieldError(
        pointer="/submission/submission_id", code="conflict",
        message=f"submission '{submission_id}' was already accepted with different content; "
        "send a changed plan under a new submission_id and name the old one in "
        "supersedes_submission_id", context={"submission_id": submission_id[:100]})])


def unauthorised(valid: Valid, publisher: str | None) -> Invalid:
    """A valid plan from a publisher that may not submit for its covenant."""
    covenant = valid.plan.submission.covenant
    document = valid.plan.to_json_dict()
    document["company"]["contacts"] = []
    return Invalid(RejectionReason.UNAUTHORISED, [FieldError(
        pointer="/submission/covenant", code="unauthorised",
        message=f"{_publisher(publisher)} may not submit plans for the {covenant} covenant "
        "(PUBLISHERS)", context={"covenant": covenant})], document)


def unauthorised_publisher(publisher: str | None, covenant: str | None) -> Invalid:
    """A payload from a publisher that may submit for no covenant at all: refused unread. The
    covenant is the one its routing key names, if any, so that covenant's secretariat hears."""
    document = {"submission": {"covenant": covenant}} if covenant else None
    return Invalid(RejectionReason.UNAUTHORISED, [FieldError(
        pointer="", code="unauthorised_publisher",
        message=f"{_publisher(publisher)} may not submit plans for any covenant (PUBLISHERS); "
        "the submission was not read")], document)


def _publisher(publisher: str | None) -> str:
    return f"publisher '{publisher}'" if publisher else "a publisher without a user_id"


def covenant_of_routing_key(routing_key: str) -> str | None:
    """`plan.<covenant>` names a covenant; anything else does not."""
    suffix = routing_key.removeprefix("plan.")
    return suffix if routing_key.startswith("plan.") and covenants.known(suffix) else None


@dataclass(frozen=True)
class Identification:
    """What could be read from a rejected payload to file the rejection: which submission,
    covenant and company it claims to be. It chooses no recipient (see handlers.py)."""

    submission_id: str | None = None
    covenant: str | None = None
    company_id: str | None = None
    language: Language = Language.NL


def identify(document: Any) -> Identification:
    """Best effort: every field that is present and valid on its own; nothing else."""

    def text(pattern: str) -> str | None:
        value = next((v for _, v in walk(document, pattern)), None)
        return plain(value, 200) or None if isinstance(value, str) else None

    def identifier(pattern: str) -> str | None:  # as the contract spells an id, or nothing
        value = text(pattern)
        try:
            return _IDENTIFIER.validate_python(value) if value else None
        except ValidationError:
            return None

    def member(pattern: str, enum: Any) -> Any:
        value = text(pattern)
        return enum(value) if value in {e.value for e in enum} else None

    covenant = text("submission/covenant")
    return Identification(
        submission_id=text("submission/submission_id"),
        covenant=covenant if covenants.known(covenant) else None,
        company_id=identifier("company/company_id"),
        language=member("submission/language", Language) or Language.NL,
    )
