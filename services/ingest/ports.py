"""What ingest needs from the outside world."""

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class LedgerEntry:
    submission_id: str
    digest: str
    published: bool


class SubmissionLedger(Protocol):
    """Remembers accepted submissions, so a repeat yields no second assessment.

    An entry is recorded before the accepted event is published and marked published after
    the broker confirmed it; an entry left unpublished (a crash in between) is published again
    on redelivery, under the same message id."""

    def find(self, submission_id: str) -> LedgerEntry | None: ...

    def record(self, submission_id: str, digest: str, company_id: str, covenant: str) -> None: ...

    def mark_published(self, submission_id: str) -> None: ...
