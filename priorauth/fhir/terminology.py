"""Code systems, limits and the tables that map FHIR codes and texts to case fields."""

from __future__ import annotations

from priorauth.case.model import Outcome

MAX_BUNDLE_BYTES = 64 * 1024 * 1024
"""Largest Bundle file read whole (64 MiB); bigger exports should use Bulk Data NDJSON."""

MAX_LINE_BYTES = 8 * 1024 * 1024
"""Longest NDJSON line (one resource) accepted: 8 MiB."""

MAX_KEPT_RESOURCES = 200_000
"""Most resources kept in memory at once; past it, import one patient at a time (``patient=``)."""

MAX_EXAMPLES = 5
"""Resource ids listed per kind of ignored resource (the rest are counted)."""

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM_SYSTEM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NDC_SYSTEM = "http://hl7.org/fhir/sid/ndc"
CPT_SYSTEMS = {"http://www.ama-assn.org/go/cpt", "urn:oid:2.16.840.1.113883.6.12"}
HCPCS_SYSTEMS = {
    "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
    "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
    "urn:oid:2.16.840.1.113883.6.285",
}

# ICD-10-CM families a ketamine request can be for (clinical-reference.md "Codes").
DIAGNOSIS_PREFIXES = ("G43", "G44", "G89", "G90.5", "R51")

# Procedure codes (CPT) for the procedures the letter lists, with names of our own that the
# therapy catalogue knows. Anything else is matched on its text through the catalogue.
PROCEDURE_CPT = {
    "64405": "greater occipital nerve block",
    "64615": "onabotulinumtoxinA",
    "64510": "stellate ganglion block",
    "64520": "lumbar sympathetic block",
}

# Burden measures, matched on the Observation's code text or display (normalised). No LOINC codes
# are listed: none was verified for these instruments; add them here once checked.
BURDEN_TEXTS: dict[str, str] = {
    "headache days per month": "headache_days_per_month",
    "headache days in the last month": "headache_days_per_month",
    "headache days": "headache_days_per_month",
    "migraine days per month": "migraine_days_per_month",
    "migraine days": "migraine_days_per_month",
    "debilitating headache days per month": "debilitating_days_per_month",
    "midas total score": "midas",
    "midas score": "midas",
    "migraine disability assessment total score": "midas",
    "migraine disability assessment score": "midas",
    "hit-6 total score": "hit6",
    "hit-6 score": "hit6",
    "headache impact test-6 total score": "hit6",
    "headache impact test (hit-6) total score": "hit6",
}
_BURDEN_INT = {"midas", "hit6"}

# R4 MedicationRequest.statusReason (http://terminology.hl7.org/CodeSystem/
# medicationrequest-status-reason): only the codes that state a tolerability/safety reason map to
# an outcome; the rest (altchoice, clarif, drughigh, hospadm, labint, non-avail, sdupther, surg,
# washout) do not say how the drug worked and are left for a human.
STATUS_REASON_CODES: dict[str, Outcome] = {
    "sintol": Outcome.intolerance,   # suspected intolerance
    "salg": Outcome.intolerance,     # patient allergy
    "sddi": Outcome.contraindication,  # drug interaction
    "preg": Outcome.contraindication,  # pregnancy
}

# Reason texts that state an outcome. Matched against the whole text, or its start followed by a
# separator ("Inadequate response: no change after 12 weeks"), never anywhere inside it ("no side
# effects, stopped for cost" must not read as intolerance).
OUTCOME_PHRASES: dict[str, Outcome] = {
    "inadequate response": Outcome.inadequate_response,
    "inadequate_response": Outcome.inadequate_response,
    "insufficient response": Outcome.inadequate_response,
    "lack of efficacy": Outcome.inadequate_response,
    "ineffective": Outcome.inadequate_response,
    "not effective": Outcome.inadequate_response,
    "drug ineffective": Outcome.inadequate_response,
    "medication ineffective": Outcome.inadequate_response,
    "no response": Outcome.inadequate_response,
    "partial response": Outcome.partial_response,
    "partial_response": Outcome.partial_response,
    "lost efficacy": Outcome.lost_efficacy,
    "lost_efficacy": Outcome.lost_efficacy,
    "loss of efficacy": Outcome.lost_efficacy,
    "loss of effect": Outcome.lost_efficacy,
    "intolerance": Outcome.intolerance,
    "suspected intolerance": Outcome.intolerance,
    "not tolerated": Outcome.intolerance,
    "adverse effect": Outcome.intolerance,
    "adverse effects": Outcome.intolerance,
    "adverse reaction": Outcome.intolerance,
    "side effect": Outcome.intolerance,
    "side effects": Outcome.intolerance,
    "contraindication": Outcome.contraindication,
    "contraindicated": Outcome.contraindication,
    "cost": Outcome.cost,
    "patient preference": Outcome.patient_preference,
    "patient_preference": Outcome.patient_preference,
}

OUTCOME_CHOICES = ", ".join(o.value for o in Outcome)
ROLE_CHOICES = "preventive, acute, maintenance, procedure, rehabilitation"

# Case fields the letter or the payer policy needs, beyond what the case model requires.
NEEDED: dict[str, str] = {
    "patient.group_number": "letter (insurance details)",
    "diagnoses[].onset": "policy (duration of the condition)",
    "burden.headache_days_per_month": "policy (chronic migraine: ≥ 15 headache days/month)",
    "burden.debilitating_days_per_month": "policy (EHF: ≥ 8 debilitating days/month)",
    "burden.months_at_this_frequency": "policy (≥ 3 or ≥ 6 consecutive months)",
    "burden.midas": "letter (disability)",
    "burden.hit6": "letter (disability)",
    "burden.medication_overuse_excluded": "policy (ICHD-3 excludes medication overuse)",
    "facility": "policy (site of care)",
    "requested.codes.cpt": "letter (CPT codes of the request)",
    "requested.codes.hcpcs": "letter (HCPCS code of the drug)",
    "requested.start": "letter",
    "screening": "policy (ketamine safety screening is not read from FHIR)",
}

_TYPES_READ = frozenset({
    "Patient", "Coverage", "Organization", "Practitioner", "PractitionerRole", "Location",
    "Condition", "Medication", "MedicationRequest", "MedicationStatement",
    "MedicationAdministration", "Procedure", "Observation", "Claim",
})
_PATIENT_FIELD = {
    "Condition": "subject", "MedicationRequest": "subject", "MedicationStatement": "subject",
    "MedicationAdministration": "subject", "Procedure": "subject", "Observation": "subject",
    "Claim": "patient", "Coverage": "beneficiary",
}
