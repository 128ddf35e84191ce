"""Large, valid plans for benchmarks, grown from the compliant fixtures."""

import copy
import json
import uuid
from pathlib import Path
from typing import Any

from services.shared.contracts import PlanSubmission, validate_plan

FIXTURES = Path(__file__).resolve().parents[1] / "rules" / "fixtures"
TEXTILE_COUNTRIES = ["IN", "TR", "CN", "BD", "PK", "VN", "PT", "NL", "KH", "ID"]
NACE = ["C10.4", "C10.8", "B07.2", "C20.1", "F41.2", "G46.1", "H49.4", "K64.1"]


def main_languages(country: str) -> list[str]:
    from services.rules.adapters.reference_files import main_languages as cldr
    return cldr({"statuses": ["official", "de_facto_official"], "min_population_pct": 50})[country]


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def textile_plan(locations: int) -> PlanSubmission:
    plan = _fixture("compliant-textile")
    template = plan["textile"]["production_locations"][3]
    plan["textile"]["production_locations"] = [
        {**copy.deepcopy(template), "location_id": f"L-{i:05d}",
         "name": f"Supplier {i}", "country": TEXTILE_COUNTRIES[i % len(TEXTILE_COUNTRIES)],
         "tier": 1 + (i % 3 == 0), "purchase_share_pct": round(100 / locations, 4),
         "processing_steps": ["dyeing", "finishing"] if i % 10 == 0 else ["cut_make_trim"]}
        for i in range(locations)
    ]
    # country-level risks over every sourcing country keep the plan compliant at any size
    plan["risk_assessment"]["scoping"]["countries"] = TEXTILE_COUNTRIES
    for risk in plan["risk_assessment"]["risks"]:
        if risk["scope_level"] == "country":
            risk["countries"] = TEXTILE_COUNTRIES
    for risk in plan["risk_assessment"]["risks"]:
        risk["location_ids"] = []
    # and communication and a helpline in every sourcing country's main languages (CLDR)
    languages = sorted({lang for c in TEXTILE_COUNTRIES for lang in main_languages(c)})
    plan["policy"]["communicated_to"][1]["languages"] = languages
    plan["grievance"]["mechanism"]["languages"] = languages
    for case in plan["grievance"]["cases"]:
        case["location_ids"] = []
    return validate_plan(plan)


def bank_plan(financings: int, clients: int = 2_000) -> PlanSubmission:
    plan = _fixture("compliant-banking")
    client = plan["banking"]["clients"][0]
    financing = plan["banking"]["financings"][0]
    plan["banking"]["clients"] = [
        {**copy.deepcopy(client), "client_ref": f"C-{i:05d}", "adverse_finding": i % 50 == 0}
        for i in range(clients)
    ]
    chains = {"C10.4": ["palm_oil"], "C10.8": ["cocoa"], "B07.2": ["gold"]}
    plan["banking"]["financings"] = [
        {**copy.deepcopy(financing), "financing_id": f"F-{i:06d}",
         "client_ref": f"C-{i % clients:05d}", "nace": NACE[i % len(NACE)],
         "value_chains": chains.get(NACE[i % len(NACE)], [])}
        for i in range(financings)
    ]
    for risk in plan["risk_assessment"]["risks"]:
        risk["client_refs"], risk["financing_ids"] = [], []
    # a client-level risk over every client keeps the value-chain financings covered
    plan["risk_assessment"]["risks"][0]["client_refs"] = [c["client_ref"] for c in
                                                          plan["banking"]["clients"]]
    return validate_plan(plan)


def distinct_plans(locations: int, n: int) -> list[bytes]:
    """n plans of n different companies (one company's plans for one year would rightly
    trigger PROC-ONE-PLAN-PER-YEAR against each other and grow with every plan)."""
    template = textile_plan(locations).to_json_dict()
    bodies = []
    for i in range(n):
        company = f"BENCH-{uuid.uuid4().hex[:8]}-{i}"
        template["submission"]["submission_id"] = str(uuid.uuid4())
        template["company"]["company_id"] = company
        template["company"]["contacts"] = [{"email": f"csr@{company.lower()}.example"}]
        bodies.append(json.dumps(template).encode())
    return bodies
