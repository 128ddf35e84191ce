"""The register of production locations: matching as Open Supply Hub does it, the secretariat's
decisions kept across years, splits, the published list without any company link, the figures.
The store runs on SQLite and on PostgreSQL (the `database` fixture)."""

import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook

from services.register import published
from services.register.matching import Index, Method, Spelling, Thresholds, clean, score
from services.register.store import RegisterError, SqlRegister
from services.shared import covenants
from services.shared.db import Database
from tests.register import record, site

# --- matching ---------------------------------------------------------------------------------


def test_cleaning_transliterates_and_writes_out_the_usual_abbreviations() -> None:
    assert clean("Anadolu Örme A.Ş.") == "anadolu orme a s"
    assert clean("Example Garments Pvt. Ltd.") == "example garments private limited"
    assert clean("Plot No. 12, Example Rd") == clean("plot 12 example road")


def test_unit_numbers_are_compared_strictly() -> None:
    one = Spelling.of("IN", "Sun Textiles Unit 1", "SIDCO Estate, Tiruppur")
    two = Spelling.of("IN", "Sun Textiles Unit 2", "SIDCO Estate, Tiruppur")
    assert score(one, two) == 0.0
    # a postcode one company adds does not make another place of it
    plot = Spelling.of("IN", "Example Garments", "Plot 12, Example Road")
    coded = Spelling.of("IN", "Example Garments", "Plot 12, Example Road, 641603")
    assert score(plot, coded) >= 0.8


def test_only_locations_in_the_same_country_are_compared() -> None:
    a = Spelling.of("IN", "Example Garments", "Plot 12, Example Road")
    assert score(a, Spelling.of("BD", "Example Garments", "Plot 12, Example Road")) == 0.0


def test_the_two_thresholds_decide_between_automatic_candidate_and_new() -> None:
    index = Index(Thresholds(automatic=0.8, candidate=0.5))
    index.add(Spelling.of("IN", "Example Garments Ltd.", "Plot 12, Example Road"), "IN-00001")
    same = index.match(Spelling.of("IN", "Example Garments Limited", "Plot 12 Example Rd."))
    assert same.method is Method.EXACT  # cleaned to the same key
    close = index.match(Spelling.of("IN", "Exmple Garment Ltd", "Plot 12, Example Road"))
    assert (close.method, close.entry) == (Method.AUTOMATIC, "IN-00001")
    maybe = index.match(Spelling.of("IN", "Example Apparel Exports", "Example Road, Tiruppur"))
    assert maybe.entry is None and maybe.candidate == "IN-00001"
    assert 0.5 <= (maybe.score or 0) < 0.8
    other = index.match(Spelling.of("IN", "Lotus Knits", "Avinashi Road"))
    assert (other.entry, other.candidate) == (None, None)
    by_id = Index()
    by_id.add(Spelling.of("IN", "A", "B", os_id="IN2019123ABC"), "IN-00001")
    found = by_id.match(Spelling.of("IN", "Entirely Other", "Name", os_id="in2019123abc"))
    assert (found.method, found.entry) == (Method.OS_ID, "IN-00001")


def test_a_rejected_pair_is_never_proposed_again() -> None:
    index = Index()
    index.add(Spelling.of("IN", "Example Garments Ltd.", "Plot 12, Example Road"), "IN-00001")
    maybe = Spelling.of("IN", "Example Apparel Exports", "Example Road, Tiruppur")
    assert index.match(maybe).candidate == "IN-00001"
    index.rejected.add((maybe.key, "IN-00001"))
    assert index.match(maybe).candidate is None


# --- the register -------------------------------------------------------------------------------

SHARED_A = site("L-1", "Example Garments Ltd.", "Plot 12, Example Road", workers=850)
SHARED_B = site("F-7", "Exmple Garments Limited", "Plot 12, Example Rd., 641603", workers=900)
MAYBE = site("F-8", "Example Apparel Exports", "Example Road, Tiruppur")
UNIT_1 = site("L-2", "Sun Textiles Unit 1", "SIDCO Estate")
UNIT_2 = site("F-9", "Sun Textiles Unit 2", "SIDCO Estate")


def _register(db: Database) -> SqlRegister:
    return SqlRegister(db, covenants.current())


def test_two_companies_spelling_one_factory_differently_are_one_place_on_the_list(
        database: Database) -> None:
    record(database, "AGT-1", 2019, [SHARED_A, UNIT_1])
    record(database, "AGT-2", 2019, [SHARED_B, UNIT_2])
    register = _register(database)
    register.refresh()
    entries = register.entries("textile", 2019)
    assert len(entries) == 3  # the shared factory once; unit 1 and unit 2 apart
    shared = next(e for e in entries if len(e.companies) == 2)
    assert shared.companies == ("AGT-1", "AGT-2")
    assert shared.fields["workers"] == "850-900"  # the companies differ: a range
    spellings = register.spellings("textile", shared.entry_id)
    assert [s["method"] for s in spellings] == ["new", "automatic"]
    automatic = spellings[1]
    assert automatic["score"] >= 0.8 and automatic["matcher"].endswith("/matcher-1")
    assert (automatic["automatic"], automatic["candidate"]) == (0.8, 0.5)


def test_a_decided_candidate_is_not_asked_again_the_next_year(database: Database) -> None:
    record(database, "AGT-1", 2019, [SHARED_A])
    record(database, "AGT-2", 2019, [MAYBE])
    register = _register(database)
    register.refresh()
    [candidate] = register.candidates("textile")
    assert candidate.companies == ("AGT-2",)
    assert candidate.spelling["name"] == "Example Apparel Exports"
    assert candidate.entry["name"] == "Example Garments Ltd."
    merged = register.confirm("textile", candidate.key, "anna")
    assert register.candidates("textile") == []
    assert [e.companies for e in register.entries("textile", 2019)] == [("AGT-1", "AGT-2")]

    # the next year both companies upload the same lists again: nothing to ask, one place
    record(database, "AGT-1", 2020, [SHARED_A])
    record(database, "AGT-2", 2020, [MAYBE])
    assert register.refresh().candidates == 0
    assert register.candidates("textile") == []
    [entry] = register.entries("textile", 2020)
    assert entry.entry_id == merged and entry.companies == ("AGT-1", "AGT-2")
    with pytest.raises(RegisterError):
        register.confirm("textile", candidate.key, "anna")  # decided already


def test_a_rejected_candidate_stays_two_places_and_is_not_asked_again(
        database: Database) -> None:
    record(database, "AGT-1", 2019, [SHARED_A])
    record(database, "AGT-2", 2019, [MAYBE])
    register = _register(database)
    register.refresh()
    [candidate] = register.candidates("textile")
    register.reject("textile", candidate.key, "anna")
    # another company lists the rejected spelling next year: it joins that place, unasked
    record(database, "AGT-3", 2020, [site("Z-1", "Example Apparel Exports",
                                          "Example Road, Tiruppur")])
    record(database, "AGT-1", 2020, [SHARED_A])
    register.refresh()
    assert register.candidates("textile") == []
    assert sorted(e.companies for e in register.entries("textile", 2020)) == [
        ("AGT-1",), ("AGT-3",)]


def test_a_wrong_automatic_merge_can_be_split_and_stays_split(database: Database) -> None:
    record(database, "AGT-1", 2019, [SHARED_A])
    record(database, "AGT-2", 2019, [SHARED_B])
    register = _register(database)
    register.refresh()
    [entry] = register.entries("textile", 2019)
    wrong = register.spellings("textile", entry.entry_id)[1]["key"]
    new = register.split("textile", wrong, "anna")
    assert new != entry.entry_id
    assert sorted(e.companies for e in register.entries("textile", 2019)) == [
        ("AGT-1",), ("AGT-2",)]
    [split] = register.spellings("textile", new)
    assert (split["method"], split["decided_by"]) == ("split", "anna")
    # a third company's spelling like both is not merged back into the old one by itself
    record(database, "AGT-1", 2020, [SHARED_A])
    record(database, "AGT-2", 2020, [SHARED_B])
    register.refresh()
    assert len(register.entries("textile", 2020)) == 2
    with pytest.raises(RegisterError, match="no other spelling"):
        register.split("textile", wrong, "anna")


def test_a_company_counts_with_its_latest_plan_of_the_year(database: Database) -> None:
    record(database, "AGT-1", 2019, [SHARED_A, UNIT_1])
    record(database, "AGT-1", 2019, [UNIT_1], submitted="2019-05-01T10:00:00+02:00")
    register = _register(database)
    register.refresh()
    [entry] = register.entries("textile", 2019)
    assert entry.fields["name"] == "Sun Textiles Unit 1"
    assert register.refresh().plans == 0  # nothing placed twice


def test_inactive_locations_are_left_off_the_list(database: Database) -> None:
    record(database, "AGT-1", 2019, [SHARED_A, {**UNIT_1, "active": False,
                                                "exit": {"on": "2019-01-31",
                                                         "reason": "commercial"}}])
    register = _register(database)
    register.refresh()
    assert [e.fields["name"] for e in register.entries("textile", 2019)] == [
        "Example Garments Ltd."]


def test_the_published_list_names_no_company(database: Database, tmp_path: Path) -> None:
    record(database, "AGT-1", 2019, [SHARED_A, UNIT_1])
    record(database, "AGT-2", 2019, [SHARED_B, site("F-2", "Dhaka Knit", "Road 2",
                                                    city="Dhaka", country="BD")])
    register = _register(database)
    register.refresh()
    table = published.rows(register.entries("textile", 2019), "Apparel", "en")
    out = tmp_path / "list.csv"
    published.write_csv(table, out)
    with out.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(published.COLUMNS)
    assert [r["country"] for r in rows] == ["Bangladesh", "India", "India"]
    assert {r["sector"] for r in rows} == {"Apparel"}
    text = out.read_text(encoding="utf-8")
    for secret in ("AGT-1", "AGT-2", "Bedrijf", "L-1", "F-7", "mvo@"):
        assert secret not in text
    book = tmp_path / "list.xlsx"
    published.write_xlsx(table, book, "textile 2019")
    sheet = load_workbook(book).active
    assert sheet is not None
    values = [[c.value or "" for c in row] for row in sheet.iter_rows()]
    assert values[0] == list(published.COLUMNS)
    assert values[1:] == [[r[c] for c in published.COLUMNS] for r in rows]
    dutch = published.rows(register.entries("textile", 2019), "Apparel", "nl")
    assert dutch[0]["country"] == "Bangladesh" and dutch[1]["country"] == "India"


def test_figures_count_places_shared_places_and_high_risk_countries(database: Database) -> None:
    record(database, "AGT-1", 2019, [SHARED_A, UNIT_1])
    record(database, "AGT-2", 2019, [SHARED_B, site("F-2", "Porto Knit", "Rua 2",
                                                    city="Porto", country="PT")])
    register = _register(database)
    register.refresh()
    f = published.figures(2019, register.entries("textile", 2019), lambda c: c == "IN")
    assert (f.locations, f.shared, f.companies, f.high_risk) == (3, 1, 2, 2)
    assert f.by_country == {"IN": 2, "PT": 1}
    assert f.high_risk_share == pytest.approx(2 / 3)
    text = "\n".join(published.figures_text([f], "nl"))
    assert "3 unieke productielocaties" in text and "66,7% in hoogrisicolanden" in text


def test_two_refreshes_at_once_place_each_plan_once(database: Database) -> None:
    import threading

    for n in range(6):
        record(database, f"AGT-{n}", 2019, [SHARED_A, UNIT_1])
    other = Database(database.url) if database.dialect == "postgresql" else database
    registers = [_register(database), _register(other)]
    threads = [threading.Thread(target=r.refresh) for r in registers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = registers[0].entries("textile", 2019)
    assert len(entries) == 2 and all(len(e.companies) == 6 for e in entries)
    if other is not database:
        other.close()


def test_the_command_line_places_exports_and_reports(tmp_path: Path, monkeypatch,
                                                     capsys) -> None:
    from services.cli import main

    database = Database(f"sqlite:///{tmp_path}/cli.sqlite3")
    record(database, "AGT-1", 2019, [SHARED_A, UNIT_1])
    record(database, "AGT-2", 2019, [SHARED_B, MAYBE])
    monkeypatch.setenv("DATABASE_URL", database.url)
    assert main(["locations", "refresh", "--lang", "en"]) == 0
    assert "2 new plans read: 4 locations placed, 1 new pairs" in capsys.readouterr().out
    assert main(["locations", "candidates", "--lang", "en"]) == 0
    listed = capsys.readouterr().out
    assert "1 pair waits for your decision" in listed and "Example Apparel Exports" in listed
    ref = listed.split("[", 1)[1].split("]", 1)[0]
    assert main(["locations", "reject", ref, "--user", "anna", "--lang", "en"]) == 0
    assert "will not be proposed again" in capsys.readouterr().out
    assert main(["locations", "reject", ref, "--lang", "en"]) == 1
    assert "no pair with reference" in capsys.readouterr().err
    out = tmp_path / "list.xlsx"
    assert main(["locations", "export", "--year", "2019", "--out", str(out)]) == 0
    assert load_workbook(out).active.max_row == 1 + 3  # header, shared, unit 1, the other
    assert main(["locations", "export", "--year", "2019", "--out", str(tmp_path / "x.pdf")]) == 1
    assert main(["report", "--covenant", "textile", "--year", "2019", "--out",
                 str(tmp_path / "r.html")]) == 0
    assert "Voortgang kleding en textiel 2019" in (tmp_path / "r.html").read_text()
    assert main(["report", "--covenant", "fishing", "--year", "2019", "--out",
                 str(tmp_path / "r.html")]) == 1
    assert "'fishing' is geen convenant; bekend zijn: banking, food, gold, insurance, metals, " \
        "natural_stone en textile" in capsys.readouterr().err  # Dutch by default
