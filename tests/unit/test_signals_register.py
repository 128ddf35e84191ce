"""Signals recorded by the secretariat reach exactly the companies whose latest accepted plan
lists the location (after matching), once each, in a letter in their language that never names
the reporter; DD6-COVENANT-SIGNALS-FOLLOWED-UP reads the register. SQLite and PostgreSQL."""

import email
import json
from datetime import date, timedelta
from email import policy
from pathlib import Path

import pytest

from services.notify.domain import Renderer, Secretariat, letters_for
from services.register.signals import SqlSignals
from services.register.store import RegisterError, SqlRegister
from services.rules.adapters.signals import SqlSignalRegister
from services.rules.core.prior import Prior
from services.rules.factory import engine_from_folder
from services.shared import covenants
from services.shared.contracts import Language, RecipientRole
from services.shared.contracts.messages import NOTIFY_INPUT, SignalForwarded
from services.shared.covenants import BUNDLED_RULES
from services.shared.db import Database
from services.shared.outbox import SqlOutbox
from tests.register import plan_of, record, site

SHARED_A = site("L-1", "Example Garments Ltd.", "Plot 12, Example Road")
SHARED_B = site("F-7", "Exmple Garments Limited", "Plot 12, Example Rd.")
ELSEWHERE = site("L-2", "Sun Textiles Unit 1", "SIDCO Estate")
SOURCE = "Clean Clothes Campaign, caller +31 6 12345678"
SUMMARY = "Workers report forced overtime before shipment deadlines."


def _setup(db: Database) -> tuple[SqlRegister, SqlSignals]:
    register = SqlRegister(db, covenants.current())
    return register, SqlSignals(db, register, covenants.current())


def _entry_of(register: SqlRegister, company: str, year: int) -> str:
    register.refresh()
    return next(e.entry_id for e in register.entries("textile", year)
                if company in e.companies and e.fields["name"].startswith("Ex"))


def _events(db: Database) -> list[SignalForwarded]:
    return [NOTIFY_INPUT.validate_json(m.body) for m in SqlOutbox(db).pending()]  # type: ignore[misc]


def test_a_signal_reaches_each_company_that_uses_the_place_once(database: Database) -> None:
    record(database, "AGT-1", 2019, [SHARED_A, ELSEWHERE])
    record(database, "AGT-2", 2019, [SHARED_B], language="en")
    record(database, "AGT-3", 2019, [ELSEWHERE])
    register, signals = _setup(database)
    entry = _entry_of(register, "AGT-1", 2019)
    signal = signals.add("textile", entry, date(2019, 9, 2), "forced_labour", SOURCE,
                         SUMMARY, "anna")
    assert signal.forwarded_to == ("AGT-1", "AGT-2")  # AGT-2 spelled it otherwise
    events = {e.company_id: e for e in _events(database)}
    assert sorted(events) == ["AGT-1", "AGT-2"]
    one, two = events["AGT-1"], events["AGT-2"]
    # each company is told of the place as it listed it, in its own language
    assert (one.location.location_id, one.location.name) == ("L-1", "Example Garments Ltd.")
    assert (two.location.location_id, two.location.name) == ("F-7", "Exmple Garments Limited")
    assert (one.language, two.language) == (Language.NL, Language.EN)
    assert one.signal_id == signal.signal_id and one.summary == SUMMARY
    assert one.next_plan_due_on is not None and one.next_plan_due_on.year == 2020
    for e in events.values():
        assert "Clean Clothes" not in e.model_dump_json() and "12345678" not in \
            e.model_dump_json()

    assert signals.forward(signal.signal_id) == []  # told already: nobody twice
    assert len(_events(database)) == 2


def test_a_company_that_lists_the_place_later_is_told_when_forwarded_again(
        database: Database) -> None:
    record(database, "AGT-1", 2019, [SHARED_A])
    register, signals = _setup(database)
    signal = signals.add("textile", _entry_of(register, "AGT-1", 2019), date(2019, 9, 2),
                         "forced_labour", SOURCE, SUMMARY, "anna")
    record(database, "AGT-4", 2020, [SHARED_B])
    assert signals.forward(signal.signal_id) == ["AGT-4"]
    assert signals.get(signal.signal_id).forwarded_to == ("AGT-1", "AGT-4")  # type: ignore[union-attr]


def test_a_company_whose_latest_plan_dropped_the_place_is_not_told(database: Database) -> None:
    record(database, "AGT-1", 2019, [SHARED_A])
    record(database, "AGT-2", 2019, [SHARED_B])
    register, signals = _setup(database)
    entry = _entry_of(register, "AGT-1", 2019)
    record(database, "AGT-2", 2020, [ELSEWHERE])
    signal = signals.add("textile", entry, date(2020, 5, 1), "living_wage", SOURCE,
                         SUMMARY, "anna")
    assert signal.forwarded_to == ("AGT-1",)


def test_what_cannot_be_a_signal_is_refused_with_the_reason(database: Database) -> None:
    record(database, "AGT-1", 2019, [SHARED_A])
    register, signals = _setup(database)
    entry = _entry_of(register, "AGT-1", 2019)
    with pytest.raises(RegisterError, match="not a theme"):
        signals.add("textile", entry, date(2019, 9, 2), "fishing", SOURCE, SUMMARY, "anna")
    with pytest.raises(RegisterError, match="no location IN-99999"):
        signals.add("textile", "IN-99999", date(2019, 9, 2), "forced_labour", SOURCE,
                    SUMMARY, "anna")
    with pytest.raises(RegisterError, match="keeps no list"):
        signals.add("banking", entry, date(2019, 9, 2), "forced_labour", SOURCE, SUMMARY,
                    "anna")
    with pytest.raises(RegisterError, match="summary"):
        signals.add("textile", entry, date(2019, 9, 2), "forced_labour", SOURCE, " ", "anna")
    assert signals.of_covenant("textile") == []


def test_the_letter_speaks_the_companys_language_and_never_names_the_reporter(
        database: Database) -> None:
    record(database, "AGT-1", 2019, [SHARED_A])
    record(database, "AGT-2", 2019, [SHARED_B], language="en")
    register, signals = _setup(database)
    signals.add("textile", _entry_of(register, "AGT-1", 2019), date(2019, 9, 2),
                "forced_labour", SOURCE, SUMMARY, "anna")
    secretariat = Secretariat({"*": "secretariaat@ser.example"}, Language.NL)
    texts = {}
    for event in _events(database):
        [letter] = letters_for(event, secretariat)  # the secretariat wrote it: no copy
        assert letter.role is RecipientRole.COMPANY
        assert letter.to == (f"mvo@{event.company_id.lower()}.example",)
        message = email.message_from_bytes(
            Renderer().compose(event, letter, "noreply@ser.example").as_bytes(),
            policy=policy.default)
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        for body in (text, html):
            assert "Clean Clothes" not in body and "12345678" not in body
            assert event.signal_id in body
        texts[event.language.value] = (message["Subject"], text)
    subject, text = texts["nl"]
    assert subject == "Signaal over een productielocatie van u: Example Garments Ltd. (India)"
    assert "2 september 2019" in text and "dwangarbeid" in text and SUMMARY in text
    assert "uiterlijk 1 april 2020" in text
    subject, text = texts["en"]
    assert subject == ("A signal about one of your production locations: Exmple Garments "
                       "Limited (India)")
    assert "2 September 2019" in text and "forced labour" in text


def test_dd6_reads_the_register_next_year(database: Database) -> None:
    record(database, "AGT-1", 2019, [SHARED_A])
    register, signals = _setup(database)
    signal = signals.add("textile", _entry_of(register, "AGT-1", 2019), date(2019, 9, 2),
                         "forced_labour", SOURCE, SUMMARY, "anna")
    forwarded = SqlSignalRegister(database).forwarded("AGT-1", "textile")
    assert [s.signal_ref for s in forwarded] == [signal.signal_id]
    assert SqlSignalRegister(database).forwarded("AGT-2", "textile") == ()
    engine = engine_from_folder(Path(BUNDLED_RULES))
    # the forward is dated today: next year's plan is submitted well over 30 days later
    later = (date.today() + timedelta(days=60)).isoformat() + "T10:00:00+01:00"
    year = date.today().year + 1

    def dd6(cases: list[dict[str, object]]) -> list[str]:
        plan = plan_of("AGT-1", year, [SHARED_A], submitted=later, cases=cases)
        findings = engine.evaluate(plan, Prior(known=True, signals=forwarded))
        return [json.dumps(f.pointers) for f in findings
                if f.rule_id == "DD6-COVENANT-SIGNALS-FOLLOWED-UP"]

    assert len(dd6([])) == 1
    case = {"case_id": "G-1", "received_on": "2019-09-10", "channel": "covenant_secretariat",
            "signal_ref": signal.signal_id, "theme": "forced_labour", "location_ids": ["L-1"],
            "status": "open"}
    assert dd6([case]) == []
