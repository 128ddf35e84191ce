"""`covenant locations ...`, `covenant signals ...` and `covenant report`: the secretariat's
covenant-level duties on the command line (the console offers the same).

Only the arguments here: the parser is built for every `covenant` command, `check` included,
whose cold start counts; what a command does (commands.py, with the register and its matching)
loads when it runs."""

import argparse
import getpass
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any


def _later(name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from . import commands

        return int(getattr(commands, name)(args))
    return run


def add_commands(sub: Any) -> None:
    """The `locations` and `signals` commands, on the main parser's subcommands."""
    locations = sub.add_parser("locations", help="the covenant's register of production "
                               "locations: matching, decisions, the published list (DATABASE_URL)")
    loc = locations.add_subparsers(required=True, metavar="ACTION")

    def command(parent: Any, name: str, run: str, help: str
                ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = parent.add_parser(name, help=help)
        p.add_argument("--covenant", help="default: the one covenant that keeps a list")
        p.add_argument("--lang", choices=("nl", "en"), default="nl")
        p.set_defaults(command=_later(run))
        return p

    command(loc, "refresh", "_refresh", "place the locations of plans accepted since the last "
            "time (every other command does this first)")
    command(loc, "candidates", "_candidates", "pairs that may be one place, for the secretariat "
            "to confirm or reject")
    for name, help in (("confirm", "the pair is one place: its entries merge"),
                       ("reject", "two places: the pair is never proposed again")):
        p = command(loc, name, "_decide", help)
        p.add_argument("ref", help="the candidate's reference (`locations candidates`)")
        p.add_argument("--user", default=getpass.getuser(), help="who decides (recorded)")
        p.set_defaults(action=name)
    show = command(loc, "show", "_show", "one place: its spellings, how each was matched, and "
                   "the companies that list it")
    show.add_argument("entry", help="the place's register id (IN-00042)")
    split = command(loc, "split", "_split", "take a spelling off a place it joined wrongly")
    split.add_argument("entry")
    split.add_argument("ref", help="the spelling's reference (`locations show`)")
    split.add_argument("--user", default=getpass.getuser(), help="who decides (recorded)")
    export = command(loc, "export", "_export", "the published list of a year, with no link to "
                     "any company, in Open Supply Hub's columns (.csv or .xlsx)")
    export.add_argument("--year", type=int, required=True)
    export.add_argument("--out", type=Path, required=True, help="FILE.csv or FILE.xlsx")
    export.set_defaults(lang="en")
    command(loc, "figures", "_figures", "the list's figures per year: places, shared places, "
            "countries, share in high-risk countries")

    report = sub.add_parser("report", help="a covenant's progress report of a year: "
                            "participants, coverage, plans on time, plans meeting the "
                            "requirements, findings, trends (.html or .xlsx; DATABASE_URL)")
    report.add_argument("--covenant", required=True)
    report.add_argument("--year", type=int, required=True)
    report.add_argument("--out", type=Path, required=True, help="FILE.html or FILE.xlsx")
    report.add_argument("--lang", choices=("nl", "en"), default="nl")
    report.set_defaults(command=_later("_report"))

    signals = sub.add_parser("signals", help="signals about listed locations, passed to the "
                             "companies that use them (DATABASE_URL; published over AMQP_URL)")
    sig = signals.add_subparsers(required=True, metavar="ACTION")
    add = command(sig, "add", "_signal_add", "record a signal and pass it to every company whose "
                  "latest plan lists the location")
    add.add_argument("--location", required=True, help="the place's register id (IN-00042)")
    add.add_argument("--received-on", type=date.fromisoformat, required=True,
                     help="YYYY-MM-DD")
    add.add_argument("--theme", required=True, help="one of the covenant's themes")
    add.add_argument("--source", required=True, help="who reported it (never shown to a "
                     "company)")
    add.add_argument("--summary", required=True, help="what was reported ('-': read from "
                     "standard input); confidential")
    add.add_argument("--user", default=getpass.getuser(), help="who records it")
    command(sig, "list", "_signal_list", "the signals and whom each was passed to")
    forward = command(sig, "forward", "_signal_forward", "pass a signal to companies that "
                      "listed its location since it was recorded")
    forward.add_argument("signal_id")
