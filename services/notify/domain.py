"""Notify decisions, free of I/O: who is told what, in which language, in which words.

The company's contacts get their own assessment (the event holds one plan's findings only);
the covenant's secretariat gets every assessment and every rejection. A rejection goes to the
company only when ingest found the company known from an earlier accepted plan: the event then
carries the contacts recorded from that plan, never the ones an unaccepted payload named. No
letter goes to more than `max_recipients` addresses.
"""

import json
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from services.shared.contracts import (
    AssessmentCompleted,
    Language,
    RecipientRole,
    Severity,
    SubmissionRejected,
)
from services.shared.text import plain

MAX_SUBJECT = 150
MAX_RECIPIENTS = 10  # addresses in one letter's To:, at most (setting MAX_RECIPIENTS)

LABELS: dict[Language, dict[str, Any]] = {
    Language.NL: {
        "severity": {"critical": "kritiek", "high": "hoog", "medium": "middel", "low": "laag",
                     "info": "info"},
        "assessment_subject": "Beoordeling plan van aanpak {year}: {company}",
        "rejection_subject": "Plan van aanpak niet in behandeling genomen: {company}",
        "unknown_company": "een onbekend bedrijf",
        "unknown_company_id": "een onbekend bedrijf ({company_id})",
        "greeting_company": "Geachte heer/mevrouw,",
        "greeting_secretariat": "Aan het convenantsecretariaat,",
        "assessment_intro": "Het plan van aanpak {year} van {company} (inzending {submission}) "
                            "is automatisch getoetst aan de regels van het convenant.",
        "no_findings": "Er zijn geen bevindingen.",
        "summary": "Bevindingen per ernst",
        "found": "Wat we vonden",
        "why_severity": "Waarom deze ernst",
        "where": "Onderdelen van het plan",
        "provisions": "Bepalingen",
        "todo": "Wat u kunt doen",
        "ruleset": "Regelset",
        "rejection_intro": "De inzending {submission} van {company} kon niet in behandeling "
                           "worden genomen.",
        "reason": {"invalid": "De inzending voldoet niet aan het formaat irbc-plan/1.0.",
                   "too_large": "De inzending is groter dan toegestaan.",
                   "conflict": "Dit inzendingsnummer is al gebruikt voor een ander plan.",
                   "unauthorised": "De afzender mag geen plannen voor dit convenant indienen."},
        "errors": "Fouten ({total}, per plek in het document)",
        "more_errors": "en nog {n} fouten",
        "closing": "Dit bericht is automatisch verstuurd door het convenantsecretariaat.",
        "undelivered": {"company": "Let op: de brief aan het bedrijf is niet bezorgd; de "
                                   "ontvangende server weigerde hem. Neem op een andere manier "
                                   "contact op met het bedrijf."},
        "digest_subject": "Dagoverzicht {covenant} {day}: {count} beoordeling(en)",
        "digest_intro": "Op {day} zijn {count} plan(nen) van aanpak onder het {covenant}-convenant "
                        "beoordeeld.",
        "digest_plan": "plan",
    },
    Language.EN: {
        "severity": {s.value: s.value for s in Severity},
        "assessment_subject": "Assessment of the {year} plan of action: {company}",
        "rejection_subject": "Plan of action not accepted for assessment: {company}",
        "unknown_company": "an unknown company",
        "unknown_company_id": "an unknown company ({company_id})",
        "greeting_company": "Dear Sir or Madam,",
        "greeting_secretariat": "To the covenant secretariat,",
        "assessment_intro": "The {year} plan of action of {company} (submission {submission}) "
                            "was checked automatically against the covenant's rules.",
        "no_findings": "There are no findings.",
        "summary": "Findings by severity",
        "found": "What we found",
        "why_severity": "Why this severity",
        "where": "Parts of the plan",
        "provisions": "Provisions",
        "todo": "What you can do",
        "ruleset": "Rule set",
        "rejection_intro": "Submission {submission} of {company} could not be accepted for "
                           "assessment.",
        "reason": {"invalid": "The submission does not follow the irbc-plan/1.0 format.",
                   "too_large": "The submission is larger than allowed.",
                   "conflict": "This submission id was already used for a different plan.",
                   "unauthorised": "The sender may not submit plans for this covenant."},
        "errors": "Errors ({total}, by place in the document)",
        "more_errors": "and {n} more errors",
        "closing": "This message was sent automatically by the covenant secretariat.",
        "undelivered": {"company": "Please note: the letter to the company was not delivered; "
                                   "the receiving server refused it. Please reach the company "
                                   "another way."},
        "digest_subject": "Daily digest {covenant} {day}: {count} assessment(s)",
        "digest_intro": "On {day}, {count} plan(s) of action under the {covenant} covenant were "
                        "assessed.",
        "digest_plan": "plan",
    },
}


@dataclass(frozen=True)
class Letter:
    role: RecipientRole
    to: tuple[str, ...]
    language: Language
    template: str  # "assessment" or "rejection"
    recipient: str  # "company:<company id>" or "secretariat:<covenant>", for webhooks


@dataclass(frozen=True)
class Secretariat:
    addresses: dict[str, str]  # covenant (or "*") -> address
    language: Language
    digest: bool = False  # a daily digest of assessments instead of one e-mail each

    def address_for(self, covenant: str | None) -> str:
        return self.addresses.get(covenant or "*") or self.addresses["*"]


def letters_for(event: AssessmentCompleted | SubmissionRejected, secretariat: Secretariat,
                webhooks: frozenset[str] = frozenset(),
                max_recipients: int = MAX_RECIPIENTS) -> list[Letter]:
    """The secretariat (for assessments not when it takes a daily digest instead); the company
    when the payload names contacts or a webhook is configured for it."""
    template = "assessment" if isinstance(event, AssessmentCompleted) else "rejection"
    covenant = event.covenant.value if event.covenant else None
    letters: list[Letter] = [] if template == "assessment" and secretariat.digest else [
        Letter(RecipientRole.SECRETARIAT, (secretariat.address_for(covenant),),
               secretariat.language, template, f"secretariat:{covenant or '*'}")]
    contacts = tuple(dict.fromkeys(c.email for c in event.contacts))[:max_recipients]
    company = f"company:{event.company_id}"
    if contacts or (event.company_id and company in webhooks):
        letters.insert(0, Letter(RecipientRole.COMPANY, contacts, event.language, template,
                                 company))
    return letters


def webhook_key(letter: Letter, webhooks: frozenset[str]) -> str | None:
    """The configured webhook for this letter's recipient, if any (`secretariat:*` serves every
    covenant's secretariat)."""
    if letter.recipient in webhooks:
        return letter.recipient
    if letter.role is RecipientRole.SECRETARIAT and "secretariat:*" in webhooks:
        return "secretariat:*"
    return None


def webhook_payload(event: AssessmentCompleted | SubmissionRejected, letter: Letter,
                    delivery: str) -> bytes:
    """What a webhook receives: the event for this recipient, without contact addresses."""
    body = {"delivery": delivery, "recipient": letter.role.value,
            "language": letter.language.value,
            "event": event.model_dump(mode="json", exclude={"contacts"})}
    return json.dumps(body, ensure_ascii=False, sort_keys=True).encode()


def header_safe(text: str, limit: int = MAX_SUBJECT) -> str:
    """No control or bidi characters (so no header injection and no text that reads other
    than it is), collapsed spaces, bounded length."""
    return plain(text, limit)


class Renderer:
    """Multipart text and HTML from the templates beside this module; HTML autoescaped."""

    def __init__(self) -> None:
        self._env = Environment(
            loader=PackageLoader("services.notify", "templates"),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def compose(self, event: AssessmentCompleted | SubmissionRejected, letter: Letter,
                sender: str, undelivered: tuple[RecipientRole, ...] = ()) -> EmailMessage:
        """The letter; `undelivered` names recipients whose letters about this event were
        refused, which the secretariat's letter says."""
        labels = LABELS[letter.language]
        # a company never accepted is named by the id its payload gave (checked in ingest)
        company = event.company_name or (
            labels["unknown_company_id"].format(company_id=event.company_id) if event.company_id
            else labels["unknown_company"])
        year = getattr(event, "reporting_year", "")
        subject = labels[f"{letter.template}_subject"].format(year=year, company=company)
        context = {"event": event, "letter": letter, "labels": labels,
                   "lang": letter.language.value,
                   "company": company, "Severity": Severity,
                   "undelivered": [labels["undelivered"][r.value] for r in undelivered
                                   if letter.role is RecipientRole.SECRETARIAT]}
        message = EmailMessage()
        message["From"] = sender
        message["To"] = ", ".join(letter.to)
        message["Subject"] = header_safe(subject)
        message["Date"] = format_datetime(event.occurred_at)
        # deterministic: the same event and recipient always give the same Message-ID
        message["Message-ID"] = f"<{event.message_id}.{letter.role.value}@covenant-compliance>"
        message["X-Covenant-Correlation-Id"] = header_safe(event.correlation_id, 200)
        message.set_content(self._render(letter, "txt", context))
        message.add_alternative(self._render(letter, "html", context), subtype="html")
        return message

    def digest(self, covenant: str, day: str, events: list[AssessmentCompleted],
               secretariat: Secretariat, sender: str) -> EmailMessage:
        """One e-mail to the covenant's secretariat summarising the day's assessments."""
        labels = LABELS[secretariat.language]
        letter = Letter(RecipientRole.SECRETARIAT, (secretariat.address_for(covenant),),
                        secretariat.language, "digest", f"secretariat:{covenant}")
        rows = [{"company": e.company_name, "company_id": e.company_id, "year": e.reporting_year,
                 "submission_id": e.submission_id,
                 "counts": ", ".join(f"{n} {labels['severity'][s.value]}"
                                     for s, n in e.counts().items() if n) or "-"}
                for e in events]
        context = {"labels": labels, "lang": letter.language.value, "day": day,
                   "covenant": covenant, "rows": rows}
        message = EmailMessage()
        message["From"] = sender
        message["To"] = ", ".join(letter.to)
        message["Subject"] = header_safe(labels["digest_subject"].format(
            covenant=covenant, day=day, count=len(rows)))
        message["Message-ID"] = f"<digest.{covenant}.{day}@covenant-compliance>"
        message.set_content(self._render(letter, "txt", context))
        message.add_alternative(self._render(letter, "html", context), subtype="html")
        return message

    def _render(self, letter: Letter, kind: str, context: dict[str, Any]) -> str:
        name = f"{letter.template}.{kind}"
        return self._env.get_template(name).render(context)
