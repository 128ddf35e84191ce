"""Plans for the register's tests: the textile example as another company's plan of another
year, listing the locations a test gives (risks and cases point at the first of them)."""

import copy
import itertools
import json
import uuid
from typing import Any

from services.rules.adapters.history import SqlAssessmentHistory
from services.shared.contracts import Finding, Localized, PlanSubmission, Severity, parse_plan
from services.shared.db import Database
from tests.support import TEXTILE, example_doc

_EXAMPLE = example_doc(TEXTILE)
_SECONDS = itertools.count()  # plans made later are submitted later, as in life


def _later(year: int) -> str:
    n = next(_SECONDS)
    return f"{year}-03-28T{8 + n // 3600 % 12:02d}:{n // 60 % 60:02d}:{n % 60:02d}+01:00"
_TEMPLATE = {k: v for k, v in _EXAMPLE["textile"]["production_locations"][0].items()
             if k not in ("os_id", "region", "last_monitoring", "living_wage_gap_pct")}


def site(location_id: str, name: str, address: str, city: str = "Tiruppur",
         country: str = "IN", **more: Any) -> dict[str, Any]:
    return {**_TEMPLATE, "location_id": location_id, "name": name, "address": address,
            "city": city, "region": "Region", "country": country, **more}


def plan_doc(company: str, year: int, sites: list[dict[str, Any]],
             submitted: str | None = None, cases: list[dict[str, Any]] | None = None,
             language: str = "nl") -> dict[str, Any]:
    doc = copy.deepcopy(_EXAMPLE)
    s = doc["submission"]
    s.update(submission_id=str(uuid.uuid4()), reporting_year=year,
             submitted_at=submitted or _later(year),
             previous_submission_id=None, language=language,
             plan_period={"start": f"{year}-01-01", "end": f"{year}-12-31"})
    doc["company"].update(company_id=company, legal_name=f"Bedrijf {company} B.V.",
                          contacts=[{"email": f"mvo@{company.lower()}.example"}])
    doc["textile"]["production_locations"] = sites
    first = [sites[0]["location_id"]] if sites else []
    for risk in doc["risk_assessment"]["risks"]:
        if risk.get("location_ids"):
            risk["location_ids"] = first
    doc["grievance"]["cases"] = cases if cases is not None else []
    doc["remediation"] = []  # it names the example's case
    return doc


def plan_of(company: str, year: int, sites: list[dict[str, Any]],
            **more: Any) -> PlanSubmission:
    return parse_plan(json.dumps(plan_doc(company, year, sites, **more)).encode())


def record(db: Database, company: str, year: int, sites: list[dict[str, Any]],
           findings: list[Finding] | None = None, **more: Any) -> PlanSubmission:
    """The plan as the rules service records an accepted plan, with its findings."""
    plan = plan_of(company, year, sites, **more)
    SqlAssessmentHistory(db).record(plan, findings or [], "test")
    return plan


def finding(rule_id: str, severity: str, *pointers: str) -> Finding:
    text = Localized(nl=f"{rule_id} (nl)", en=f"{rule_id} (en)")
    return Finding(finding_id=f"{rule_id}:{','.join(pointers)}", rule_id=rule_id,
                   rule_version=1, severity=Severity(severity), title=text, message=text,
                   guidance=text, references=[], pointers=list(pointers))
