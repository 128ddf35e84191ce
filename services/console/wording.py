"""The console's words, Dutch and English (vocabulary labels come from services/shared/i18n)."""

from typing import Any

WORDING: dict[str, dict[str, Any]] = {
    "nl": {
        "lang": "nl",
        "title": "Convenantsecretariaat",
        "login": "Inloggen", "username": "Gebruikersnaam", "password": "Wachtwoord",
        "login_failed": "Inloggen is niet gelukt. Controleer uw gebruikersnaam en wachtwoord; "
                        "na vijf mislukte pogingen wacht uw account een kwartier.",
        "logout": "Uitloggen", "signed_in_as": "Ingelogd als",
        "overview": "Plannen {year}", "covenant": "Convenant", "year": "Jaar",
        "due": "Uiterste datum", "no_due": "geen datum in de convenantkalender",
        "company": "Bedrijf", "plan": "Plan", "status_heading": "Status",
        "status": {"on_time": "op tijd", "late": "te laat", "missing": "ontbreekt"},
        "findings": "Bevindingen", "change": "Verschil met vorig jaar",
        "export_csv": "Exporteren (CSV)", "no_plans": "Geen plannen in dit jaar.",
        "overview_columns": ["Bedrijf", "Bedrijfsnummer", "Status", "Kritiek", "Hoog",
                             "Middel", "Laag", "Ter informatie", "Inzending"],
        "plans_of": "Plannen van {company}", "submitted_on": "Ingediend op",
        "company_columns": ["Jaar", "Ingediend op", "Kritiek", "Hoog", "Middel", "Laag",
                            "Ter informatie", "Inzending"],
        "export_xlsx": "Exporteren (Excel)",
        "assessment": "Voortoets plan {year}: {company}",
        "open": "bekijken", "automatic": "Automatische voortoets; nog niet door het "
        "secretariaat beoordeeld.",
        "found": "Wat we vonden", "todo": "Wat het bedrijf kan doen",
        "provisions": "Bepalingen", "why_severity": "Waarom deze ernst",
        "not_found": "Niet gevonden.",
    },
    "en": {
        "lang": "en",
        "title": "Covenant secretariat",
        "login": "Log in", "username": "User name", "password": "Password",
        "login_failed": "Logging in did not succeed. Check your user name and password; after "
                        "five failed attempts your account waits a quarter of an hour.",
        "logout": "Log out", "signed_in_as": "Logged in as",
        "overview": "Plans {year}", "covenant": "Covenant", "year": "Year",
        "due": "Due date", "no_due": "no date in the covenant calendar",
        "company": "Company", "plan": "Plan", "status_heading": "Status",
        "status": {"on_time": "on time", "late": "late", "missing": "missing"},
        "findings": "Findings", "change": "Change from last year",
        "export_csv": "Export (CSV)", "no_plans": "No plans this year.",
        "overview_columns": ["Company", "Company id", "Status", "Critical", "High", "Medium",
                             "Low", "For information", "Submission"],
        "plans_of": "Plans of {company}", "submitted_on": "Submitted on",
        "company_columns": ["Year", "Submitted on", "Critical", "High", "Medium", "Low",
                            "For information", "Submission"],
        "export_xlsx": "Export (Excel)",
        "assessment": "Pre-assessment of the {year} plan: {company}",
        "open": "open", "automatic": "Automatic pre-assessment; not yet reviewed by the "
        "secretariat.",
        "found": "What we found", "todo": "What the company can do",
        "provisions": "Provisions", "why_severity": "Why this severity",
        "not_found": "Not found.",
    },
}
