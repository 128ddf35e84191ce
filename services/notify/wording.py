"""The words of the letters, Dutch and English, in one place (labels of vocabulary values,
instruments and error texts live in `services/shared/i18n`). `{name}` placeholders are filled
by `letters.py`; entries with `one`/`other` are CLDR plural forms."""

from typing import Any

WORDING: dict[str, dict[str, Any]] = {
    "nl": {
        "subject": {
            "assessment_company": "Automatische voortoets van uw plan van aanpak {year}: "
                                  "{company}",
            "assessment_secretariat": "Voortoets {company}, plan {year}: {summary}",
            "rejection_company": "Uw plan van aanpak is niet in behandeling genomen: {company}",
            "rejection_secretariat": "Inzending geweigerd: {company} ({reason})",
            "digest": "Dagoverzicht {covenant} {day}: {count}",
            "feedback": "Terugkoppeling van het secretariaat op uw plan van aanpak {year}: "
                        "{company}",
            "signal": "Signaal over een productielocatie van u: {location}",
        },
        "heading": {
            "assessment_company": "Automatische voortoets van uw plan van aanpak {year}",
            "assessment_secretariat": "Voortoets plan van aanpak {year}: {company}",
            "rejection_company": "Uw plan van aanpak is niet in behandeling genomen",
            "rejection_secretariat": "Inzending geweigerd",
            "digest": "Dagoverzicht {covenant}, {day}",
            "feedback": "Terugkoppeling op uw plan van aanpak {year}",
            "signal": "Signaal over {location}",
        },
        "signal_intro": "Het convenantsecretariaat heeft een signaal ontvangen over een "
                        "misstand op een productielocatie die in uw laatste plan van aanpak "
                        "staat. Het stuurt dit signaal aan elk bedrijf dat de locatie gebruikt.",
        "signal_location": "Locatie",
        "signal_received_on": "Ontvangen op",
        "signal_theme": "Thema",
        "signal_reference": "Kenmerk",
        "signal_summary": "Wat er gemeld is",
        "signal_confidential": "Deze melding is vertrouwelijk: deel haar niet buiten uw "
                               "organisatie en de betrokken leverancier. Wie de melding deed, "
                               "maakt het secretariaat niet bekend.",
        "signal_expected": "Het secretariaat verwacht dat u gepaste zorgvuldigheid toepast: "
                           "onderzoek het signaal, beëindig of beperk een misstand, voorkom "
                           "herhaling en draag waar nodig bij aan herstel. Neem het signaal "
                           "op als klacht in uw klachtenregistratie, met kenmerk {ref}.",
        "signal_next_plan": "Uw volgende plan van aanpak, uiterlijk {due}, vermeldt het signaal "
                            "onder de klachten met kenmerk {ref}, ongeacht de stand van zaken.",
        "signal_next_plan_undated": "Uw volgende plan van aanpak vermeldt het signaal onder de "
                                    "klachten met kenmerk {ref}, ongeacht de stand van zaken.",
        "feedback_intro": "Het secretariaat heeft uw plan van aanpak beoordeeld. Dit is zijn "
                          "terugkoppeling: de bevindingen hieronder zijn door het secretariaat "
                          "bevestigd. Beantwoord elk ervan in uw volgende plan, onder de "
                          "reacties op eerdere bevindingen.",
        "feedback_replaces": "Het secretariaat heeft zijn beoordeling herzien. Deze "
                             "terugkoppeling vervangt de eerdere.",
        "feedback_remarks": "Opmerkingen van het secretariaat",
        "feedback_total": {"one": "Het secretariaat bevestigt {n} bevinding.",
                           "other": "Het secretariaat bevestigt {n} bevindingen."},
        "feedback_no_findings": "Het secretariaat bevestigt geen bevindingen.",
        "feedback_dismissed": {"one": "{n} bevinding van de automatische voortoets is "
                                      "vervallen.",
                               "other": "{n} bevindingen van de automatische voortoets zijn "
                                        "vervallen."},
        "feedback_sender": "Het convenantsecretariaat",
        "small_print_secretariat": "Bevinding van het secretariaat · {finding}",
        "no_findings_short": "geen bevindingen",
        "recurring_short": {"one": "{n} terugkerend", "other": "{n} terugkerend"},
        "greeting_company": "Geachte heer, mevrouw,",
        "company": "Bedrijf",
        "covenant": "Convenant",
        "submission": "Inzending",
        "submitted_on": "Ingediend op",
        "reporting_year": "Verslagjaar",
        "automatic": "Dit is een automatische voortoets van uw plan aan de regels van het "
                     "convenant. Het is nog niet het oordeel van het secretariaat: dat volgt na "
                     "de beoordeling en het beoordelingsgesprek met u.",
        "automatic_secretariat": "Automatische voortoets; de bevindingen zijn nog niet door "
                                 "het secretariaat bevestigd.",
        "summary": "Samenvatting",
        "findings_total": {"one": "De voortoets leverde {n} bevinding op.",
                           "other": "De voortoets leverde {n} bevindingen op."},
        "no_findings": "De voortoets leverde geen bevindingen op.",
        "meaning": "Kritieke en hoge bevindingen gaan over kernonderdelen van gepaste "
                   "zorgvuldigheid die ontbreken of niet werken; het secretariaat bespreekt ze "
                   "met u in het beoordelingsgesprek. Middel en laag wijzen op onderdelen die "
                   "vollediger of beter kunnen; ter informatie vraagt niets van u.",
        "next_step": "Volgende stap",
        "next_step_due": "Verwerk deze bevindingen in uw plan van aanpak {next_year}. Dat "
                         "plan moet uiterlijk {due} bij het secretariaat zijn.",
        "next_step_undated": "Verwerk deze bevindingen in uw volgende plan van aanpak.",
        "next_step_meeting": "Het secretariaat neemt contact met u op over het "
                             "beoordelingsgesprek.",
        "next_step_rejected": "Verbeter de fouten hieronder en dien het plan opnieuw in.",
        "contact": "Vragen? Neem contact op met {name}, {email}{phone}, of beantwoord dit "
                   "bericht.",
        "phone": " of {phone}",
        "default_contact": "het convenantsecretariaat",
        "findings": "Bevindingen",
        "found": "Wat we vonden",
        "todo": "Wat u kunt doen",
        "why_severity": "Waarom deze ernst",
        "provisions": "Bepalingen",
        "recurring": "Ook bij het vorige plan",
        "small_print": "Regel {rule} · bevinding {finding} · plaats in het plan: {where}",
        "rule_found": {"one": "Deze regel leverde {n} bevinding op.",
                       "other": "Deze regel leverde {n} bevindingen op; de eerste {shown} staan "
                                "hieronder, daarna waar de andere in het plan staan."},
        "also_at": "Ook bij",
        "rule_more_company": {"one": "en nog {n} plaats; vraag het secretariaat om de volledige "
                                     "lijst",
                              "other": "en nog {n} plaatsen; vraag het secretariaat om de "
                                       "volledige lijst"},
        "rule_more_secretariat": {"one": "en nog {n} plaats; de export van de voortoets in de "
                                         "console noemt ze alle",
                                  "other": "en nog {n} plaatsen; de export van de voortoets "
                                           "in de console noemt ze alle"},
        "small_print_rule": "Regel {rule}",
        "small_print_instance": "Bevinding {finding} · plaats in het plan: {where}",
        "severity_heading": "Ernst",
        "this_plan": "Dit plan",
        "previous_plan": "Vorig plan ({year})",
        "change": "Verschil",
        "points": "Ernstpunten",
        "points_note": "Ernstpunten tellen de bevindingen gewogen naar ernst (kritiek {critical}, "
                       "hoog {high}, middel {medium}, laag {low}); een ruwe maat, niet de score "
                       "van het beoordelingskader.",
        "no_previous": "Er is geen eerder aanvaard plan van dit bedrijf bekend.",
        "recurring_heading": "Terugkerende bevindingen",
        "recurring_intro": "Deze bevindingen (zelfde regel, zelfde onderdeel) stonden ook bij "
                           "het vorige plan:",
        "recurring_none": "Geen van de bevindingen stond ook bij het vorige plan.",
        "company_letter": "De brief aan het bedrijf",
        "company_told": {"one": "Het bedrijf krijgt zijn eigen brief, aan {n} contactpersoon.",
                         "other": "Het bedrijf krijgt zijn eigen brief, aan {n} "
                                  "contactpersonen."},
        "company_not_told": "Het plan noemt geen contactpersonen: het bedrijf krijgt geen "
                            "brief.",
        "company_not_known": "Het bedrijf is niet bekend uit een eerder aanvaard plan en krijgt "
                             "geen brief; neem zo nodig zelf contact op.",
        "ruleset": "Regelset",
        "rejection_intro": "De inzending van {company} kon niet in behandeling worden genomen.",
        "reason": {"invalid": "de inzending voldoet niet aan het formaat irbc-plan/1.0",
                   "too_large": "de inzending is groter dan toegestaan",
                   "conflict": "dit inzendingsnummer is al gebruikt voor een ander plan",
                   "unauthorised": "de afzender mag geen plannen voor dit convenant indienen"},
        "errors": {"one": "{n} fout", "other": "{n} fouten"},
        "more_errors": {"one": "en nog {n} fout", "other": "en nog {n} fouten"},
        "where": "Plaats",
        "closing": "Met vriendelijke groet,",
        "sender": "Het convenantsecretariaat (automatisch verstuurd)",
        "undelivered": {"company": "Let op: de brief aan het bedrijf is niet bezorgd; de "
                                   "ontvangende server weigerde hem. Neem op een andere manier "
                                   "contact op met het bedrijf."},
        "unknown_company": "een onbekend bedrijf",
        "unknown_company_id": "een onbekend bedrijf ({company_id})",
        "assessments": {"one": "{n} beoordeling", "other": "{n} beoordelingen"},
        "digest_intro": {"one": "Op {day} is {n} plan van aanpak onder het convenant {covenant} "
                                "voorgetoetst.",
                         "other": "Op {day} zijn {n} plannen van aanpak onder het convenant "
                                  "{covenant} voorgetoetst."},
        "digest_columns": ["Bedrijf", "Plan", "Bevindingen", "Inzending"],
        "check_valid": "{file}: geldig plan van {company} ({covenant}, {year})",
        "check_invalid": "{file}: ongeldig, {errors}",
        "check_unassessed": "{file}: geldig, maar de regels konden het plan niet beoordelen "
                            "({reason}). Meld dit aan het convenantsecretariaat.",
        "check_rule": "regel {rule}; plaats in het plan: {where}",
        "steps": {
            "PROC": "Indiening en samenhang van het plan",
            "DD1": "Stap 1: beleid en verankering",
            "DD2": "Stap 2: risico's in kaart brengen en beoordelen",
            "DD3": "Stap 3: schade stoppen, voorkomen en beperken",
            "DD4": "Stap 4: uitvoering en resultaten volgen",
            "DD5": "Stap 5: communiceren",
            "DD6": "Stap 6: herstel en klachten",
            "XY": "Opvolging van het vorige plan",
            "SECRETARIAT": "Bevindingen van het secretariaat",
            "": "Overige bevindingen",
        },
    },
    "en": {
        "subject": {
            "assessment_company": "Automatic pre-assessment of your {year} plan of action: "
                                  "{company}",
            "assessment_secretariat": "Pre-assessment {company}, {year} plan: {summary}",
            "rejection_company": "Your plan of action was not accepted for assessment: "
                                 "{company}",
            "rejection_secretariat": "Submission refused: {company} ({reason})",
            "digest": "Daily digest {covenant} {day}: {count}",
            "feedback": "The secretariat's feedback on your {year} plan of action: {company}",
            "signal": "A signal about one of your production locations: {location}",
        },
        "heading": {
            "assessment_company": "Automatic pre-assessment of your {year} plan of action",
            "assessment_secretariat": "Pre-assessment of the {year} plan of action: {company}",
            "rejection_company": "Your plan of action was not accepted for assessment",
            "rejection_secretariat": "Submission refused",
            "digest": "Daily digest {covenant}, {day}",
            "feedback": "Feedback on your {year} plan of action",
            "signal": "A signal about {location}",
        },
        "signal_intro": "The covenant secretariat received a signal of an abuse at a "
                        "production location listed in your latest plan of action. It passes "
                        "the signal to every company that uses the location.",
        "signal_location": "Location",
        "signal_received_on": "Received on",
        "signal_theme": "Theme",
        "signal_reference": "Reference",
        "signal_summary": "What was reported",
        "signal_confidential": "This report is confidential: do not share it beyond your "
                               "organisation and the supplier concerned. The secretariat does "
                               "not disclose who made it.",
        "signal_expected": "The secretariat expects you to carry out due diligence: "
                           "investigate the signal, stop or mitigate any abuse, prevent it from "
                           "recurring and contribute to remedy where needed. Record the signal "
                           "as a case in your grievance register, with reference {ref}.",
        "signal_next_plan": "Your next plan of action, due by {due}, lists the signal among the "
                            "grievance cases with reference {ref}, whatever its status.",
        "signal_next_plan_undated": "Your next plan of action lists the signal among the "
                                    "grievance cases with reference {ref}, whatever its "
                                    "status.",
        "feedback_intro": "The secretariat has assessed your plan of action. This is its "
                          "feedback: the secretariat confirmed the findings below. Answer each "
                          "of them in your next plan, among the responses to earlier findings.",
        "feedback_replaces": "The secretariat has revised its assessment. This feedback "
                             "replaces the earlier one.",
        "feedback_remarks": "Remarks of the secretariat",
        "feedback_total": {"one": "The secretariat confirms {n} finding.",
                           "other": "The secretariat confirms {n} findings."},
        "feedback_no_findings": "The secretariat confirms no findings.",
        "feedback_dismissed": {"one": "{n} finding of the automatic pre-assessment was "
                                      "withdrawn.",
                               "other": "{n} findings of the automatic pre-assessment were "
                                        "withdrawn."},
        "feedback_sender": "The covenant secretariat",
        "small_print_secretariat": "Finding of the secretariat · {finding}",
        "no_findings_short": "no findings",
        "recurring_short": {"one": "{n} recurring", "other": "{n} recurring"},
        "greeting_company": "Dear Sir or Madam,",
        "company": "Company",
        "covenant": "Covenant",
        "submission": "Submission",
        "submitted_on": "Submitted on",
        "reporting_year": "Reporting year",
        "automatic": "This is an automatic pre-assessment of your plan against the covenant's "
                     "rules. It is not yet the secretariat's judgement: that follows after the "
                     "assessment and the assessment meeting with you.",
        "automatic_secretariat": "Automatic pre-assessment; the findings are not yet confirmed "
                                 "by the secretariat.",
        "summary": "Summary",
        "findings_total": {"one": "The pre-assessment found {n} issue.",
                           "other": "The pre-assessment found {n} issues."},
        "no_findings": "The pre-assessment found no issues.",
        "meaning": "Critical and high findings concern core elements of due diligence that are "
                   "missing or not working; the secretariat discusses them with you in the "
                   "assessment meeting. Medium and low point to parts that can be more complete "
                   "or better; for information asks nothing of you.",
        "next_step": "Next step",
        "next_step_due": "Address these findings in your {next_year} plan of action, which is "
                         "due at the secretariat by {due}.",
        "next_step_undated": "Address these findings in your next plan of action.",
        "next_step_meeting": "The secretariat will contact you about the assessment meeting.",
        "next_step_rejected": "Correct the errors below and submit the plan again.",
        "contact": "Questions? Contact {name}, {email}{phone}, or reply to this message.",
        "phone": " or {phone}",
        "default_contact": "the covenant secretariat",
        "findings": "Findings",
        "found": "What we found",
        "todo": "What you can do",
        "why_severity": "Why this severity",
        "provisions": "Provisions",
        "recurring": "Also on the previous plan",
        "small_print": "Rule {rule} · finding {finding} · place in the plan: {where}",
        "rule_found": {"one": "This rule found {n} issue.",
                       "other": "This rule found {n} issues; the first {shown} are below, then "
                                "where the others are in the plan."},
        "also_at": "Also at",
        "rule_more_company": {"one": "and {n} more place; ask the secretariat for the complete "
                                     "list",
                              "other": "and {n} more places; ask the secretariat for the "
                                       "complete list"},
        "rule_more_secretariat": {"one": "and {n} more place; the assessment's export in the "
                                         "console lists them all",
                                  "other": "and {n} more places; the assessment's export in "
                                           "the console lists them all"},
        "small_print_rule": "Rule {rule}",
        "small_print_instance": "Finding {finding} · place in the plan: {where}",
        "severity_heading": "Severity",
        "this_plan": "This plan",
        "previous_plan": "Previous plan ({year})",
        "change": "Change",
        "points": "Severity points",
        "points_note": "Severity points count the findings weighted by severity (critical "
                       "{critical}, high {high}, medium {medium}, low {low}); a rough measure, "
                       "not the assessment framework's score.",
        "no_previous": "No earlier accepted plan of this company is known.",
        "recurring_heading": "Recurring findings",
        "recurring_intro": "These findings (same rule, same part) were also made on the "
                           "previous plan:",
        "recurring_none": "None of the findings was made on the previous plan too.",
        "company_letter": "The company's letter",
        "company_told": {"one": "The company gets its own letter, sent to {n} contact.",
                         "other": "The company gets its own letter, sent to {n} contacts."},
        "company_not_told": "The plan names no contacts: the company gets no letter.",
        "company_not_known": "The company is not known from an earlier accepted plan and gets "
                             "no letter; contact it yourself where needed.",
        "ruleset": "Rule set",
        "rejection_intro": "The submission of {company} could not be accepted for assessment.",
        "reason": {"invalid": "the submission does not follow the irbc-plan/1.0 format",
                   "too_large": "the submission is larger than allowed",
                   "conflict": "this submission id was already used for a different plan",
                   "unauthorised": "the sender may not submit plans for this covenant"},
        "errors": {"one": "{n} error", "other": "{n} errors"},
        "more_errors": {"one": "and {n} more error", "other": "and {n} more errors"},
        "where": "Place",
        "closing": "Kind regards,",
        "sender": "The covenant secretariat (sent automatically)",
        "undelivered": {"company": "Please note: the letter to the company was not delivered; "
                                   "the receiving server refused it. Please reach the company "
                                   "another way."},
        "unknown_company": "an unknown company",
        "unknown_company_id": "an unknown company ({company_id})",
        "assessments": {"one": "{n} assessment", "other": "{n} assessments"},
        "digest_intro": {"one": "On {day}, {n} plan of action under the {covenant} covenant "
                                "was pre-assessed.",
                         "other": "On {day}, {n} plans of action under the {covenant} "
                                  "covenant were pre-assessed."},
        "digest_columns": ["Company", "Plan", "Findings", "Submission"],
        "check_valid": "{file}: valid plan of {company} ({covenant}, {year})",
        "check_invalid": "{file}: invalid, {errors}",
        "check_unassessed": "{file}: valid, but the rules could not assess the plan "
                            "({reason}). Please tell the covenant secretariat.",
        "check_rule": "rule {rule}; place in the plan: {where}",
        "steps": {
            "PROC": "Submission and consistency of the plan",
            "DD1": "Step 1: policy and management systems",
            "DD2": "Step 2: identify and assess adverse impacts",
            "DD3": "Step 3: cease, prevent and mitigate",
            "DD4": "Step 4: track implementation and results",
            "DD5": "Step 5: communicate",
            "DD6": "Step 6: remediation and grievances",
            "XY": "Follow-up of the previous plan",
            "SECRETARIAT": "Findings of the secretariat",
            "": "Other findings",
        },
    },
}
