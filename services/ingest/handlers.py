"""Ingest: one upstream plan in, one `SubmissionAccepted` or `SubmissionRejected` out (or
nothing, for an exact repeat of an accepted plan).

In this order: the publisher's authority (before a byte of the body is read), the plan's
validity, the publisher's authority for the plan's covenant, the ledger. A rejection names
recipients only from the ledger: the contacts, name and language recorded from the company's
last accepted plan under the same covenant. A payload that was not accepted never chooses who
is written to, nor what their subject line says; an unauthorised one is written about to the
secretariat only."""

import hashlib
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from functools import partial

from services.shared.contracts import Contact, Language, SubmissionAccepted, SubmissionRejected
from services.shared.contracts.messages import MAX_ERRORS_CARRIED
from services.shared.messaging.handling import Delivery, Outcome, Outgoing

from .domain import (
    Identification,
    Invalid,
    Valid,
    conflict,
    covenant_of_routing_key,
    examine,
    identify,
    unauthorised,
    unauthorised_publisher,
)
from .ports import KnownCompany, SubmissionLedger

_REJECTED_NAMESPACE = uuid.UUID("0b6f3a9e-58d4-4c2a-9d0e-7a1c5e2f4b93")


@dataclass
class IngestHandler:
    ledger: SubmissionLedger
    max_bytes: int
    publishers: Mapping[str, Collection[str]] = field(default_factory=dict)  # empty: anyone

    def __call__(self, delivery: Delivery) -> Outcome:
        correlation_id = delivery.correlation_id or str(uuid.uuid4())
        reject = partial(self._rejected, message_id=rejection_id(delivery),
                         correlation_id=correlation_id)
        if self.publishers and not any(delivery.user_id in users
                                       for users in self.publishers.values()):
            covenant = covenant_of_routing_key(delivery.routing_key)
            return reject(unauthorised_publisher(delivery.user_id, covenant), trusted=False)
        examined = examine(delivery.body, self.max_bytes)
        if isinstance(examined, Invalid):
            return reject(examined)
        if self.publishers and delivery.user_id not in self.publishers.get(
                examined.plan.submission.covenant, ()):
            return reject(unauthorised(examined, delivery.user_id), trusted=False)
        return self._accept(examined, correlation_id, reject)

    def _rejected(self, invalid: Invalid, *, message_id: str, correlation_id: str,
                  trusted: bool = True) -> Outcome:
        """The rejection, addressed from the ledger: to the company when it is known (and the
        publisher was authorised), else to the secretariat only."""
        who = identify(invalid.document)
        known = (self.ledger.company(who.company_id, who.covenant)
                 if trusted and who.company_id and who.covenant else None)
        return rejected(invalid, who, message_id=message_id, correlation_id=correlation_id,
                        known=known)

    def _accept(self, valid: Valid, correlation_id: str,
                reject: Callable[[Invalid], Outcome]) -> Outcome:
        submission = valid.plan.submission
        entry = self.ledger.find(submission.submission_id)
        ids = {"submission_id": submission.submission_id, "covenant": submission.covenant}
        if entry and entry.digest != valid.digest:
            invalid = conflict(submission.submission_id)
            return reject(Invalid(invalid.reason, invalid.errors, valid.plan.to_json_dict()))
        if entry and entry.published:
            return Outcome("duplicate", log=ids)
        if entry is None:
            company = valid.plan.company
            self.ledger.record(submission.submission_id, valid.digest, KnownCompany(
                company.company_id, submission.covenant, company.legal_name,
                submission.language.value, tuple((c.email, c.name) for c in company.contacts)))
        event = SubmissionAccepted(
            message_id=valid.accepted_message_id,
            correlation_id=correlation_id,
            content_sha256=valid.digest,
            plan=valid.plan,
        )
        return Outcome(
            "accepted",
            [Outgoing.of(event)],
            after_publish=partial(self.ledger.mark_published, submission.submission_id),
            log=ids,
        )


def rejection_id(delivery: Delivery) -> str:
    """Deterministic, like the accepted id: the same message redelivered after a crash yields
    the same rejection, which notify then sends once. Keyed on the publisher's message id and
    the body, so a deliberate re-send (a new message id) is rejected, and notified, again."""
    digest = hashlib.sha256(delivery.body).hexdigest()
    return str(uuid.uuid5(_REJECTED_NAMESPACE, f"{delivery.message_id or ''}:{digest}"))


def rejected(invalid: Invalid, who: Identification, *, message_id: str, correlation_id: str,
             known: KnownCompany | None = None) -> Outcome:
    """The rejection event, filed under what the payload claims to be (`who`); `known` is the
    company as recorded from its last accepted plan, the only source of its contacts, name and
    language here."""
    event = SubmissionRejected(
        message_id=message_id,
        correlation_id=correlation_id,
        reason=invalid.reason,
        errors=invalid.errors[:MAX_ERRORS_CARRIED],
        errors_total=len(invalid.errors),
        submission_id=who.submission_id,
        covenant=who.covenant,
        company_id=who.company_id,
        company_name=known.legal_name if known else None,
        language=Language(known.language) if known else who.language,
        contacts=[Contact(email=a, name=n) for a, n in known.contacts] if known else [],
    )
    return Outcome("rejected", [Outgoing.of(event)], log={
        "submission_id": who.submission_id, "reason": invalid.reason.value,
        "error_count": len(invalid.errors),
        "error_codes": sorted({e.code for e in invalid.errors})[:10],
    })
