"""What `covenant locations ...`, `covenant signals ...` and `covenant report` do (their
arguments: cli.py). Output in Dutch or English (`--lang`)."""

import argparse
import logging
import sys
from collections.abc import Callable
from typing import Any

from services.shared import i18n

from .store import RegisterError, ref_of

EXIT_OK, EXIT_FAILED = 0, 1


# --- wiring -------------------------------------------------------------------------------------

class _Context:
    def __init__(self, args: argparse.Namespace, listing: bool = True):
        from services.shared.covenants import load
        from services.shared.logging import configure_logging

        from .settings import RegisterSettings
        from .signals import SqlSignals
        from .store import SqlRegister

        configure_logging("WARNING", stream=sys.stderr)
        self.settings = RegisterSettings()
        self.covenants = load(self.settings.rules_dir)
        self.db = self.settings.database()
        self.register = SqlRegister(self.db, self.covenants, self.settings.thresholds())
        self.signals = SqlSignals(self.db, self.register, self.covenants)
        self.lang: str = args.lang
        self.w = WORDS[self.lang]
        keeping = [c.name for c in self.register.listing()]
        if not listing:
            if args.covenant not in self.covenants:
                raise RegisterError(self.w["unknown"].format(
                    covenant=args.covenant, known=i18n.items(self.covenants.names, self.lang)))
            self.covenant = args.covenant
        elif args.covenant:
            if args.covenant not in keeping:
                raise RegisterError(self.w["no_list"].format(covenant=args.covenant))
            self.covenant = args.covenant
        elif len(keeping) == 1:
            self.covenant = keeping[0]
        else:
            raise RegisterError(self.w["which"].format(known=", ".join(keeping) or "-"))

    def place(self, fields: dict[str, Any]) -> str:
        parts = [fields.get(k) for k in ("name", "address", "city", "region")]
        country = i18n.country(fields.get("country") or "", self.lang)
        return ", ".join(str(p) for p in (*parts, country) if p)


def _run(args: argparse.Namespace, body: Callable[[_Context], int], listing: bool = True
         ) -> int:
    try:
        return body(_Context(args, listing))
    except RegisterError as e:
        print(f"{WORDS[args.lang]['refused']}: {e}", file=sys.stderr)
        return EXIT_FAILED


def _refresh(args: argparse.Namespace) -> int:
    def body(c: _Context) -> int:
        done = c.register.refresh()
        print(c.w["refreshed"].format(
            plans=i18n.number(done.plans, c.lang), locations=i18n.number(done.locations, c.lang),
            candidates=i18n.number(done.candidates, c.lang)))
        return EXIT_OK
    return _run(args, body)


def _candidates(args: argparse.Namespace) -> int:
    def body(c: _Context) -> int:
        c.register.refresh()
        found = c.register.candidates(c.covenant)
        print(i18n.plural(len(found), c.w["candidates"], c.lang))
        for cand in found:
            print(f"\n  [{ref_of(cand.key)}] {c.w['score']} {i18n.share(cand.score, c.lang)}")
            print(f"    {c.w['listed_as']}: {c.place(cand.spelling)} "
                  f"({', '.join(cand.companies)}; {cand.own_entry})")
            print(f"    {c.w['may_be']} {cand.entry_id}: {c.place(cand.entry)}")
        return EXIT_OK
    return _run(args, body)


def _decide(args: argparse.Namespace) -> int:
    def body(c: _Context) -> int:
        key = _candidate_key(c, args.ref)
        if args.action == "confirm":
            entry = c.register.confirm(c.covenant, key, args.user)
            print(c.w["confirmed"].format(entry=entry))
        else:
            c.register.reject(c.covenant, key, args.user)
            print(c.w["rejected"])
        return EXIT_OK
    return _run(args, body)


def _candidate_key(c: _Context, ref: str) -> str:
    for cand in c.register.candidates(c.covenant):
        if ref_of(cand.key) == ref:
            return cand.key
    raise RegisterError(c.w["no_candidate"].format(ref=ref))


def _show(args: argparse.Namespace) -> int:
    from . import published

    def body(c: _Context) -> int:
        c.register.refresh()
        spellings = c.register.spellings(c.covenant, args.entry)
        if not spellings:
            raise RegisterError(c.w["no_entry"].format(entry=args.entry))
        print(args.entry)
        print(f"\n{c.w['spellings']}:")
        for s in spellings:
            how = published.WORDS[c.lang]["methods"][s["method"]]
            score = f", {c.w['score']} {i18n.share(s['score'], c.lang)}" if s["score"] else ""
            who = f", {s['decided_by']}" if s["decided_by"] else ""
            print(f"  [{ref_of(s['key'])}] {s['key'].split('|', 1)[1].replace('|', ', ')}")
            print(f"    {how}{score}{who}; {i18n.day(s['decided_at'], c.lang)} "
                  f"({c.w['thresholds']} {s['automatic']}/{s['candidate']}, {s['matcher']})")
        users = c.register.users_of(c.covenant, args.entry)
        print(f"\n{i18n.plural(len(users), c.w['used_by'], c.lang)}")
        for u in users:
            print(f"  {u.company_id} ({u.reporting_year}, {u.location_id}): "
                  f"{c.place(u.fields)}")
        return EXIT_OK
    return _run(args, body)


def _split(args: argparse.Namespace) -> int:
    def body(c: _Context) -> int:
        for s in c.register.spellings(c.covenant, args.entry):
            if ref_of(s["key"]) == args.ref:
                entry = c.register.split(c.covenant, s["key"], args.user)
                print(c.w["split"].format(entry=entry))
                return EXIT_OK
        raise RegisterError(c.w["no_spelling"].format(ref=args.ref, entry=args.entry))
    return _run(args, body)


def _export(args: argparse.Namespace) -> int:
    from . import published

    def body(c: _Context) -> int:
        c.register.refresh()
        spec = c.covenants[c.covenant].spec.locations
        assert spec is not None
        table = published.rows(c.register.entries(c.covenant, args.year), spec.sector, c.lang)
        if args.out.suffix.lower() == ".xlsx":
            published.write_xlsx(table, args.out, f"{c.covenant} {args.year}")
        elif args.out.suffix.lower() == ".csv":
            published.write_csv(table, args.out)
        else:
            raise RegisterError(c.w["suffix"])
        print(c.w["exported"].format(n=i18n.number(len(table), c.lang), out=args.out))
        return EXIT_OK
    return _run(args, body)


def _figures(args: argparse.Namespace) -> int:
    from . import published

    def body(c: _Context) -> int:
        for line in published.figures_text(_location_figures(c), c.lang):
            print(line)
        return EXIT_OK
    return _run(args, body)


def _report(args: argparse.Namespace) -> int:
    from . import report_view
    from .progress import report, summaries

    def body(c: _Context) -> int:
        from services.rules.adapters.rulefiles import load_rulebook
        from services.rules.tooling.frameworks import criteria_of, load_frameworks

        defined = c.covenants[c.covenant]
        framework = load_frameworks(c.settings.rules_dir).get(c.covenant)
        criteria = criteria_of(load_rulebook(c.settings.rules_dir), c.covenant) \
            if framework else None
        made = report(defined, args.year, summaries(c.db, defined), c.covenants.due_on,
                      framework, criteria)
        locations = _location_figures(c) if defined.spec.locations else None
        if args.out.suffix.lower() == ".xlsx":
            report_view.workbook(made, c.lang, args.out, locations)
        elif args.out.suffix.lower() == ".html":
            args.out.write_text(report_view.document(made, c.lang, locations),
                                encoding="utf-8")
        else:
            raise RegisterError(c.w["report_suffix"])
        print(c.w["reported"].format(out=args.out))
        return EXIT_OK
    return _run(args, body, listing=False)


def _location_figures(c: _Context) -> list[Any]:
    from . import published

    return published.every_year(c.register, c.covenant,
                                published.high_risk_in(c.settings.rules_dir))


def _signal_add(args: argparse.Namespace) -> int:
    def body(c: _Context) -> int:
        summary = sys.stdin.read() if args.summary == "-" else args.summary
        signal = c.signals.add(c.covenant, args.location, args.received_on, args.theme,
                               args.source, summary, args.user)
        print(c.w["signal_added"].format(signal=signal.signal_id))
        _told(c, signal.forwarded_to)
        return EXIT_OK
    return _run(args, body)


def _signal_forward(args: argparse.Namespace) -> int:
    def body(c: _Context) -> int:
        _told(c, tuple(c.signals.forward(args.signal_id)))
        return EXIT_OK
    return _run(args, body)


def _told(c: _Context, companies: tuple[str, ...]) -> None:
    from services.shared.messaging.pika_adapter import publish_confirmed
    from services.shared.outbox import OutboxRelay, SqlOutbox

    print(i18n.plural(len(companies), c.w["forwarded"], c.lang,
                      companies=", ".join(companies)) if companies else c.w["none_to_tell"])
    logging.getLogger("pika").setLevel(logging.CRITICAL)  # the outcome is said below
    try:
        OutboxRelay(SqlOutbox(c.db), lambda m: publish_confirmed(c.settings.broker(), m)
                    ).run_once()
    except Exception as e:  # the broker is away: the console's relay publishes them later
        print(c.w["held"].format(reason=type(e).__name__))


def _signal_list(args: argparse.Namespace) -> int:
    def body(c: _Context) -> int:
        found = c.signals.of_covenant(c.covenant)
        print(i18n.plural(len(found), c.w["signals"], c.lang))
        for s in found:
            print(f"\n  {s.signal_id} ({i18n.day(s.received_on, c.lang)}, "
                  f"{i18n.theme(s.theme, c.lang)}): {s.entry_id}")
            print(f"    {c.w['source']}: {s.source}")
            print("    " + i18n.plural(len(s.forwarded_to), c.w["forwarded"], c.lang,
                                       companies=", ".join(s.forwarded_to)))
        return EXIT_OK
    return _run(args, body)


WORDS: dict[str, dict[str, Any]] = {
    "nl": {
        "refused": "niet gedaan",
        "unknown": "'{covenant}' is geen convenant; bekend zijn: {known}",
        "report_suffix": "--out moet eindigen op .html of .xlsx",
        "reported": "Voortgangsrapportage geschreven naar {out}",
        "no_list": "het convenant {covenant} houdt geen lijst van locaties bij",
        "which": "welk convenant? Geef --covenant ({known})",
        "refreshed": "{plans} nieuwe plannen verwerkt: {locations} locaties geplaatst, "
                     "{candidates} nieuwe paren om te beoordelen",
        "candidates": {"one": "{n} paar wacht op uw oordeel", "other": "{n} paren wachten op "
                       "uw oordeel"},
        "score": "overeenkomst",
        "listed_as": "opgegeven als",
        "may_be": "is mogelijk",
        "confirmed": "Bevestigd: één locatie, voortaan {entry}.",
        "rejected": "Afgewezen: twee locaties; dit paar wordt niet opnieuw voorgelegd.",
        "no_candidate": "geen paar met kenmerk {ref} wacht op een oordeel",
        "no_entry": "geen locatie {entry} in het register",
        "no_spelling": "geen schrijfwijze {ref} bij {entry}",
        "spellings": "Schrijfwijzen",
        "thresholds": "drempels",
        "used_by": {"one": "{n} bedrijf gebruikt deze locatie:",
                    "other": "{n} bedrijven gebruiken deze locatie:"},
        "split": "Afgesplitst: voortaan een eigen locatie, {entry}.",
        "suffix": "--out moet eindigen op .csv of .xlsx",
        "exported": "{n} locaties geschreven naar {out}",
        "signal_added": "Signaal {signal} vastgelegd.",
        "forwarded": {"one": "Doorgestuurd aan {n} bedrijf: {companies}",
                      "other": "Doorgestuurd aan {n} bedrijven: {companies}"},
        "held": "De brieven wachten in de outbox tot de broker bereikbaar is ({reason}); de "
                "console verstuurt ze dan.",
        "none_to_tell": "Geen bedrijf om het aan door te sturen: wie de locatie gebruikt, "
                        "heeft het al.",
        "signals": {"one": "{n} signaal", "other": "{n} signalen"},
        "source": "bron (alleen voor het secretariaat)",
    },
    "en": {
        "refused": "not done",
        "unknown": "'{covenant}' is not a covenant; known are: {known}",
        "report_suffix": "--out must end in .html or .xlsx",
        "reported": "Progress report written to {out}",
        "no_list": "the covenant {covenant} keeps no list of locations",
        "which": "which covenant? Give --covenant ({known})",
        "refreshed": "{plans} new plans read: {locations} locations placed, {candidates} new "
                     "pairs to decide on",
        "candidates": {"one": "{n} pair waits for your decision",
                       "other": "{n} pairs wait for your decision"},
        "score": "similarity",
        "listed_as": "listed as",
        "may_be": "may be",
        "confirmed": "Confirmed: one place, from now on {entry}.",
        "rejected": "Rejected: two places; this pair will not be proposed again.",
        "no_candidate": "no pair with reference {ref} waits for a decision",
        "no_entry": "no location {entry} in the register",
        "no_spelling": "no spelling {ref} of {entry}",
        "spellings": "Spellings",
        "thresholds": "thresholds",
        "used_by": {"one": "{n} company uses this location:",
                    "other": "{n} companies use this location:"},
        "split": "Split off: a place of its own from now on, {entry}.",
        "suffix": "--out must end in .csv or .xlsx",
        "exported": "{n} locations written to {out}",
        "signal_added": "Signal {signal} recorded.",
        "forwarded": {"one": "Passed to {n} company: {companies}",
                      "other": "Passed to {n} companies: {companies}"},
        "held": "The letters wait in the outbox until the broker can be reached ({reason}); "
                "the console sends them then.",
        "none_to_tell": "No company to pass it to: every company that uses the location has "
                        "it already.",
        "signals": {"one": "{n} signal", "other": "{n} signals"},
        "source": "source (the secretariat's eyes only)",
    },
}
