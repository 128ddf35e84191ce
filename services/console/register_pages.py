"""The console's pages of the covenant as a whole (services/register): a year's places with the
companies that list each (the secretariat's own view) and its figures, the published list
without company links, the candidate pairs to confirm or reject, one place with its spellings
(to split one off), the signals (to record one, which forwards it), and the progress report
(also as XLSX and as a page of its own; a covenant with disclosure control shows only what
passes it, here too).

Secretariat users of the covenant read and decide; auditors read; company users see none of it
(404: the register links companies to each other's suppliers). Who reported a signal is shown to
the secretariat and auditors only. Every view and decision goes to the audit log.
"""

import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from flask import Flask, g, redirect, request, url_for
from werkzeug.exceptions import Forbidden, NotFound
from werkzeug.wrappers import Response

from services.register import progress, published, report_view
from services.register.store import RegisterError, ref_of
from services.shared import covenants

from .domain import Role, User

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def add_register_pages(app: Flask, stores: Any, page: Callable[..., str],
                       words: Callable[[], dict[str, Any]], address: Callable[[], str | None],
                       export: Callable[[str, str, list[str], list[list[Any]]], Response]
                       ) -> None:
    def reader(covenant: str, listing: bool = True) -> User:
        """The user, when they may read the covenant's register (`listing`: the covenant keeps
        a list of locations) or its report; else 404."""
        user: User = g.user
        defined = covenants.current().get(covenant)
        if user.role is Role.COMPANY or not user.scope().allows(covenant) or \
                stores.register is None or defined is None or \
                (listing and defined.spec.locations is None):
            raise NotFound()
        return user

    def decider(covenant: str) -> User:
        user = reader(covenant)
        if user.role is not Role.SECRETARIAT:
            stores.audit.record(user.username, "refused_register", covenant, address())
            raise Forbidden()
        return user

    @app.get("/<covenant>/locations")
    def locations(covenant: str) -> Any:
        user = reader(covenant)
        register = stores.register
        register.refresh()
        years = register.years(covenant)
        year = request.args.get("year", type=int) or (years[-1] if years else
                                                       date.today().year)
        entries = register.entries(covenant, year)
        w = words()
        fmt = request.args.get("format")
        stores.audit.record(user.username, "view_locations", f"{covenant}/{year}", address())
        if fmt in ("csv", "xlsx"):
            if request.args.get("list") == "published":  # the public list: no company
                spec = covenants.current()[covenant].spec.locations
                assert spec is not None  # reader() let only a covenant that keeps a list in
                table = published.rows(entries, spec.sector, "en")
                return export(f"{covenant}-locations-{year}", fmt, list(published.COLUMNS),
                              [[r[c] for c in published.COLUMNS] for r in table])
            return export(f"{covenant}-locations-{year}-companies", fmt,
                          w["locations_columns"], [
                              [e.entry_id, e.fields["name"], e.fields["address"],
                               e.fields["city"], e.country, ", ".join(e.companies)]
                              for e in entries])
        figures = published.every_year(register, covenant, stores.high_risk)
        return page("locations.html", covenant=covenant, year=year, years=years,
                    entries=entries, figures=figures,
                    candidates=len(register.candidates(covenant)))

    @app.get("/<covenant>/locations/candidates")
    def candidates(covenant: str) -> Any:
        user = reader(covenant)
        stores.register.refresh()
        stores.audit.record(user.username, "view_candidates", covenant, address())
        return page("candidates.html", covenant=covenant,
                    candidates=stores.register.candidates(covenant), ref_of=ref_of,
                    decides=user.role is Role.SECRETARIAT, done=request.args.get("done"),
                    error=request.args.get("error"))

    @app.post("/<covenant>/locations/candidates")
    def decide_candidate(covenant: str) -> Any:
        user = decider(covenant)
        ref, action = request.form.get("ref", ""), request.form.get("action", "")
        key = next((c.key for c in stores.register.candidates(covenant)
                    if ref_of(c.key) == ref), None)
        back = url_for("candidates", covenant=covenant)
        if key is None or action not in ("confirm", "reject"):
            return redirect(f"{back}?error=gone")
        if action == "confirm":
            stores.register.confirm(covenant, key, user.username)
        else:
            stores.register.reject(covenant, key, user.username)
        stores.audit.record(user.username, f"candidate_{action}", f"{covenant}/{ref}",
                            address())
        return redirect(f"{back}?done={action}")

    @app.get("/<covenant>/locations/<entry>")
    def location(covenant: str, entry: str) -> Any:
        user = reader(covenant)
        spellings = stores.register.spellings(covenant, entry)
        if not spellings:
            raise NotFound()
        stores.audit.record(user.username, "view_location", f"{covenant}/{entry}", address())
        defined = covenants.current()[covenant]
        return page("location.html", covenant=covenant, entry=entry, spellings=spellings,
                    users=stores.register.users_of(covenant, entry), ref_of=ref_of,
                    signals=[s for s in stores.signals.of_covenant(covenant)
                             if s.entry_id == entry],
                    themes=sorted(defined.themes), decides=user.role is Role.SECRETARIAT,
                    methods=published.WORDS[words()["lang"]]["methods"],
                    today=date.today().isoformat(), error=request.args.get("error"))

    @app.post("/<covenant>/locations/<entry>/split")
    def split(covenant: str, entry: str) -> Any:
        user = decider(covenant)
        ref = request.form.get("ref", "")
        key = next((s["key"] for s in stores.register.spellings(covenant, entry)
                    if ref_of(s["key"]) == ref), None)
        if key is None:
            raise NotFound()
        try:
            new = stores.register.split(covenant, key, user.username)
        except RegisterError:
            return redirect(url_for("location", covenant=covenant, entry=entry, error="split"))
        stores.audit.record(user.username, "location_split", f"{covenant}/{entry}/{ref}",
                            address())
        return redirect(url_for("location", covenant=covenant, entry=new))

    @app.get("/<covenant>/report")
    def report(covenant: str) -> Any:
        """The progress report of a year; as XLSX or a page of its own with `format`."""
        user = reader(covenant, listing=False)
        defined = covenants.current()[covenant]
        plans = progress.summaries(stores.register.database, defined)
        years = sorted({p.year for p in plans})
        year = request.args.get("year", type=int) or (years[-1] if years else
                                                       date.today().year)
        made = progress.report(defined, year, plans, stores.due_on,
                               stores.frameworks.get(covenant), stores.criteria.get(covenant))
        lang = words()["lang"]
        locations = published.every_year(stores.register, covenant, stores.high_risk) \
            if defined.spec.locations else None
        stores.audit.record(user.username, "view_report", f"{covenant}/{year}", address())
        name = f"{covenant}-report-{year}"
        if request.args.get("format") == "xlsx":
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / f"{name}.xlsx"
                report_view.workbook(made, lang, path, locations)
                body = path.read_bytes()
            return Response(body, mimetype=XLSX, headers={
                "Content-Disposition": f'attachment; filename="{name}.xlsx"'})
        if request.args.get("format") == "html":
            return Response(report_view.document(made, lang, locations), mimetype="text/html",
                            headers={"Content-Disposition":
                                     f'attachment; filename="{name}.html"'})
        return page("report.html", covenant=covenant, year=year, years=years,
                    body=report_view.body(made, lang, locations))

    @app.get("/<covenant>/signals")
    def signals(covenant: str) -> Any:
        user = reader(covenant)
        stores.audit.record(user.username, "view_signals", covenant, address())
        return page("signals.html", covenant=covenant,
                    signals=stores.signals.of_covenant(covenant))

    @app.post("/<covenant>/locations/<entry>/signals")
    def add_signal(covenant: str, entry: str) -> Any:
        user = decider(covenant)
        form = request.form
        try:
            received = date.fromisoformat(form.get("received_on", ""))
            signal = stores.signals.add(covenant, entry, received, form.get("theme", ""),
                                        form.get("source", ""), form.get("summary", ""),
                                        user.username)
        except (ValueError, RegisterError):
            return redirect(url_for("location", covenant=covenant, entry=entry,
                                    error="signal"))
        stores.audit.record(user.username, "signal_added", f"{covenant}/{signal.signal_id}",
                            address())
        return redirect(url_for("signals", covenant=covenant))
