"""The case file's JSON Schema (``priorauth schema``): Draft 2020-12, for editors and pipelines.

pydantic writes the structure; this module makes it tell the truth about the loader. The schema
may accept more than ``validate`` (it cannot look up an ICD-10-CM code or compare two dates) but
never rejects a case ``validate`` accepts: text fields also take a number (the loader keeps
``member_id: 123456`` as the text typed), true/false fields also take the words pydantic reads
(``no``, ``on``, ``0``...), number fields also take numeric text. Every property has a
description; field types carry their patterns (:class:`priorauth.case.fields.SchemaHint`).
"""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

CASE_SCHEMA_ID = "urn:priorauth:schema:case:1"
"""Stable ``$id`` of the case schema (a URN: priorauth publishes no schema URL)."""

SCHEMA_FILE_NAME = "priorauth-case.schema.json"
"""The file name ``priorauth init`` points editors to (``priorauth schema > ...``)."""

# pydantic reads these words (any case) and 0/1 as true/false.
_BOOLEAN_TEXT = (r"^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|[Yy]([Ee][Ss])?|[Nn][Oo]?|"
                 r"[Oo]([Nn]|[Ff][Ff])|[TtFf]|[01])$")
_NUMBER_TEXT = r"^\s*[+-]?([0-9][0-9_]*(\.[0-9_]*)?|\.[0-9][0-9_]*)([eE][+-]?[0-9]+)?\s*$"

# Descriptions for fields whose model gives none (keyed "Model.field", alias spelling).
DESCRIPTIONS = {
    "Address.street": "Street and number.",
    "Address.street2": "Second address line (suite, floor).",
    "Address.city": "City.",
    "Address.state": "Two-letter US state code, e.g. OH.",
    "Address.postal_code": "ZIP or ZIP+4 code, e.g. 43215 or 43215-0001.",
    "Attachment.title": "What the attached document is, e.g. 'Headache diary Aug-Oct 2026'.",
    "Attachment.pages": "Number of pages of the attachment.",
    "Attachment.date": "Date of the attached document (YYYY-MM-DD).",
    "Burden.headache_days_per_month": "Headache days per month (0-31).",
    "Burden.migraine_days_per_month": "Migraine days per month (0-31); at most the headache "
                                      "days.",
    "Burden.debilitating_days_per_month": "Days a month the headache or pain is debilitating "
                                          "(0-31).",
    "Burden.months_at_this_frequency": "For how many months the frequency has held.",
    "Burden.ed_visits_12mo": "Emergency department visits for this condition in the last 12 "
                             "months.",
    "Burden.medication_overuse_excluded": "true when medication-overuse headache has been "
                                          "excluded.",
    "Diagnosis.code": "ICD-10-CM code, billable, e.g. G43.719.",
    "Diagnosis.onset": "Date the condition began (YYYY-MM-DD), if documented.",
    "Diagnosis.primary": "true for the primary diagnosis (exactly one when there are several).",
    "Facility.name": "Name of the infusion facility.",
    "Facility.npi": "The facility's NPI (type 2), if it has one.",
    "Facility.address": "The facility's address.",
    "Letter.kind": "initial, appeal (needs denial) or peer_to_peer.",
    "Letter.urgency": "standard or expedited.",
    "Patient.given_name": "Patient's given (first) name as on the insurance card.",
    "Patient.family_name": "Patient's family (last) name as on the insurance card.",
    "Patient.date_of_birth": "Date of birth (YYYY-MM-DD).",
    "Patient.sex": "Sex as recorded by the payer, if needed.",
    "Patient.member_id": "Member ID from the insurance card, kept exactly as typed (an ID of "
                         "digits such as 0012345 needs no quotes).",
    "Patient.group_number": "Group number from the insurance card.",
    "Payer.name": "The insurer's name.",
    "Payer.plan": "The plan's name.",
    "Payer.address": "Where the letter is addressed.",
    "Payer.phone": "The payer's phone number for prior authorization.",
    "Payer.fax": "The payer's fax number for prior authorization.",
    "PriorTherapy.role": "preventive, maintenance, acute, procedure or rehabilitation.",
    "PriorTherapy.dose": "Dose as documented, e.g. '100 mg'.",
    "PriorTherapy.frequency": "How often, e.g. 'twice daily'.",
    "PriorTherapy.outcome": "Why it stopped: inadequate_response, partial_response, "
                            "lost_efficacy, intolerance, contraindication (the failures), or "
                            "cost, access, patient_preference, other.",
    "PriorTherapy.details": "Free text: what happened, as documented.",
    "Provider.name": "The requesting clinician's name.",
    "Provider.specialty": "The clinician's specialty, e.g. 'Neurology'.",
    "Provider.npi": "The clinician's individual NPI (type 1).",
    "Provider.practice": "The practice's name.",
    "Provider.address": "The practice's address.",
    "Provider.phone": "The practice's phone number.",
    "Provider.fax": "The practice's fax number.",
    "Provider.email": "The practice's email address.",
    "RequestCodes.hcpcs": "HCPCS Level II codes of the drug, e.g. J3490.",
    "RequestCodes.cpt": "CPT codes of the infusion service, e.g. 96365.",
    "Requested.treatment": "The requested treatment (only IV ketamine infusion).",
    "Requested.infusion_hours": "Hours per infusion (more than 0, at most 24).",
    "Requested.sessions": "Number of infusion sessions requested (1-100).",
    "Requested.schedule": "When the sessions take place, e.g. '5 consecutive days'.",
    "Requested.start": "Requested start date (YYYY-MM-DD); may be after the letter date.",
    "Requested.codes": "Billing codes of the request.",
    "Requested.monitoring": "How the patient is monitored during and after each infusion.",
    "Screening.date": "Date of the pre-infusion safety screening (YYYY-MM-DD).",
    "Screening.psychosis_history": "History of psychosis (true/false; leave out if not assessed).",
    "Screening.uncontrolled_hypertension": "Uncontrolled hypertension (true/false).",
    "Screening.unstable_cardiac_disease": "Unstable cardiac disease (true/false).",
    "Screening.pregnancy": "Pregnancy (true/false).",
    "Screening.substance_use_disorder": "Active substance use disorder (true/false).",
    "Screening.severe_hepatic_disease": "Severe hepatic disease (true/false).",
    "Screening.elevated_intracranial_or_intraocular_pressure": "Elevated intracranial or "
                                                               "intraocular pressure "
                                                               "(true/false).",
    "Screening.notes": "Free-text notes from the screening.",
    "Case.letter": "The letter: kind, date, urgency, and the denial for an appeal.",
    "Case.patient": "The patient, as on the insurance card.",
    "Case.payer": "The insurer the letter goes to.",
    "Case.provider": "The requesting clinician and practice.",
    "Case.facility": "Where the infusions take place, if not the practice.",
    "Case.diagnoses": "Diagnoses (1-20), with ICD-10-CM codes; one marked primary.",
    "Case.burden": "Disease burden: frequency, disability scores, ED visits.",
    "Case.prior_therapies": "Every prior therapy tried (at least one), as documented.",
    "Case.requested": "What is requested: dose, sessions, schedule, codes.",
    "Case.screening": "The ketamine safety screening; each item as documented.",
    "Case.rationale": "The clinician's rationale, in their words.",
    "Case.attachments": "Documents sent with the letter.",
}


@functools.cache
def _schema() -> dict[str, Any]:
    from priorauth.case import model
    from priorauth.case.model import Case

    schema = Case.model_json_schema(by_alias=True)
    defs: dict[str, Any] = schema.get("$defs", {})
    for model_name, model_schema in [*defs.items(), ("Case", schema)]:
        cls = getattr(model, model_name, None)
        fields = getattr(cls, "model_fields", {})
        props = model_schema.get("properties") or {}
        for name, field in fields.items():  # populate_by_name: `class_` is read as `class`
            if field.alias and field.alias != name and field.alias in props:
                props[name] = {**copy.deepcopy(props[field.alias]), "deprecated": True,
                               "description": f"Same as '{field.alias}' (prefer that name)."}
    for model_name, model_schema in [*defs.items(), ("Case", schema)]:
        for name, prop in (model_schema.get("properties") or {}).items():
            if "description" not in prop:
                described = DESCRIPTIONS.get(f"{model_name}.{name}") or prop.get("title")
                prop["description"] = described
            _loosen(prop)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": CASE_SCHEMA_ID,
        **{k: v for k, v in schema.items() if k != "title"},
        "title": "priorauth case file",
        "description": "One patient's prior-authorization case for IV ketamine infusion, as "
                       "`priorauth validate` reads it (YAML or JSON). The schema checks shapes; "
                       "validate also checks codes against the bundled tables and dates "
                       "against each other.",
    }


def case_json_schema() -> dict[str, Any]:
    """The case schema as a fresh dict (Draft 2020-12, ``$id`` :data:`CASE_SCHEMA_ID`)."""
    return copy.deepcopy(_schema())


def _digits_may_match(pattern: str | None) -> bool:
    """Whether a YAML number (kept as its digits) could pass ``pattern``: a state code cannot,
    so ``state: 12`` stays an error in the editor too."""
    if pattern is None:
        return True
    compiled = re.compile(pattern)
    return any(compiled.search("1" * size) for size in range(1, 31))


def _loosen(node: Any) -> None:
    """Accept what the loader accepts: numbers for text, words for true/false, text numbers."""
    if isinstance(node, list):
        for item in node:
            _loosen(item)
        return
    if not isinstance(node, dict):
        return
    for key in ("anyOf", "items", "allOf", "oneOf"):
        if key in node:
            _loosen(node[key])
    kind = node.get("type")
    if kind == "string" and "format" not in node and "enum" not in node and "const" not in node:
        if _digits_may_match(node.get("pattern")):
            node["type"] = ["string", "number"]
    elif kind == "boolean":
        del node["type"]
        node["anyOf"] = [{"type": "boolean"}, {"type": "string", "pattern": _BOOLEAN_TEXT},
                         {"enum": [0, 1]}]
    elif kind in ("integer", "number"):
        bounds = {k: node.pop(k) for k in ("minimum", "maximum", "exclusiveMinimum",
                                           "exclusiveMaximum") if k in node}
        del node["type"]
        node["anyOf"] = [{"type": kind, **bounds}, {"type": "string", "pattern": _NUMBER_TEXT}]
