"""Controlled vocabularies of the plan submission (reference.md section 6.5).

Every enum value is a stable machine term; labels for people live in
services/shared/i18n/labels.yaml. The covenants and their themes are not here: they are
configuration (services/shared/covenants.py).
"""

from enum import StrEnum


class Language(StrEnum):
    NL = "nl"
    EN = "en"


class SizeClass(StrEnum):
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


class ApprovedBy(StrEnum):
    BOARD = "board"
    EXECUTIVE_BOARD = "executive_board"
    SUPERVISORY_BOARD = "supervisory_board"
    CEO = "ceo"
    MANAGEMENT = "management"
    OTHER = "other"


class Standard(StrEnum):
    OECD_MNE = "OECD_MNE"
    OECD_DDG = "OECD_DDG"
    UNGP = "UNGP"
    ILO_FPRW = "ILO_FPRW"
    ILO_MNE_DECLARATION = "ILO_MNE_DECLARATION"
    UDHR = "UDHR"
    OECD_GFG = "OECD_GFG"
    OECD_MINERALS = "OECD_MINERALS"
    OECD_FAO = "OECD_FAO"
    OECD_RBCII = "OECD_RBCII"
    OECD_CLSU = "OECD_CLSU"
    EQUATOR_PRINCIPLES = "EQUATOR_PRINCIPLES"
    IFC_PS = "IFC_PS"


class Hazard(StrEnum):
    """A specific hazard a risk is about, where a covenant's rules ask for it (natural stone:
    silica dust; gold and metals: mercury in artisanal mining)."""

    RESPIRABLE_SILICA = "respirable_silica"
    MERCURY = "mercury"
    CHEMICALS = "chemicals"
    FIRE_BUILDING_SAFETY = "fire_building_safety"
    MACHINERY = "machinery"
    HEAT = "heat"


class PolicyScope(StrEnum):
    OWN_OPERATIONS = "own_operations"
    SUPPLY_CHAIN = "supply_chain"
    CLIENTS = "clients"
    INVESTEES = "investees"
    DOWNSTREAM_USE = "downstream_use"


class Party(StrEnum):
    """Who a policy addresses, and who it is communicated to."""

    EMPLOYEES = "employees"
    SUPPLIERS = "suppliers"
    AGENTS = "agents"
    CLIENTS = "clients"
    REFINERS = "refiners"
    SMELTERS = "smelters"
    INVESTEES = "investees"
    ASSET_MANAGERS = "asset_managers"
    BUSINESS_PARTNERS = "business_partners"
    PUBLIC = "public"


class Expertise(StrEnum):
    INTERNAL_EXPERTS = "internal_experts"
    EXTERNAL_NGO = "external_ngo"
    TRADE_UNION = "trade_union"
    ACADEMIC = "academic"
    CONSULTANT = "consultant"
    AFFECTED_STAKEHOLDERS = "affected_stakeholders"
    INDUSTRY_INITIATIVE = "industry_initiative"


class TrainingAudience(StrEnum):
    BUYERS = "buyers"
    EMPLOYEES = "employees"
    MANAGEMENT = "management"
    BOARD = "board"
    SUPPLIERS = "suppliers"
    RELATIONSHIP_MANAGERS = "relationship_managers"


class Source(StrEnum):
    """Where risk information came from (scoping and individual risks share one list)."""

    COUNTRY_INDEX = "country_index"
    DOL_LIST = "dol_list"
    SECTOR_STUDY = "sector_study"
    MEDIA_NGO_REPORTS = "media_ngo_reports"
    STAKEHOLDER_INPUT = "stakeholder_input"
    WORKER_VOICE = "worker_voice"
    TRADE_UNION = "trade_union"
    AUDITS = "audits"
    SUPPLIER_SELF_ASSESSMENT = "supplier_self_assessment"
    CLIENT_DD = "client_dd"


class ScopeLevel(StrEnum):
    OWN_OPERATIONS = "own_operations"
    LOCATION = "location"
    COUNTRY = "country"
    MATERIAL = "material"
    SECTOR = "sector"
    CLIENT = "client"
    FINANCING = "financing"
    GLOBAL = "global"
    ISSUER = "issuer"  # a company invested in (insurance)
    PORTFOLIO = "portfolio"


class RiskStatus(StrEnum):
    POTENTIAL = "potential"
    ACTUAL = "actual"


class Involvement(StrEnum):
    CAUSE = "cause"
    CONTRIBUTE = "contribute"
    DIRECTLY_LINKED = "directly_linked"


class ActionType(StrEnum):
    POLICY = "policy"
    CEASE = "cease"
    PREVENT = "prevent"
    MITIGATE = "mitigate"
    LEVERAGE = "leverage"
    ENGAGE = "engage"
    COLLABORATE = "collaborate"
    TRACEABILITY = "traceability"
    MONITOR = "monitor"
    REMEDIATE = "remediate"
    DISENGAGE = "disengage"
    VOTE = "vote"  # voting at shareholder meetings (insurance)


class Lever(StrEnum):
    OWN_PURCHASING_PRACTICES = "own_purchasing_practices"
    CONTRACT_TERMS = "contract_terms"
    SUPPLIER_CAPACITY = "supplier_capacity"
    COLLECTIVE_INITIATIVE = "collective_initiative"
    CLIENT_CONDITIONS = "client_conditions"
    ESCALATION = "escalation"
    PUBLIC_STATEMENT = "public_statement"
    CERTIFICATION = "certification"  # a certification scheme (food: other-covenants.md 3.5)


class ActionStatus(StrEnum):
    """`overdue` is deliberately absent: it is derived by the rules, never accepted from a plan."""

    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


class StakeholderType(StrEnum):
    TRADE_UNION = "trade_union"
    WORKERS = "workers"
    WORKER_REPRESENTATIVE = "worker_representative"
    AFFECTED_COMMUNITY = "affected_community"
    NGO = "ngo"
    EXPERT = "expert"
    GOVERNMENT = "government"
    INDUSTRY_PEER = "industry_peer"


class MechanismType(StrEnum):
    OWN = "own"
    SHARED = "shared"
    INDUSTRY = "industry"
    MSI = "msi"


class MechanismAudience(StrEnum):
    OWN_EMPLOYEES = "own_employees"
    SUPPLIER_WORKERS = "supplier_workers"
    COMMUNITIES = "communities"
    EXTERNAL_STAKEHOLDERS = "external_stakeholders"
    CLIENTS = "clients"


class MechanismChannel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    MESSAGING_APP = "messaging_app"
    WEB_FORM = "web_form"
    IN_PERSON = "in_person"
    WORKER_COMMITTEE = "worker_committee"
    POST = "post"


class CaseChannel(StrEnum):
    OWN_MECHANISM = "own_mechanism"
    SHARED_MECHANISM = "shared_mechanism"
    COVENANT_SECRETARIAT = "covenant_secretariat"
    NCP = "ncp"
    TRADE_UNION = "trade_union"
    NGO = "ngo"
    OTHER = "other"


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    REFERRED = "referred"


class RemediationStatus(StrEnum):
    NONE = "none"
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    PROVIDED = "provided"


class ResponseStatus(StrEnum):
    ADDRESSED = "addressed"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    DISPUTED = "disputed"


class ProcessingStep(StrEnum):
    RAW_MATERIAL = "raw_material"
    SPINNING = "spinning"
    WEAVING = "weaving"
    KNITTING = "knitting"
    DYEING = "dyeing"
    PRINTING = "printing"
    WASHING = "washing"
    FINISHING = "finishing"
    TANNING = "tanning"
    CUT_MAKE_TRIM = "cut_make_trim"
    EMBROIDERY = "embroidery"
    PACKING = "packing"
    WAREHOUSE = "warehouse"


class ProductType(StrEnum):
    """Aligned with the good names of the US DoL list where one exists."""

    GARMENTS = "garments"
    TEXTILES = "textiles"
    FOOTWEAR = "footwear"
    LEATHER = "leather"
    YARN = "yarn"
    HOME_TEXTILES = "home_textiles"
    ACCESSORIES = "accessories"
    CARPETS = "carpets"


class MonitoringType(StrEnum):
    THIRD_PARTY_AUDIT = "third_party_audit"
    OWN_AUDIT = "own_audit"
    WORKER_VOICE_SURVEY = "worker_voice_survey"
    SELF_ASSESSMENT = "self_assessment"
    MSI_VERIFICATION = "msi_verification"


class ExitReason(StrEnum):
    HUMAN_RIGHTS = "human_rights"
    COMMERCIAL = "commercial"
    QUALITY = "quality"
    CLOSURE = "closure"
    OTHER = "other"


class FinancingType(StrEnum):
    CORPORATE_LOAN = "corporate_loan"
    REVOLVING_CREDIT = "revolving_credit"
    PROJECT_FINANCE = "project_finance"
    TRADE_FINANCE = "trade_finance"
    BOND_UNDERWRITING = "bond_underwriting"
    EQUITY_UNDERWRITING = "equity_underwriting"


class EpCategory(StrEnum):
    A = "A"
    B = "B"
    C = "C"


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class DueDiligenceLevel(StrEnum):
    STANDARD = "standard"
    ENHANCED = "enhanced"


class DueDiligenceOutcome(StrEnum):
    ACCEPTABLE = "acceptable"
    ACCEPTABLE_WITH_CONDITIONS = "acceptable_with_conditions"
    NOT_ACCEPTABLE = "not_acceptable"


class EngagementStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ValueChain(StrEnum):
    COCOA = "cocoa"
    PALM_OIL = "palm_oil"
    GOLD = "gold"


class GroupRole(StrEnum):
    MEMBER = "member"
    CHAIR = "chair"
    OBSERVER = "observer"
    PARTICIPANT = "participant"
    LEAD = "lead"
