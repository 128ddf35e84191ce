"""What ingest needs from the outside world."""

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class LedgerEntry:
    submission_id: str
    digest: str
    published: bool


@dataclass(frozen=True)
class KnownCompany:
    """A company as its last accepted plan described it: the only source of addresses and
    names for letters about payloads that could not be accepted."""

    company_id: str
    covenant: str
    legal_name: str
    language: str
    contacts: tuple[tuple[str, str | None], ...]  # (address, name)


class SubmissionLedger(Protocol):
    """Remembers accepted submissions, so a repeat yields no second assessment.

    An entry is recorded before the accepted event is published and marked published after
    the broker confirmed it; an entry left unpublished (a crash in between) is published again
    on redelivery, under the same message id."""

    def find(self, submission_id: str) -> LedgerEntry | None: ...

    def record(self, submission_id: str, digest: str, company: KnownCompany) -> None:
        """The submission, and its company as this plan describes it (`company`)."""

    def mark_published(self, submission_id: str) -> None: ...

    def company(self, company_id: str, covenant: str) -> KnownCompany | None: ...
