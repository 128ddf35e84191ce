"""A sixth covenant made of files only: the pension funds agreement (IMVO-convenant
pensioenfondsen, 2018), with a plan section of its own and a part of it rules match, two rules
citing its own instrument (one on that part, one on its calendar), and a calendar. `make`
writes it into a copy of the bundled rules folder; the tests run a plan of it through the
services, in one process and over RabbitMQ, with no Python added."""

import copy
import json
import shutil
from pathlib import Path
from typing import Any

from tests.support import EXAMPLES, ROOT

NAME = "pensions"
COMPANY = "PF-0001"
CONTACT = "mvo@voorbeeldpensioen.example"

DEFINITION = """\
name: pensions
title: {nl: pensioenfondsen, en: pension funds}
agreement:
  nl: IMVO-convenant pensioenfondsen
  en: Dutch Pension Funds Agreement on Responsible Investment
signed_on: 2018-12-20
extension: pensions
themes:
  labour_rights: {nl: arbeidsrechten, en: labour rights}
  child_labour: {nl: kinderarbeid, en: child labour}
  forced_labour: {nl: dwangarbeid, en: forced labour}
  freedom_of_association: {nl: vrijheid van vakvereniging, en: freedom of association}
  health_safety: {nl: gezondheid en veiligheid, en: health and safety}
  land_rights_fpic:
    nl: "landrechten en vrije, voorafgaande en geïnformeerde instemming"
    en: "land rights and free, prior and informed consent"
  indigenous_peoples: {nl: inheemse volken, en: indigenous peoples}
  community_health_safety:
    nl: gezondheid en veiligheid van omwonenden
    en: community health and safety
  security_forces: {nl: beveiligingstroepen, en: security forces}
  privacy_data: {nl: privacy en gegevens, en: privacy and data}
  environment_related_human_rights:
    nl: milieugerelateerde mensenrechten
    en: environment-related human rights
  conflict_affected_areas: {nl: conflictgebieden, en: conflict-affected areas}
instruments:
  PFA: {nl: Pensioenfondsenconvenant, en: Pension Funds Agreement}
vocabularies:
  PensionAssetClass:
    listed_equity: {nl: beursgenoteerde aandelen, en: listed equity}
    corporate_bonds: {nl: bedrijfsobligaties, en: corporate bonds}
    private_equity: {nl: private equity, en: private equity}
calendar: calendar.csv
fields:
  participants: {nl: deelnemers, en: participants}
  asset_classes: {nl: beleggingscategorieën, en: asset classes}
  asset_class: {nl: beleggingscategorie, en: asset class}
  share_pct: {nl: aandeel in procenten, en: share in per cent}
  screened: {nl: gescreend, en: screened}
parts:  # last: tests add parts below
  asset_class:
    label: {nl: beleggingscategorie, en: asset class}
    path: asset_classes/*
    id: asset_class
    what: one asset class of the fund
"""

SECTION_SCHEMA = """\
$schema: https://json-schema.org/draft/2020-12/schema
type: object
additionalProperties: false
required: [participants, asset_classes]
properties:
  participants: {type: integer, minimum: 0}
  asset_classes:
    type: array
    items:
      type: object
      additionalProperties: false
      required: [asset_class, share_pct]
      properties:
        asset_class: {type: string, x-vocabulary: PensionAssetClass}
        share_pct: {type: number, minimum: 0, maximum: 100, x-vocabulary: percent}
        screened: {type: boolean, default: false}
"""

CALENDAR = """\
reporting_year,due_on,grace_days,edition,source,retrieved_on,licence,is_fixture
2019,2019-05-01,0,sample,invented for testing,2026-12-03,n/a,true
"""

RULES = """\
rules:
  - id: PF-ASSET-CLASSES-SCREENED
    version: 1
    title: {nl: Beleggingscategorieën gescreend, en: Asset classes screened}
    scope: [pensions]
    severity: high
    references:
      - {instrument: PFA, locator: "4"}
      - {instrument: DDG, locator: "2.1"}
    when:
      part: asset_class
      where:
        - {field: share_pct, op: ">", value: 0}
        - {field: screened, op: "!=", value: true}
    message:
      nl: >-
        De beleggingen in {asset_class} ({share_pct} van het vermogen) zijn niet op risico's
        gescreend.
      en: >-
        The investments in {asset_class} ({share_pct} of the assets) were not screened for
        risks.
    guidance:
      nl: Screen elke beleggingscategorie op ernstige risico's voor mens en milieu.
      en: Screen every asset class for severe risks to people and planet.

  - id: PF-PLAN-ON-TIME
    version: 1
    title: {nl: Plan op tijd ingediend, en: Plan submitted on time}
    scope: [pensions]
    severity: medium
    references:
      - {instrument: PFA, locator: "9"}
    when:
      part: calendar
      where:
        - {field: days_late, op: ">", value: 0}
    message:
      nl: "Het plan is {days_late} dagen na de uiterste datum ({due_on}) ingediend."
      en: "The plan was submitted {days_late} days after the deadline ({due_on})."
    guidance:
      nl: Dien het plan van aanpak in vóór de uiterste datum van het convenant.
      en: Submit the plan of action before the covenant's deadline.
"""


def make(folder: Path) -> tuple[Path, Path]:
    """A copy of the bundled rules folder with the sixth covenant in it, and a plan of it:
    (the rules folder, the plan file)."""
    rules = folder / "rules"
    shutil.copytree(ROOT / "rules", rules)
    own = rules / "covenants" / NAME
    own.mkdir()
    (own / "covenant.yaml").write_text(DEFINITION, encoding="utf-8")
    (own / "extension.schema.yaml").write_text(SECTION_SCHEMA, encoding="utf-8")
    (own / "calendar.csv").write_text(CALENDAR, encoding="utf-8")
    (rules / "pf-pensions.yaml").write_text(RULES, encoding="utf-8")
    path = folder / "pensioenfonds-2019.json"
    path.write_text(json.dumps(plan()), encoding="utf-8")
    return rules, path


def plan() -> dict[str, Any]:
    """The bank's example plan made a pension fund's: its section instead of the bank's (its
    corporate bonds not screened), the references into the bank's section dropped, and
    submitted after the covenant's deadline (2019-05-01)."""
    document = copy.deepcopy(json.loads((EXAMPLES / "banking-voorbeeldbank-2019.json")
                                        .read_text(encoding="utf-8")))
    del document["banking"]
    document["pensions"] = {"participants": 120_000, "asset_classes": [
        {"asset_class": "listed_equity", "share_pct": 60, "screened": True},
        {"asset_class": "corporate_bonds", "share_pct": 40}]}
    document["submission"].update(covenant=NAME, submission_id="PF-0001-2019",
                                  submitted_at="2019-05-11T10:00:00+02:00")
    document["company"].update(company_id=COMPANY, legal_name="Voorbeeld Pensioenfonds")
    for contact in document["company"].get("contacts", []):
        contact["email"] = CONTACT
    for risk in document["risk_assessment"]["risks"]:
        risk.pop("client_refs", None)
        risk.pop("financing_ids", None)
    for case in document["grievance"].get("cases", []):
        case.pop("financing_ids", None)
    return document
