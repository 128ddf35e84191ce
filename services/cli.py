"""`covenant`: the command line of the covenant compliance system.

    covenant run [PATH...]        one-process pipeline over the examples or the given plans
    covenant check FILE...        validate and evaluate locally, as a company would
    covenant ingest|rules|notify  run a service against RabbitMQ at AMQP_URL
    covenant rules lint|test|explain|diff   tools for the rule files
    covenant submit FILE...       publish plans as an upstream system would, with confirms
    covenant archive list|show    the assessments and notifications notify kept
    covenant locations refresh|candidates|confirm|reject|show|split|export|figures
                                  the covenant's register of production locations
    covenant signals add|list|forward     signals about listed locations, to their users
    covenant notify digest        the secretariat's daily digest
    covenant db upgrade|current|history   the database schema's migrations (DATABASE_URL)
    covenant deadletters list|redrive     the dead-letter queues (AMQP_URL)
    covenant topology declare|definitions   the broker topology: declared, or as definitions
"""

import argparse
import contextlib
import gc
import json
import os
import re
import sys
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from services.bundled import bundled
from services.shared.contracts import (
    FieldError,
    Finding,
    PlanInvalid,
    PlanSubmission,
    Severity,
    parse_plan,
)
from services.shared.logging import configure_logging, redact_credentials

EXIT_OK, EXIT_FINDINGS, EXIT_INVALID = 0, 1, 2
EXIT_UNASSESSED = 3  # a valid plan the rule set could not assess (a limit of the engine)
EXIT_CONFIG = 78  # sysexits' EX_CONFIG
EXIT_UNAVAILABLE = 69  # sysexits' EX_UNAVAILABLE
BLOCKING = (Severity.CRITICAL, Severity.HIGH)


def console() -> None:
    """The `covenant` command. After a `check`, the process ends without tearing the
    interpreter down (freeing every module and object: about 80 ms, a tenth of a cold check),
    as mypy does; output is flushed first, and `check` leaves nothing else to finish."""
    code = main()
    if sys.argv[1:2] == ["check"]:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(BrokenPipeError):  # the reader stopped reading
                stream.flush()
        os._exit(code)
    sys.exit(code)


class _NeverRaised(Exception):
    pass


def _settings_error() -> type[Exception]:
    """pydantic-settings' error, when a command read settings: only then can it be raised, and
    a `check` does not pay 20 ms to import it."""
    module = sys.modules.get("pydantic_settings")
    return module.SettingsError if module else _NeverRaised


def main(argv: Sequence[str] | None = None) -> int:
    from pydantic import ValidationError

    from services.shared.errors import ConfigError, Unavailable

    args = _parser().parse_args(argv)
    try:
        return int(args.command(args) or 0)
    except BrokenPipeError:  # the reader stopped reading (`covenant check ... | head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # as Python's docs advise
        return EXIT_OK
    except _settings_error() as e:  # e.g. a JSON setting that is not JSON; names the field
        field = re.search(r'field "([a-z_]+)"', str(e))
        name = field.group(1).upper() if field else "a setting"
        print(f"configuration error: {name}: cannot be read (JSON settings must be valid "
              "JSON)", file=sys.stderr)
    except Unavailable as e:  # at start: the database is not there (yet)
        print(f"unavailable: {e.reason}; try again when it is up (a supervisor restarts "
              "the service)", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except ValidationError as e:
        if not e.title.endswith("Settings"):
            raise
        # each variable and what is wrong with it, never its value (it may be a secret)
        for error in e.errors(include_input=False, include_url=False):
            name = "_".join(str(part) for part in error["loc"]).upper()
            print(f"configuration error: {name}: {error['msg']}", file=sys.stderr)
    except ConfigError as e:
        print(f"configuration error: {e}", file=sys.stderr)
    return EXIT_CONFIG


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="covenant", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="one-process pipeline on embedded defaults")
    run.add_argument("paths", nargs="*", type=Path, help="plan files or folders "
                     "(default: the bundled examples)")
    run.add_argument("--outbox", type=Path, help="folder for .eml files (default: OUTBOX_DIR)")
    run.set_defaults(command=_run)

    check = sub.add_parser("check", help="validate and evaluate plans locally; exit 0 when "
                           "nothing high or critical, 1 when something is, 2 when invalid, 3 "
                           "when a valid plan could not be assessed")
    check.add_argument("files", nargs="+", type=Path)
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument("--lang", choices=("nl", "en"),
                       help="language of the text output (default: the plan's own)")
    check.set_defaults(command=_check)

    services = {s: sub.add_parser(s, help=f"run the {s} service against RabbitMQ"
                                  + (", or a tool for the rule files" if s == "rules" else ""))
                for s in ("ingest", "rules", "notify")}
    for service, p in services.items():
        p.add_argument("--metrics-port", type=int, help="Prometheus port (default: METRICS_PORT)")
        p.set_defaults(command=_service, service=service)

    console = sub.add_parser("console", help="the secretariat's web console")
    console_sub = console.add_subparsers(dest="console_command", required=True)
    console_sub.add_parser("serve", help="serve the console (CONSOLE_HOST, CONSOLE_PORT)"
                           ).set_defaults(command=_console_serve)
    demo = console_sub.add_parser(
        "demo", help="the console over what `make run` assessed (var/demo.sqlite3), with demo "
        "accounts; feedback letters to the outbox folder")
    demo.add_argument("--port", type=int, help="default: CONSOLE_PORT; 0 for any free port")
    demo.set_defaults(command=_console_demo)
    user = console_sub.add_parser("user", help="console accounts")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="create an account; the password is read from "
                              "standard input (one line) or asked for")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=("secretariat", "auditor", "company"))
    add.add_argument("--covenant", help="the one covenant it sees (default: all); required "
                     "for a company account")
    add.add_argument("--company", help="a company account's company id")
    add.add_argument("--language", choices=("nl", "en"), default="nl")
    add.add_argument("--oidc", action="store_true", help="no password: the account logs in "
                     "through the OpenID Connect provider only (OIDC_ISSUER), as NAME")
    add.set_defaults(command=_console_user_add)

    defined = sub.add_parser("covenants", help="the covenants defined under RULES_DIR/covenants/")
    defined_sub = defined.add_subparsers(dest="covenants_command", required=True)
    listing = defined_sub.add_parser("list", help="each covenant: name, title, rules in scope")
    listing.add_argument("--lang", choices=("nl", "en"), default="nl")
    listing.set_defaults(command=_covenants_list)
    shown = defined_sub.add_parser("show", help="what the services take from one definition")
    shown.add_argument("name")
    shown.add_argument("--lang", choices=("nl", "en"), default="nl")
    shown.set_defaults(command=_covenants_show)
    defined_sub.add_parser("lint", help="check the definitions; each problem with file:line"
                           ).set_defaults(command=_covenants_lint)

    from services.register.cli import add_commands as register_commands

    register_commands(sub)

    submit = sub.add_parser("submit", help="publish plans to RabbitMQ with publisher confirms")
    submit.add_argument("files", nargs="+", type=Path)
    submit.set_defaults(command=_submit)

    notify_sub = services["notify"].add_subparsers(
        metavar="ACTION", help="digest: send the secretariat's daily digest; none: run the service")
    digest = notify_sub.add_parser("digest", help="one e-mail per covenant with a day's "
                                   "assessments, to its secretariat (SECRETARIAT_DIGEST)")
    digest.add_argument("--day", type=date.fromisoformat, help="YYYY-MM-DD (default: yesterday, "
                        "UTC)")
    digest.set_defaults(command=_notify_digest)
    rules_sub = services["rules"].add_subparsers(
        metavar="ACTION", help="a tool for the rule files under RULES_DIR; none: run the service")
    lint = rules_sub.add_parser("lint", help="check the rule files; each error with file:line")
    lint.set_defaults(command=_rules_lint)
    test = rules_sub.add_parser("test", help="run the test cases beside the rule files")
    test.add_argument("--coverage", action="store_true",
                      help="list rules without a firing and a non-firing case")
    test.add_argument("--min-coverage", type=float, default=100.0, metavar="PCT",
                      help="with --coverage: fail below this share of covered rules (100)")
    test.set_defaults(command=_rules_test)
    explain = rules_sub.add_parser("explain", help="why a rule did or did not fire on a plan")
    explain.add_argument("plan", type=Path)
    explain.add_argument("rule_id")
    explain.set_defaults(command=_rules_explain)
    diff = rules_sub.add_parser("diff", help="findings that appear and disappear on a corpus "
                                "when the rule files change")
    diff.add_argument("--base", required=True, help="a git ref or a folder of rule files")
    diff.add_argument("corpus", nargs="+", type=Path, help="plan files or folders")
    diff.set_defaults(command=_rules_diff)
    crosscheck = rules_sub.add_parser(
        "crosscheck", help="evaluate the test cases and generated plans with durable-rules and "
        "with a plain reading of the rules; exit 1 when they disagree")
    crosscheck.add_argument("--plans", type=int, default=1000, help="generated plans (1000)")
    crosscheck.add_argument("--seed", type=int, default=1, help="generator seed (1)")
    crosscheck.set_defaults(command=_rules_crosscheck)

    archive = sub.add_parser("archive", help="assessments and notifications kept by notify "
                             "(DATABASE_URL)")
    archive_sub = archive.add_subparsers(required=True, metavar="ACTION")
    listing = archive_sub.add_parser("list", help="a company's assessments across years")
    listing.add_argument("--company", help="company id (default: all)")
    listing.add_argument("--covenant", help="a covenant's name (default: all)")
    listing.set_defaults(command=_archive_list)
    show = archive_sub.add_parser("show", help="one assessment or rejection, with deliveries")
    show.add_argument("id", help="submission id or message id")
    show.set_defaults(command=_archive_show)

    dead = sub.add_parser("deadletters", help="the dead-letter queues at AMQP_URL: list them, "
                          "send them back once the cause is fixed")
    dead_sub = dead.add_subparsers(required=True, metavar="ACTION")
    dead_list = dead_sub.add_parser("list", help="each dead letter's stage, id and reason "
                                    "(nothing is removed)")
    dead_list.add_argument("--stage", choices=("ingest", "rules", "notify"),
                           help="one stage (default: all)")
    dead_list.set_defaults(command=_deadletters_list)
    dead_redrive = dead_sub.add_parser("redrive", help="publish a stage's dead letters again "
                                       "by the way they first came, then remove them")
    dead_redrive.add_argument("--stage", choices=("ingest", "rules", "notify"), required=True)
    dead_redrive.add_argument("--limit", type=int, default=1000, help="at most this many (1000)")
    dead_redrive.add_argument("--dry-run", action="store_true", help="only say what would move")
    dead_redrive.set_defaults(command=_deadletters_redrive)

    db = sub.add_parser("db", help="the database schema at DATABASE_URL: its migrations")
    db_sub = db.add_subparsers(required=True, metavar="ACTION")
    upgrade = db_sub.add_parser("upgrade", help="bring the schema to this release's (or to "
                                "--revision); from empty, an earlier revision or the first "
                                "release")
    upgrade.add_argument("--revision", default="head", help="target revision (head)")
    upgrade.set_defaults(command=_db_upgrade)
    db_sub.add_parser("current", help="the revision the database is at, and this release's "
                      "(exit 1 when they differ)").set_defaults(command=_db_current)
    db_sub.add_parser("history", help="every revision, oldest first").set_defaults(
        command=_db_history)

    topology = sub.add_parser("topology", help="broker topology")
    topology_sub = topology.add_subparsers(required=True, metavar="ACTION")
    topology_sub.add_parser("declare", help="declare exchanges and queues on RabbitMQ at "
                            "AMQP_URL").set_defaults(command=_declare)
    definitions = topology_sub.add_parser(
        "definitions", help="the topology in RabbitMQ's definitions format, with the vhost, "
        "users and permissions, for a node to load at boot")
    definitions.add_argument("--users", type=Path, help='JSON file: {"name": {"password": '
                             '..., "role": "services|publisher|administrator"}} (a secret)')
    definitions.add_argument("--out", type=Path, help="write here (default: standard output)")
    definitions.set_defaults(command=_definitions)
    return parser


# --- one-process mode ---------------------------------------------------------------------

def _run(args: argparse.Namespace) -> int:
    from services.pipeline import LocalPipeline, plan_files

    _quiet_logging()
    files = plan_files(args.paths or [bundled("examples")])
    if not files:
        print("no plan files found", file=sys.stderr)
        return EXIT_INVALID
    pipeline = LocalPipeline.on_embedded_defaults(args.outbox)
    for report in pipeline.run(files):
        print(f"\n{report.source}\n  {report.outcome}")
        if report.rejection:
            _print_errors(report.rejection.errors, report.rejection.errors_total,
                          report.rejection.language.value)
        if report.assessment:
            a = report.assessment
            print(f"  submission {a.submission_id} ({a.covenant}, {a.company_name}); "
                  f"rule set {a.ruleset_version}")
            _print_findings(a.findings, a.covenant, a.language.value)
        for reason in report.dead_letters:
            print(f"  dead-lettered: {reason}")
        where = {n.recipient_role.value: n.channel for n in report.notifications}
        if where:
            print("  notified: " + ", ".join(f"{role} ({ch})" for role, ch in where.items())
                  + (f" -> {pipeline.outbox}/" if pipeline.outbox else ""))
    return EXIT_OK


# --- check --------------------------------------------------------------------------------

def started() -> None:
    """Start-up is over: the garbage collector, when the entry point turned it off for it
    (services/command.py), runs again, and never again over what start-up made."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def _check(args: argparse.Namespace) -> int:
    # the engine alone: not the service's settings, broker, database or metrics (a cold start)
    from services.ingest.domain import unassessable
    from services.rules.factory import engine_from_folder
    from services.rules.ports import EvaluationError
    from services.shared.covenants import rules_dir

    _quiet_logging()
    results: list[dict[str, Any]] = []
    plans: dict[str, PlanSubmission] = {}
    languages: dict[str, str] = {}
    exit_code = EXIT_OK
    parsed: dict[str, PlanSubmission | dict[str, Any]] = {}
    for path in args.files:
        try:
            plan = parse_plan(path.read_bytes())
            too_many = unassessable(plan)
            parsed[str(path)] = plan if too_many is None else {
                "file": str(path), "valid": False, "errors": [too_many.model_dump()]}
            languages[str(path)] = args.lang or plan.submission.language.value
        except PlanInvalid as e:
            parsed[str(path)] = {"file": str(path), "valid": False,
                                 "errors": [err.model_dump() for err in e.errors]}
            languages[str(path)] = _language_of(e.document, args.lang)
        except OSError as e:
            parsed[str(path)] = {"file": str(path), "valid": False, "errors": [
                {"pointer": "", "code": "unreadable", "message": e.strerror or str(e)}]}
    # the rules of the plans' own covenants only: a cold start compiles no others
    engine = engine_from_folder(rules_dir(), only={
        p.covenant for p in parsed.values() if isinstance(p, PlanSubmission)})
    started()
    for path in args.files:
        plan_or_errors = parsed[str(path)]
        if not isinstance(plan_or_errors, PlanSubmission):
            results.append(plan_or_errors)
            exit_code = max(exit_code, EXIT_INVALID)
            continue
        plan = plan_or_errors
        try:
            findings = engine.evaluate(plan)
        except EvaluationError as e:  # its message names the limit, never plan data
            results.append({"file": str(path), "valid": True, "assessed": False,
                            "reason": str(e)})
            languages[str(path)] = args.lang or plan.submission.language.value
            exit_code = max(exit_code, EXIT_UNASSESSED)
            continue
        results.append({"file": str(path), "valid": True, "ruleset_version":
                        engine.ruleset_version, "findings": [f.model_dump(mode="json")
                                                             for f in findings]})
        plans[str(path)] = plan
        languages[str(path)] = args.lang or plan.submission.language.value
        if exit_code == EXIT_OK and any(f.severity in BLOCKING for f in findings):
            exit_code = EXIT_FINDINGS
    if args.format == "json":
        print(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        for r in results:
            _print_result(r, plans.get(r["file"]), languages.get(r["file"], args.lang or "en"))
    return exit_code


def _print_result(result: dict[str, Any], plan: PlanSubmission | None, language: str) -> None:
    """One file's outcome for a reader, in `language`."""
    from services.notify import letters
    from services.shared import i18n

    w = letters.words(language)
    if not result["valid"]:
        errors = [FieldError(**e) for e in result["errors"]]
        count = i18n.plural(len(errors), w["errors"], language)
        print("\n" + w["check_invalid"].format(file=result["file"], errors=count))
        _print_errors(errors, len(errors), language)
        return
    if result.get("assessed") is False:
        print("\n" + w["check_unassessed"].format(file=result["file"], reason=result["reason"]))
        return
    assert plan is not None
    print("\n" + w["check_valid"].format(
        file=result["file"], company=plan.company.legal_name,
        covenant=i18n.label("Covenant", plan.covenant, language),
        year=plan.submission.reporting_year))
    _print_findings([Finding.model_validate(f) for f in result["findings"]],
                    plan.covenant, language)


def _print_errors(errors: Sequence[FieldError], total: int, language: str) -> None:
    """In plain words by code, the place in words, the pointer and code beside; by place."""
    from services.notify import letters
    from services.shared import i18n

    parts = letters.plan_parts()
    for e in sorted(errors, key=lambda e: i18n.natural_key(e.pointer)):
        print(f"  * {i18n.place(e.pointer, language, parts)}: "
              f"{i18n.error_text(e, language, parts)}")
        print(f"    ({e.pointer or '/'}, {e.code})")
    if total > len(errors):
        print("  " + i18n.plural(total - len(errors), letters.words(language)["more_errors"],
                                 language))


def _print_findings(findings: Sequence[Finding], covenant: str, language: str) -> None:
    """By severity, worst first; each with what was found, what to do and the provisions in
    words; rule and pointers (in natural order) in brackets."""
    from services.notify import letters
    from services.shared import i18n

    w = letters.words(language)
    counts = {s: sum(f.severity is s for f in findings) for s in Severity}
    total = i18n.plural(len(findings), w["findings_total"], language) if findings \
        else w["no_findings"]
    print(f"  {total} ({letters.short_counts(counts, language)})")
    ordered = sorted(findings, key=lambda f: (f.severity.rank, f.rule_id,
                                              [i18n.natural_key(p) for p in f.pointers]))
    for severity in Severity:
        views = [letters.finding_view(f, covenant, language, set())
                 for f in ordered if f.severity is severity]
        if views:
            label = i18n.label("Severity", severity.value, language).upper()
            print(f"\n  {label} ({len(views)})")
        for v in views:
            print(f"  * {v['title']}")
            print(f"    {w['found']}: {v['message']}")
            if v["why"]:
                print(f"    {w['why_severity']}: {v['why']}")
            print(f"    {w['todo']}: {v['guidance']}")
            print(f"    {w['provisions']}: {'; '.join(v['provisions'])}")
            where = "; ".join(v["places"]) or i18n.place("", language, ())
            print(f"    ({w['check_rule'].format(rule=v['rule_id'], where=where)})")


def _language_of(document: Any, chosen: str | None) -> str:
    """`--lang`, else the plan's own language, else English."""
    own = document.get("submission", {}).get("language") if isinstance(document, dict) and \
        isinstance(document.get("submission"), dict) else None
    return chosen or (own if own in ("nl", "en") else "en")


def _quiet_logging() -> None:
    configure_logging(os.environ.get("LOG_LEVEL", "WARNING"), stream=sys.stderr, lazily=True)


# --- covenants ------------------------------------------------------------------------------

def _covenants_list(args: argparse.Namespace) -> int:
    from services.shared import i18n
    from services.shared.covenants import load

    defined = load(_rules_dir())
    in_scope = _rules_in_scope()
    lang, words = args.lang, _COVENANT_WORDS[args.lang]
    for c in defined:
        print(f"{c.name}: {c.spec.title[lang]} ({c.spec.agreement[lang]}); "
              f"{words['scope']}: {i18n.number(in_scope.get(c.name, 0), lang)}")
    return EXIT_OK


def _covenants_show(args: argparse.Namespace) -> int:
    from services.shared import i18n
    from services.shared.contracts.messages import plan_routing_key
    from services.shared.covenants import field_names, load, using

    defined = load(_rules_dir())
    c = defined.get(args.name)
    if c is None:
        print(_COVENANT_WORDS[args.lang]["unknown"].format(
            name=args.name, known=i18n.items(defined.names, args.lang)), file=sys.stderr)
        return EXIT_CONFIG
    lang, words = args.lang, _COVENANT_WORDS[args.lang]
    calendar = [f"{year}: {i18n.day(e.due_on, lang)}" for year, e in sorted(c.calendar.items())]
    with using(defined):  # the names of the folder shown, not of the process's covenants
        named = i18n.fields(c.extension)
    rows = [
        (words["title"], f"{c.spec.title[lang]} ({c.spec.agreement[lang]})"),
        (words["signed"], i18n.day(c.spec.signed_on, lang) if c.spec.signed_on
         else i18n.NOTHING),
        (words["routing"], plan_routing_key(c.name)),
        (words["extension"], f"{c.extension} ({c.folder / 'extension.schema.yaml'})"),
        (words["vocabularies"], ", ".join(c.spec.vocabularies) or i18n.NOTHING),
        (words["themes"], "; ".join(w[lang] for w in c.spec.themes.values())),
        (words["instruments"], i18n.items((w[lang] for w in c.spec.instruments.values()),
                                          lang) or i18n.NOTHING),
        (words["calendar"], "; ".join(calendar) or i18n.NOTHING),
        (words["scope"], i18n.number(_rules_in_scope().get(c.name, 0), lang)),
        (words["unnamed"], ", ".join(sorted(set(field_names(c.schema)) - set(named)))
         or i18n.NOTHING),
        (words["folder"], str(c.folder)),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")
    return EXIT_OK


def _covenants_lint(args: argparse.Namespace) -> int:
    from services.shared.covenants import lint

    _, problems = lint(_rules_dir())
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s)" if problems else "covenant definitions OK")
    return EXIT_FINDINGS if problems else EXIT_OK


def _rules_in_scope() -> dict[str, int]:
    """Covenant -> how many rules in force apply to it."""
    from services.rules.factory import load_rulebook

    rulebook = load_rulebook(_rules_dir())
    return {c: len(rulebook.in_scope(c)) for c in rulebook.covenants.names}


_COVENANT_WORDS = {
    "nl": {"scope": "regels die gelden", "title": "convenant", "signed": "ondertekend",
           "routing": "routeringssleutel", "extension": "eigen onderdeel van het plan",
           "themes": "thema's", "instruments": "eigen instrumenten", "calendar": "uiterste data",
           "vocabularies": "eigen woordenlijsten",
           "unnamed": "velden zonder naam voor lezers (fields)",
           "folder": "map", "unknown": "'{name}' is geen convenant; bekend zijn: {known}"},
    "en": {"scope": "rules that apply", "title": "covenant", "signed": "signed",
           "routing": "routing key", "extension": "its own plan section",
           "themes": "themes", "instruments": "its own instruments", "calendar": "due dates",
           "vocabularies": "its own vocabularies",
           "unnamed": "fields without a name for readers (fields)",
           "folder": "folder", "unknown": "'{name}' is not a covenant; known are: {known}"},
}


# --- rule tooling -------------------------------------------------------------------------

def _rules_dir() -> Path:
    from services.rules.settings import RulesSettings

    return RulesSettings().rules_dir


def _rules_lint(args: argparse.Namespace) -> int:
    from services.rules.tooling.lint import lint

    errors = lint(_rules_dir())
    for error in errors:
        print(error)
    print(f"{len(errors)} problem(s)" if errors else "rule files OK")
    return EXIT_FINDINGS if errors else EXIT_OK


def _rules_test(args: argparse.Namespace) -> int:
    from services.rules.factory import load_rulebook
    from services.rules.tooling.frameworks import run_examples
    from services.rules.tooling.testing import run_cases

    report = run_cases(_rules_dir())
    for o in report.outcomes:
        mark = "ok  " if o.passed else "FAIL"
        print(f"{mark} {o.file.name}:{o.case.line}: {o.case.rule}: {o.case.note}"
              + (f"\n       {o.problem}" if o.problem else ""))
    failed = len(report.failed)
    print(f"\n{len(report.outcomes)} case(s), {failed} failed")
    if not report.outcomes:
        print("no test cases found: that is a failure")
        return EXIT_FINDINGS
    examples = run_examples(_rules_dir(), load_rulebook(_rules_dir()))
    for e in examples:
        print(f"{'ok  ' if e.passed else 'FAIL'} {e.file.name}: {e.note}"
              + (f"\n       {e.problem}" if e.problem else ""))
    wrong = sum(not e.passed for e in examples)
    print(f"{len(examples)} worked example(s) of the assessment frameworks, {wrong} failed")
    ok = failed == 0 and wrong == 0
    if args.coverage:
        for rule, (fires, quiet) in report.coverage().items():
            if not (fires and quiet):
                lacking = " and ".join(w for w, has in (("a firing case", fires),
                                                        ("a non-firing case", quiet)) if not has)
                print(f"uncovered: {rule} lacks {lacking}")
        for rule, why in report.disabled.items():
            print(f"disabled:  {rule}: {why.strip()}")
        share = 100 * report.covered_share()
        print(f"coverage: {share:.0f}% of {len(report.rules)} enabled rules "
              f"(minimum {args.min_coverage:.0f}%)")
        ok = ok and share >= args.min_coverage
    return EXIT_OK if ok else EXIT_FINDINGS


def _rules_crosscheck(args: argparse.Namespace) -> int:
    from services.rules.factory import engine_from_folder
    from services.rules.tooling.crosscheck import case_plans, cross_check, generated_plans

    _quiet_logging()
    rules_dir = _rules_dir()
    engine = engine_from_folder(rules_dir)
    ok = True
    for name, plans in (("test cases", case_plans(rules_dir)),
                        ("generated plans", generated_plans(rules_dir, args.plans, args.seed))):
        report = cross_check(engine, plans)
        print(f"{name}: {report.plans} plans, {report.findings} findings, "
              f"{len(report.fired)} rules fired, {len(report.disagreements)} disagreement(s)")
        for submission, differences in report.disagreements:
            for rule, pointers, side in differences:
                print(f"  {submission}: {rule} {', '.join(pointers)}: {side}")
        ok = ok and not report.disagreements
    return EXIT_OK if ok else EXIT_FINDINGS


def _rules_explain(args: argparse.Namespace) -> int:
    from services.rules.bootstrap import build_engine
    from services.rules.settings import RulesSettings
    from services.rules.tooling.explain import explain

    _quiet_logging()
    try:
        plan = parse_plan(args.plan.read_bytes())
    except PlanInvalid as e:
        _print_errors(e.errors, len(e.errors), _language_of(e.document, None))
        return EXIT_INVALID
    for line in explain(build_engine(RulesSettings()), plan, args.rule_id):
        print(line)
    return EXIT_OK


def _rules_diff(args: argparse.Namespace) -> int:
    from services.pipeline import plan_files
    from services.rules.factory import load_rulebook
    from services.rules.tooling.diff import diff, load_base, temporary_folder

    _quiet_logging()
    with temporary_folder() as workdir:
        base = load_base(args.base, _rules_dir(), Path(workdir))
    head = load_rulebook(_rules_dir())
    print(f"base {base.version} -> head {head.version}")
    changes = diff(base, head, plan_files(args.corpus))
    for d in changes:
        if d.appeared or d.disappeared:
            print(f"\n{d.plan}")
            print("".join(f"  + {k}\n" for k in d.appeared), end="")
            print("".join(f"  - {k}\n" for k in d.disappeared), end="")
    changed = sum(1 for d in changes if d.appeared or d.disappeared)
    print(f"\n{len(changes)} plan(s), {changed} with changed findings: "
          f"{sum(len(d.appeared) for d in changes)} appeared, "
          f"{sum(len(d.disappeared) for d in changes)} disappeared")
    return EXIT_OK


# --- archive and digest -------------------------------------------------------------------

def _notify_digest(args: argparse.Namespace) -> int:
    from services.notify.bootstrap import (
        build_mailer,
        build_renderer,
        build_secretariat,
        build_store,
    )
    from services.notify.digest import send_digests
    from services.notify.settings import NotifySettings

    settings = NotifySettings()
    day = args.day or (datetime.now(UTC).date() - timedelta(days=1))
    mailer = build_mailer(settings)
    sent = send_digests(day, build_store(settings), mailer, build_renderer(settings),
                        build_secretariat(settings, digest=True), settings.mail_from)
    if not sent:
        print(f"digest for {day}: nothing (new) to send")
    elif mailer.channel == "smtp":
        print(f"digest for {day}: sent for {', '.join(sent)}")
    else:
        print(f"digest for {day}: NOT sent (SMTP_URL is not set); written to "
              f"{settings.outbox_dir} as a preview for {', '.join(sent)}; a run with SMTP_URL "
              "sends it")
    return EXIT_OK




# --- dead letters ---------------------------------------------------------------------------

def _deadletters_list(args: argparse.Namespace) -> int:
    from services.shared.deadletters import dead_letters
    from services.shared.settings import ServiceSettings

    stages = [args.stage] if args.stage else ["ingest", "rules", "notify"]
    found = dead_letters(ServiceSettings().broker(), stages)
    for d in found:
        print(f"{d.stage:<7} {d.message_id or '?':<38} {d.size:>8} bytes  {d.reason}")
    print(f"{len(found)} dead letter(s)")
    return EXIT_OK


def _deadletters_redrive(args: argparse.Namespace) -> int:
    from services.shared.deadletters import redrive
    from services.shared.settings import ServiceSettings

    sent, left = redrive(ServiceSettings().broker(), args.stage, args.limit, args.dry_run)
    verb = "would send back" if args.dry_run else "sent back"
    for d in sent:
        print(f"{verb}: {d.message_id or '?'} by {d.exchange} {d.routing_key}"
              + (" (its publisher's user_id is dropped: with PUBLISHERS set, resubmit it "
                 "from upstream instead)" if d.user_id else ""))
    for d in left:
        print(f"left in place: {d.message_id or '?'}: where it came from is not recorded")
    print(f"{len(sent)} {verb}, {len(left)} left in irbc.{args.stage}.dead")
    return EXIT_OK if not left else EXIT_FINDINGS


# --- database schema -------------------------------------------------------------------------

def _database() -> Any:
    from services.shared.db import Database
    from services.shared.settings import ServiceSettings

    return Database(ServiceSettings().database_url.get_secret_value())


def _db_upgrade(args: argparse.Namespace) -> int:
    from services.shared.migrations import migrate

    before, after = migrate(_database(), args.revision)
    print(f"database schema: {before or 'empty'} -> {after}")
    return EXIT_OK


def _db_current(args: argparse.Namespace) -> int:
    from services.shared.migrations import head, revision_of

    at, wanted = revision_of(_database()), head()
    print(f"database schema at {at or 'nothing (empty)'}; this release needs {wanted}")
    return EXIT_OK if at == wanted else EXIT_FINDINGS


def _db_history(args: argparse.Namespace) -> int:
    from services.shared.migrations import script

    for revision in reversed(list(script().walk_revisions())):
        title = (revision.doc or "").strip().splitlines()[0] if revision.doc else ""
        print(f"{revision.revision}  {title}")
    return EXIT_OK


def _archive() -> Any:
    from services.notify.bootstrap import build_store
    from services.notify.settings import NotifySettings

    return build_store(NotifySettings())


def _archive_list(args: argparse.Namespace) -> int:
    events = _archive().events(args.company, args.covenant)
    rows = []
    for e in events:
        if e.type == "assessment.completed":
            severities = [f["severity"] for f in e.event["findings"]]
            counts = ", ".join(f"{severities.count(s.value)} {s.value}" for s in Severity
                               if s.value in severities) or "no findings"
        else:
            counts = f"rejected: {e.event['reason']}, {e.event['errors_total']} error(s)"
        rows.append((e.company_id or "?", e.covenant or "?", str(e.reporting_year or ""),
                     e.submission_id or "?", counts))
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(4)]
    for row in rows:  # columns as wide as their longest value (natural_stone, a long id)
        print(" ".join(value.ljust(width) for value, width in zip(row, widths, strict=False))
              + f" {row[4]}")
    print(f"{len(events)} event(s)")
    return EXIT_OK


def _archive_show(args: argparse.Namespace) -> int:
    store = _archive()
    matches = store.events(ident=args.id)
    if not matches:
        print(f"nothing archived under {args.id}", file=sys.stderr)
        return EXIT_FINDINGS
    for e in matches:
        print(json.dumps(e.event, indent=2, ensure_ascii=False))
        for role, channel, outcome, detail, at in store.attempts(e.message_id):
            print(f"  {at}  {role:<11} {channel:<6} {outcome}" + (f" ({detail})" if detail else ""))
    return EXIT_OK


# --- services and the broker ----------------------------------------------------------------

def _service(args: argparse.Namespace) -> int:
    from services.ingest.bootstrap import main as ingest
    from services.ingest.settings import IngestSettings
    from services.notify.bootstrap import main as notify
    from services.notify.settings import NotifySettings
    from services.rules.bootstrap import main as rules
    from services.rules.settings import RulesSettings

    mains: dict[str, tuple[Callable[[Any], None], type]] = {
        "ingest": (ingest, IngestSettings), "rules": (rules, RulesSettings),
        "notify": (notify, NotifySettings)}
    run, settings_class = mains[args.service]
    overrides = {"metrics_port": args.metrics_port} if args.metrics_port is not None else {}
    run(settings_class(**overrides))
    return EXIT_OK


def _console_serve(args: argparse.Namespace) -> int:
    from services.console.bootstrap import main as console

    console()
    return EXIT_OK


def _console_demo(args: argparse.Namespace) -> int:
    from services.console.bootstrap import demo

    _quiet_logging()
    return demo(port=args.port)


def _console_user_add(args: argparse.Namespace) -> int:
    import getpass

    from services.console.adapters import SqlAccounts
    from services.console.domain import Role, valid_account
    from services.console.settings import ConsoleSettings

    role = Role(args.role)
    problem = valid_account(role, args.covenant, args.company)
    if problem:
        print(f"cannot add {args.username}: {problem}", file=sys.stderr)
        return EXIT_INVALID
    password = None if args.oidc else getpass.getpass("password: ") if sys.stdin.isatty() \
        else sys.stdin.readline().rstrip("\n")
    if password is not None and len(password) < 12:
        print("cannot add the account: a password needs at least 12 characters",
              file=sys.stderr)
        return EXIT_INVALID
    accounts = SqlAccounts(ConsoleSettings().database())
    if accounts.user(args.username):
        print(f"cannot add {args.username}: the account exists", file=sys.stderr)
        return EXIT_INVALID
    accounts.add(args.username, password, role, args.covenant, args.company, args.language)
    print(f"added {args.username} ({role.value}"
          f"{', ' + args.covenant if args.covenant else ', every covenant'}"
          f"{', company ' + args.company if args.company else ''})")
    return EXIT_OK


def _submit(args: argparse.Namespace) -> int:
    import pika
    from pika.adapters.utils.connection_workflow import AMQPConnectorException

    from services.shared.contracts import PLANS_EXCHANGE, plan_routing_key_for
    from services.shared.messaging.handling import Outgoing
    from services.shared.messaging.pika_adapter import publish_confirmed
    from services.shared.settings import ServiceSettings

    nodes = ServiceSettings().broker()
    publisher = nodes[0].credentials.username  # ingest's PUBLISHERS check
    messages = []
    for path in args.files:
        body = path.read_bytes()
        message_id = str(uuid.uuid4())
        messages.append(Outgoing(PLANS_EXCHANGE, plan_routing_key_for(body), body, message_id,
                                 correlation_id=message_id, user_id=publisher))
    try:
        publish_confirmed(nodes, messages)
    except pika.exceptions.UnroutableError:
        print("not submitted: the broker has no queue for these plans (is the topology "
              "declared? Run `covenant topology declare`, or start the ingest service)",
              file=sys.stderr)
        return EXIT_FINDINGS
    except pika.exceptions.NackError:
        print("not submitted: the broker refused the plans (nacked); try again later",
              file=sys.stderr)
        return EXIT_FINDINGS
    except (pika.exceptions.ProbableAuthenticationError,
            pika.exceptions.ProbableAccessDeniedError) as e:
        print(f"not submitted: the broker refused AMQP_URL's user or vhost "
              f"({redact_credentials(str(e))[:200]})", file=sys.stderr)
        return EXIT_FINDINGS
    except (pika.exceptions.AMQPError, AMQPConnectorException, OSError) as e:
        print(f"not submitted: cannot reach the broker at AMQP_URL ({type(e).__name__}); is it "
              "running, and are the host and port right?", file=sys.stderr)
        return EXIT_FINDINGS
    for path, m in zip(args.files, messages, strict=True):
        print(f"{path}: confirmed by the broker ({m.routing_key}, message id {m.message_id})")
    return EXIT_OK


def _definitions(args: argparse.Namespace) -> int:
    from services.shared.errors import ConfigError
    from services.shared.topology import ROLES, Topology

    users = json.loads(args.users.read_text(encoding="utf-8")) if args.users else {}
    wrong = sorted(name for name, user in users.items()
                   if not isinstance(user, dict) or user.get("role") not in ROLES
                   or not user.get("password"))
    if wrong:  # names only: the file holds passwords
        raise ConfigError(f"--users: each user needs a password and a role "
                          f"({', '.join(ROLES)}); not so for {', '.join(wrong)}")
    text = json.dumps(Topology().definitions(users=users), indent=2, sort_keys=True) + "\n"
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        print(f"definitions with {len(users)} user(s) written to {args.out}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _declare(args: argparse.Namespace) -> int:
    import pika

    from services.shared.settings import ServiceSettings
    from services.shared.topology import Topology

    settings = ServiceSettings()
    connection = pika.BlockingConnection(settings.broker())
    try:
        Topology(delivery_limit=settings.delivery_limit).declare(connection.channel())
    finally:
        connection.close()
    print("topology declared")
    return EXIT_OK


if __name__ == "__main__":
    console()
