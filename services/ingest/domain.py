"""Ingest decisions, free of I/O: is a submission acceptable, and who should hear if not."""

import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from services.shared.contracts import (
    Contact,
    Covenant,
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
            message=f"the submission is {len(body):,} bytes; the limit is {max_bytes:,}")])
    try:
        plan = validate_plan(load_json(body))
    except PlanInvalid as e:
        return Invalid(RejectionReason.INVALID, e.errors, e.document)
    return Valid(plan, content_digest(plan))


def conflict(submission_id: str) -> Invalid:
    return Invalid(RejectionReason.CONFLICT, [FieldError(
        pointer="/submission/submission_id", code="conflict",
        message=f"submission '{submission_id}' was already accepted with different content; "
        "send a changed plan under a new submission_id and name the old one in "
        "supersedes_submission_id")])


def unauthorised(valid: Valid, publisher: str | None) -> Invalid:
    """A plan from a publisher that may not submit for its covenant. The rejection goes to the
    secretariat only: the contacts in such a payload are not to be trusted."""
    covenant = valid.plan.submission.covenant.value
    document = valid.plan.to_json_dict()
    document["company"]["contacts"] = []
    who = f"publisher '{publisher}'" if publisher else "a publisher without a user_id"
    return Invalid(RejectionReason.UNAUTHORISED, [FieldError(
        pointer="/submission/covenant", code="unauthorised",
        message=f"{who} may not submit plans for the {covenant} covenant (PUBLISHERS)")],
        document)


@dataclass(frozen=True)
class Identification:
    """What could be read from a rejected payload to route the rejection."""

    submission_id: str | None = None
    covenant: Covenant | None = None
    company_id: str | None = None
    company_name: str | None = None
    language: Language = Language.NL
    contacts: tuple[Contact, ...] = ()


def identify(document: Any) -> Identification:
    """Best effort: every field that is present and valid on its own; nothing else."""

    def text(pattern: str) -> str | None:
        value = next((v for _, v in walk(document, pattern)), None)
        return value.strip()[:200] if isinstance(value, str) and value.strip() else None

    def member(pattern: str, enum: Any) -> Any:
        value = text(pattern)
        return enum(value) if value in {e.value for e in enum} else None

    return Identification(
        submission_id=text("submission/submission_id"),
        covenant=member("submission/covenant", Covenant),
        company_id=text("company/company_id"),
        company_name=text("company/legal_name"),
        language=member("submission/language", Language) or Language.NL,
        contacts=tuple(_valid_contacts(document)),
    )


def _valid_contacts(document: Any) -> list[Contact]:
    contacts = []
    for _, raw in walk(document, "company/contacts/*"):
        try:
            contacts.append(Contact.model_validate(raw))
        except ValidationError:
            continue
    return contacts
