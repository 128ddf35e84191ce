"""Who is told what: the recipient choice of notify (`letters_for`, `webhook_key`,
`webhook_payload`, the secretariat's addresses and contacts), as a decision table.

Written against the mutants `make mutate` found alive in services/notify/domain.py: every
field of every letter is pinned, for each kind of event and each setting that changes it."""

import json

import pytest

from services.notify.domain import Secretariat, letters_for, webhook_key, webhook_payload
from services.notify.letters import Contact as LetterContact
from services.shared.contracts import (
    AssessmentCompleted,
    Language,
    RecipientRole,
    ReviewFinalised,
    SignalForwarded,
    SubmissionRejected,
)

SECRETARIAT = Secretariat(
    {"*": "secretariaat@ser.example", "banking": "dba@ser.example"}, Language.NL,
    contacts={"*": {"name": "Team IMVO", "phone": "+31 70 000 0000"},
              "banking": {"name": "Team Banken"}})
COMPANY_FIELDS = dict(submission_id="S-1", covenant="textile", reporting_year=2019,
                      company_id="AGT-1", company_name="Mode B.V.", findings=[])


def assessment(**changes) -> AssessmentCompleted:
    return AssessmentCompleted.model_validate(
        {"correlation_id": "c-1", "language": "en", "contacts": [{"email": "csr@mode.example"}],
         "ruleset_version": "rs-1", "as_of": "2019-03-28", **COMPANY_FIELDS, **changes})


def feedback(**changes) -> ReviewFinalised:
    return ReviewFinalised.model_validate(
        {"correlation_id": "c-2", "language": "en", "contacts": [{"email": "csr@mode.example"}],
         **COMPANY_FIELDS, **changes})


def rejection(**changes) -> SubmissionRejected:
    return SubmissionRejected.model_validate(
        {"correlation_id": "c-3", "reason": "invalid", "errors_total": 0, "errors": [],
         "language": "en", "contacts": [{"email": "csr@mode.example"}], **changes})


def signal(**changes) -> SignalForwarded:
    return SignalForwarded.model_validate(
        {"correlation_id": "SIG-2019-0001", "signal_id": "SIG-2019-0001", "submission_id": "S-1",
         "covenant": "textile", "company_id": "AGT-1", "company_name": "Mode B.V.",
         "language": "en", "contacts": [{"email": "csr@mode.example"}],
         "received_on": "2019-09-02", "theme": "forced_labour", "summary": "...",
         "location": {"location_id": "L-1", "name": "Example Garments", "country": "IN"},
         **changes})


def rows(letters) -> list[tuple]:
    return [(x.role, x.to, x.language, x.template, x.recipient, x.contact) for x in letters]


TEXTILE_CONTACT = LetterContact("Team IMVO", "secretariaat@ser.example", "+31 70 000 0000")
COMPANY, SECR = RecipientRole.COMPANY, RecipientRole.SECRETARIAT


def test_an_assessment_goes_to_the_company_and_to_its_covenants_secretariat():
    assert rows(letters_for(assessment(), SECRETARIAT)) == [
        (COMPANY, ("csr@mode.example",), Language.EN, "assessment", "company:AGT-1",
         TEXTILE_CONTACT),
        (SECR, ("secretariaat@ser.example",), Language.NL, "assessment", "secretariat:textile",
         TEXTILE_CONTACT)]


def test_a_banking_assessment_names_the_banking_secretariat_and_its_contact():
    contact = LetterContact("Team Banken", "dba@ser.example", None)
    assert rows(letters_for(assessment(covenant="banking"), SECRETARIAT)) == [
        (COMPANY, ("csr@mode.example",), Language.EN, "assessment", "company:AGT-1", contact),
        (SECR, ("dba@ser.example",), Language.NL, "assessment", "secretariat:banking", contact)]


def test_a_secretariat_without_a_contact_for_the_covenant_falls_back_to_the_general_one():
    plain = Secretariat({"*": "s@ser.example"}, Language.EN)
    assert plain.contact_for("textile") == LetterContact(None, "s@ser.example", None)
    assert plain.contact_for(None) == LetterContact(None, "s@ser.example", None)
    assert SECRETARIAT.contact_for("gold") == LetterContact(
        "Team IMVO", "secretariaat@ser.example", "+31 70 000 0000")
    assert SECRETARIAT.address_for(None) == "secretariaat@ser.example"
    only_named = Secretariat({"*": "s@ser.example"}, Language.EN, contacts={"textile": {}})
    assert only_named.contact_for("textile") == LetterContact(None, "s@ser.example", None)


def test_a_rejection_without_a_covenant_goes_to_the_general_secretariat():
    assert rows(letters_for(rejection(), SECRETARIAT)) == [
        (COMPANY, ("csr@mode.example",), Language.EN, "rejection", "company:None",
         TEXTILE_CONTACT),
        (SECR, ("secretariaat@ser.example",), Language.NL, "rejection", "secretariat:*",
         TEXTILE_CONTACT)]


def test_feedback_goes_to_the_company_only_as_the_secretariat_wrote_it():
    assert rows(letters_for(feedback(), SECRETARIAT)) == [
        (COMPANY, ("csr@mode.example",), Language.EN, "feedback", "company:AGT-1",
         TEXTILE_CONTACT)]
    digest = Secretariat(SECRETARIAT.addresses, Language.NL, digest=True)
    assert [x.role for x in letters_for(feedback(), digest)] == [COMPANY]


def test_a_signal_goes_to_the_company_only_as_the_secretariat_recorded_it():
    assert rows(letters_for(signal(), SECRETARIAT)) == [
        (COMPANY, ("csr@mode.example",), Language.EN, "signal", "company:AGT-1",
         TEXTILE_CONTACT)]
    for company_letter in ("automatic", "after_review"):  # not an automatic assessment
        assert [x.role for x in letters_for(signal(), SECRETARIAT,
                                            company_letter=company_letter)] == [COMPANY]


@pytest.mark.parametrize("company_letter, told", [
    ("automatic", [COMPANY, SECR]), ("after_review", [SECR])])
def test_after_review_holds_back_only_the_automatic_assessment_to_the_company(
        company_letter, told):
    roles = [x.role for x in letters_for(assessment(), SECRETARIAT,
                                         company_letter=company_letter)]
    assert roles == told
    for event in (rejection(), feedback()):  # the other letters are unchanged
        assert letters_for(event, SECRETARIAT, company_letter=company_letter) == \
            letters_for(event, SECRETARIAT)


def test_a_digest_replaces_only_the_secretariats_assessment_letters():
    digest = Secretariat(SECRETARIAT.addresses, Language.NL, digest=True)
    assert [x.role for x in letters_for(assessment(), digest)] == [COMPANY]
    assert [x.role for x in letters_for(rejection(), digest)] == [COMPANY, SECR]
    assert letters_for(assessment(contacts=[]), digest) == []


def test_without_contacts_a_company_is_told_only_through_its_own_webhook():
    quiet = assessment(contacts=[])
    assert [x.role for x in letters_for(quiet, SECRETARIAT)] == [SECR]
    assert [x.role for x in letters_for(quiet, SECRETARIAT,
                                        frozenset({"company:OTHER"}))] == [SECR]
    hooked = letters_for(quiet, SECRETARIAT, frozenset({"company:AGT-1"}))
    assert rows(hooked)[0] == (COMPANY, (), Language.EN, "assessment", "company:AGT-1",
                               TEXTILE_CONTACT)
    # a rejection of an unknown company has no company id: no webhook can claim it
    assert [x.role for x in letters_for(rejection(contacts=[]), SECRETARIAT,
                                        frozenset({"company:None"}))] == [SECR]


def test_a_repeated_address_is_written_once_and_the_count_is_capped():
    event = assessment(contacts=[{"email": "a@mode.example"}, {"email": "b@mode.example"},
                                 {"email": "a@mode.example"}, {"email": "c@mode.example"}])
    assert letters_for(event, SECRETARIAT)[0].to == (
        "a@mode.example", "b@mode.example", "c@mode.example")
    assert letters_for(event, SECRETARIAT, max_recipients=2)[0].to == (
        "a@mode.example", "b@mode.example")


def test_a_webhook_serves_only_its_own_recipient():
    company, secretariat = letters_for(assessment(), SECRETARIAT)
    assert webhook_key(company, frozenset({"company:AGT-1"})) == "company:AGT-1"
    assert webhook_key(company, frozenset({"company:OTHER", "secretariat:*"})) is None
    assert webhook_key(secretariat, frozenset({"secretariat:textile", "secretariat:*"})) == \
        "secretariat:textile"
    assert webhook_key(secretariat, frozenset({"secretariat:*"})) == "secretariat:*"
    assert webhook_key(secretariat, frozenset({"secretariat:banking", "company:AGT-1"})) is None


def test_a_webhook_payload_is_the_event_for_its_recipient_without_addresses():
    event = assessment()
    company, secretariat = letters_for(event, SECRETARIAT)
    body = json.loads(webhook_payload(event, secretariat, "d-1"))
    assert set(body) == {"delivery", "recipient", "language", "event"}
    assert (body["delivery"], body["recipient"], body["language"]) == ("d-1", "secretariat", "nl")
    assert body["event"] == event.model_dump(mode="json", exclude={"contacts"})
    assert "csr@mode.example" not in webhook_payload(event, company, "d-2").decode()
    raw = webhook_payload(assessment(company_name="Modé B.V."), company, "d-2")
    assert "Modé".encode() in raw  # UTF-8, not escaped
    assert raw == json.dumps(json.loads(raw), ensure_ascii=False, sort_keys=True).encode()
