"""Notify decisions, free of I/O: who is told what, in which language, in which words.

The company's contacts get their own assessment (the event holds one plan's findings only);
the covenant's secretariat gets every assessment and every rejection. A rejection goes to the
company only when ingest found the company known from an earlier accepted plan: the event then
carries the contacts recorded from that plan, never the ones an unaccepted payload named. No
letter goes to more than `max_recipients` addresses.
"""

import json
from dataclasses import dataclass, field
from datetime import date
from email.utils import format_datetime, parseaddr

import css_inline
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from services.shared.contracts import (
    AssessmentCompleted,
    Language,
    RecipientRole,
    ReviewFinalised,
    SignalForwarded,
)
from services.shared.contracts.messages import NotifyEvent
from services.shared.text import plain

from . import letters
from .letters import Contact
from .mime import Mail

MAX_SUBJECT = 150
MAX_RECIPIENTS = 10  # addresses in one letter's To:, at most (setting MAX_RECIPIENTS)


@dataclass(frozen=True)
class Letter:
    role: RecipientRole
    to: tuple[str, ...]
    language: Language
    template: str  # "assessment", "rejection", "feedback", "signal" or "digest"
    recipient: str  # "company:<company id>" or "secretariat:<covenant>", for webhooks
    contact: Contact = field(default_factory=lambda: Contact(None, ""))
    # whom the reader can ask, and the Reply-To


@dataclass(frozen=True)
class Secretariat:
    addresses: dict[str, str]  # covenant (or "*") -> address
    language: Language
    digest: bool = False  # a daily digest of assessments instead of one e-mail each
    contacts: dict[str, dict[str, str]] = field(default_factory=dict)  # covenant (or "*") ->
    # {"name", "phone"}: whom a letter names to ask (its address is the covenant's address)

    def address_for(self, covenant: str | None) -> str:
        return self.addresses.get(covenant or "*") or self.addresses["*"]

    def contact_for(self, covenant: str | None) -> Contact:
        given = self.contacts.get(covenant or "*") or self.contacts.get("*") or {}
        return Contact(given.get("name") or None, self.address_for(covenant),
                       given.get("phone") or None)


# what each event is about (NotificationDelivered.about) and the letters' template
ABOUT = {"assessment.completed": "assessment", "submission.rejected": "rejection",
         "review.finalised": "feedback", "signal.forwarded": "signal"}


def letters_for(event: NotifyEvent, secretariat: Secretariat,
                webhooks: frozenset[str] = frozenset(),
                max_recipients: int = MAX_RECIPIENTS,
                company_letter: str = "automatic") -> list[Letter]:
    """The secretariat (for assessments not when it takes a daily digest instead; for feedback
    and signals never, as it wrote them); the company when the payload names contacts or a
    webhook is configured for it, except for an automatic assessment when `company_letter` is
    `after_review` (the company then hears from the feedback)."""
    template = ABOUT[event.type]
    covenant = event.covenant
    contact = secretariat.contact_for(covenant)
    quiet = template in ("feedback", "signal") or (template == "assessment" and secretariat.digest)
    letters: list[Letter] = [] if quiet else [
        Letter(RecipientRole.SECRETARIAT, (secretariat.address_for(covenant),),
               secretariat.language, template, f"secretariat:{covenant or '*'}", contact)]
    if template == "assessment" and company_letter == "after_review":
        return letters
    contacts = tuple(dict.fromkeys(c.email for c in event.contacts))[:max_recipients]
    company = f"company:{event.company_id}"
    if contacts or (event.company_id and company in webhooks):
        letters.insert(0, Letter(RecipientRole.COMPANY, contacts, event.language, template,
                                 company, contact))
    return letters


def webhook_key(letter: Letter, webhooks: frozenset[str]) -> str | None:
    """The configured webhook for this letter's recipient, if any (`secretariat:*` serves every
    covenant's secretariat)."""
    if letter.recipient in webhooks:
        return letter.recipient
    if letter.role is RecipientRole.SECRETARIAT and "secretariat:*" in webhooks:
        return "secretariat:*"
    return None


def webhook_payload(event: NotifyEvent, letter: Letter,
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
    """Multipart letters: plain text, and HTML laid out by the templates beside this module
    with their CSS inlined into each element (mail clients drop `<style>`); HTML autoescaped.
    `message_domain`: the domain of Message-IDs (setting MESSAGE_ID_DOMAIN); default: the
    sender's."""

    def __init__(self, message_domain: str | None = None) -> None:
        self._env = Environment(
            loader=PackageLoader("services.notify", "templates"),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,  # package files: not looked at again for every letter
        )
        self._domain = message_domain
        self._inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)

    def compose(self, event: NotifyEvent, letter: Letter,
                sender: str, undelivered: tuple[RecipientRole, ...] = ()) -> Mail:
        """The letter; `undelivered` names recipients whose letters about this event were
        refused, which the secretariat's letter says."""
        language = letter.language.value
        notes = [letters.words(language)["undelivered"][r.value] for r in undelivered
                 if letter.role is RecipientRole.SECRETARIAT]
        if isinstance(event, AssessmentCompleted):
            recipients = len(dict.fromkeys(c.email for c in event.contacts))
            view = letters.assessment(event, letter.role, language, letter.contact, notes,
                                      recipients)
            template = f"assessment_{letter.role.value}"
        elif isinstance(event, ReviewFinalised):
            view, template = letters.feedback(event, language, letter.contact), "feedback"
        elif isinstance(event, SignalForwarded):
            view, template = letters.signal(event, language, letter.contact), "signal"
        else:
            view = letters.rejection(event, letter.role, language, letter.contact, notes)
            template = "rejection"
        message = self._message(view, template, sender, letter)
        message["Date"] = format_datetime(event.occurred_at)
        # deterministic: the same event and recipient always give the same Message-ID
        message["Message-ID"] = f"<{event.message_id}.{letter.role.value}@" \
                                f"{self._domain_of(sender)}>"
        message["X-Covenant-Correlation-Id"] = header_safe(event.correlation_id, 200)
        return message

    def digest(self, covenant: str, day: str, events: list[AssessmentCompleted],
               secretariat: Secretariat, sender: str) -> Mail:
        """One e-mail to the covenant's secretariat summarising the day's assessments."""
        letter = Letter(RecipientRole.SECRETARIAT, (secretariat.address_for(covenant),),
                        secretariat.language, "digest", f"secretariat:{covenant}",
                        secretariat.contact_for(covenant))
        view = letters.digest(covenant, date.fromisoformat(day), events,
                              secretariat.language.value)
        message = self._message(view, "digest", sender, letter)
        message["Message-ID"] = f"<digest.{covenant}.{day}@{self._domain_of(sender)}>"
        return message

    def _message(self, view: letters.View, template: str, sender: str, letter: Letter
                 ) -> Mail:
        message = Mail(sender, letter.to, self.render(view, f"{template}.txt"),
                       self.render(view, f"{template}.html"))
        if letter.contact.email:
            message["Reply-To"] = letter.contact.email
        message["Subject"] = header_safe(view.subject)
        message["Content-Language"] = view.language
        return message

    def render(self, view: letters.View, name: str) -> str:
        text = self._env.get_template(name).render(v=view)
        return self._inliner.inline(text) if name.endswith(".html") else text

    def _domain_of(self, sender: str) -> str:
        if self._domain:
            return self._domain
        address = parseaddr(sender)[1]
        return address.rpartition("@")[2] or "localhost"
