"""A case as a Da Vinci PAS Request Bundle (FHIR R4), the letter attached.

From 1 January 2027 payers offer a FHIR Prior Authorization API (CMS-0057-F); a pipeline submits
a PAS Request Bundle to the payer's ``Claim/$submit``. This module builds that Bundle from a
validated case: the Claim (``use = preauthorization``), Patient, Coverage, the payer
(insurer Organization), the requesting Practitioner, PractitionerRole and Organization, the
site of care, the ketamine order (MedicationRequest: dose, hours, sessions) and the letter as a
base64 ``DocumentReference`` (size and SHA-1 hash set) referenced from ``Claim.supportingInfo``.

Only what the case records goes in: no code, identifier or date is invented. Ids are derived from
the case so the same case gives the same Bundle. priorauth never sends it: the network call, its
authentication and the payer's response are the pipeline's (docs/pas.md).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import uuid
from typing import Any

from priorauth.case.model import Address, Case

PAS = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
CPT_SYSTEM = "http://www.ama-assn.org/go/cpt"
HCPCS_SYSTEM = "urn:oid:2.16.840.1.113883.6.285"
NDC_SYSTEM = "http://hl7.org/fhir/sid/ndc"
MEMBER_ID_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
COVERAGE_CLASS = "http://terminology.hl7.org/CodeSystem/coverage-class"
SUBMITTER = "urn:priorauth:submitter-transaction-identifier"

_NAMESPACE = uuid.UUID("0f6f3f6e-7d1d-4c53-9c58-5d0e7b0f2a11")
"""Namespace of the Bundle's ``urn:uuid`` full URLs (uuid5 of the case and resource)."""


def _full_url(seed: str, kind: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{seed}/{kind}')}"


def _address(address: Address | None) -> list[dict[str, Any]]:
    if address is None:
        return []
    lines = [address.street] + ([address.street2] if address.street2 else [])
    return [{"line": lines, "city": address.city, "state": address.state,
             "postalCode": address.postal_code, "country": "US"}]


def _telecom(phone: str | None, fax: str | None) -> list[dict[str, Any]]:
    found = [{"system": "phone", "value": phone}] if phone else []
    return found + ([{"system": "fax", "value": fax}] if fax else [])


def _human_name(full: str) -> dict[str, Any]:
    given, _, family = full.rpartition(" ")
    name: dict[str, Any] = {"text": full, "family": family or full}
    if given:
        name["given"] = given.split()
    return name


def _profile(name: str) -> dict[str, Any]:
    return {"profile": [f"{PAS}/{name}"]}


class _Builder:
    """Builds the entries of one Bundle; references are the entries' ``urn:uuid`` URLs."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.seed = case.id or hashlib.sha256(case.model_dump_json().encode()).hexdigest()[:16]
        self.entries: list[dict[str, Any]] = []

    def add(self, kind: str, resource: dict[str, Any]) -> str:
        url = _full_url(self.seed, kind)
        self.entries.append({"fullUrl": url, "resource": {"id": url.rpartition(":")[2],
                                                          **resource}})
        return url

    def patient(self) -> str:
        p = self.case.patient
        resource: dict[str, Any] = {
            "resourceType": "Patient", "meta": _profile("profile-subscriber"),
            "identifier": [{"type": {"coding": [{"system": MEMBER_ID_TYPE, "code": "MB"}]},
                            "value": p.member_id}],
            "name": [{"family": p.family_name, "given": p.given_name.split()}],
            "birthDate": p.date_of_birth.isoformat(),
        }
        if p.sex is not None and p.sex.value in ("female", "male", "other", "unknown"):
            resource["gender"] = p.sex.value
        return self.add("Patient", resource)

    def insurer(self) -> str:
        payer = self.case.payer
        resource: dict[str, Any] = {
            "resourceType": "Organization", "meta": _profile("profile-insurer"),
            "active": True, "name": payer.name,
            "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                  "organization-type", "code": "ins"}]}],
        }
        if telecom := _telecom(payer.phone, payer.fax):
            resource["telecom"] = telecom
        if address := _address(payer.address):
            resource["address"] = address
        return self.add("Organization/insurer", resource)

    def coverage(self, patient: str, insurer: str) -> str:
        p, payer = self.case.patient, self.case.payer
        classes = []
        if p.group_number:
            classes.append({"type": {"coding": [{"system": COVERAGE_CLASS, "code": "group"}]},
                            "value": p.group_number})
        if payer.plan:
            classes.append({"type": {"coding": [{"system": COVERAGE_CLASS, "code": "plan"}]},
                            "value": payer.plan, "name": payer.plan})
        resource: dict[str, Any] = {
            "resourceType": "Coverage", "meta": _profile("profile-coverage"),
            "status": "active", "subscriberId": p.member_id,
            "beneficiary": {"reference": patient}, "payor": [{"reference": insurer}],
        }
        if classes:
            resource["class"] = classes
        return self.add("Coverage", resource)

    def requester(self) -> tuple[str, str]:
        """The requesting practice (Organization) and PractitionerRole (with Practitioner)."""
        provider = self.case.provider
        practice = self.add("Organization/requestor", {
            "resourceType": "Organization", "meta": _profile("profile-requestor"),
            "active": True, "name": provider.practice,
            "address": _address(provider.address),
            "telecom": _telecom(provider.phone, provider.fax),
        })
        person: dict[str, Any] = {
            "resourceType": "Practitioner", "meta": _profile("profile-practitioner"),
            "identifier": [{"system": NPI_SYSTEM, "value": provider.npi}],
            "name": [_human_name(provider.name)],
            "qualification": [{"code": {"text": provider.credentials}}],
        }
        practitioner = self.add("Practitioner", person)
        role: dict[str, Any] = {
            "resourceType": "PractitionerRole", "practitioner": {"reference": practitioner},
            "organization": {"reference": practice},
        }
        if provider.specialty:
            role["specialty"] = [{"text": provider.specialty}]
        return practice, self.add("PractitionerRole", role)

    def facility(self) -> str | None:
        facility = self.case.facility
        if facility is None:
            return None
        resource: dict[str, Any] = {"resourceType": "Location", "name": facility.name}
        if facility.npi:
            resource["identifier"] = [{"system": NPI_SYSTEM, "value": facility.npi}]
        if facility.setting:
            resource["type"] = [{"text": facility.setting}]
        if address := _address(facility.address):
            resource["address"] = address[0]
        return self.add("Location", resource)

    def order(self, patient: str, requester: str) -> str:
        """The ketamine order: what the importer reads back as ``requested``."""
        requested = self.case.requested
        repeat: dict[str, Any] = {"count": requested.sessions,
                                  "duration": requested.infusion_hours, "durationUnit": "h"}
        if requested.start is not None:
            repeat["boundsPeriod"] = {"start": requested.start.isoformat()}
        dosage: dict[str, Any] = {"timing": {"repeat": repeat},
                                  "route": {"text": "intravenous"},
                                  "doseAndRate": [{"rateQuantity": _rate(requested.dose)}]}
        if requested.schedule:
            dosage["text"] = requested.schedule
        medication: dict[str, Any] = {"text": "ketamine hydrochloride injection"}
        if requested.codes.ndc:
            medication["coding"] = [{"system": NDC_SYSTEM, "code": requested.codes.ndc}]
        return self.add("MedicationRequest", {
            "resourceType": "MedicationRequest", "status": "draft", "intent": "order",
            "medicationCodeableConcept": medication, "subject": {"reference": patient},
            "requester": {"reference": requester}, "dosageInstruction": [dosage],
        })

    def letter(self, patient: str, pdf: bytes) -> str:
        when = dt.datetime.combine(self.case.letter.date, dt.time(), tzinfo=dt.UTC)
        return self.add("DocumentReference", {
            "resourceType": "DocumentReference", "status": "current",
            "type": {"text": "Letter of medical necessity"},
            "subject": {"reference": patient}, "date": when.isoformat(),
            "content": [{"attachment": {
                "contentType": "application/pdf", "language": "en",
                "data": base64.b64encode(pdf).decode("ascii"), "size": len(pdf),
                "hash": base64.b64encode(hashlib.sha1(pdf).digest()).decode("ascii"),  # noqa: S324 (FHIR's Attachment.hash is SHA-1 by definition)
                "title": "Letter of medical necessity (PDF/A)",
                "creation": when.isoformat()}}],
        })


def _rate(dose: str) -> dict[str, Any]:
    """``0.5 mg/kg/h`` as a Quantity (value + unit as written); text-only when not a number."""
    number, _, unit = dose.strip().partition(" ")
    try:
        value = float(number)
    except ValueError:
        return {"unit": dose}
    return {"value": int(value) if value.is_integer() else value, "unit": unit.strip() or dose}


def pas_bundle(case: Case, letter_pdf: bytes) -> dict[str, Any]:
    """The Da Vinci PAS Request Bundle for ``case`` with ``letter_pdf`` attached (JSON-ready)."""
    build = _Builder(case)
    patient = build.patient()
    insurer = build.insurer()
    coverage = build.coverage(patient, insurer)
    practice, role = build.requester()
    facility = build.facility()
    order = build.order(patient, role)
    letter = build.letter(patient, letter_pdf)
    requested = case.requested
    created = dt.datetime.combine(case.letter.date, dt.time(), tzinfo=dt.UTC).isoformat()
    items = [{"sequence": n, "productOrService": {"coding": [{"system": system, "code": code}]},
              "quantity": {"value": requested.sessions},
              "extension": [{"url": f"{PAS}/extension-requestedService",
                             "valueReference": {"reference": order}}]}
             for n, (system, code) in enumerate(
                 [(CPT_SYSTEM, c) for c in requested.codes.cpt]
                 + [(HCPCS_SYSTEM, c) for c in requested.codes.hcpcs], start=1)]
    if requested.start is not None:
        for item in items:
            item["servicedDate"] = requested.start.isoformat()
    primary = case.primary_diagnosis
    diagnoses = sorted(case.diagnoses, key=lambda d: d is not primary)
    claim: dict[str, Any] = {
        "resourceType": "Claim", "meta": _profile("profile-claim"), "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type",
                             "code": "professional"}]},
        "use": "preauthorization", "patient": {"reference": patient}, "created": created,
        "insurer": {"reference": insurer}, "provider": {"reference": practice},
        "priority": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                 "processpriority",
                                 "code": "stat" if case.letter.urgency.value == "expedited"
                                 else "normal"}]},
        "careTeam": [{"sequence": 1, "provider": {"reference": role}}],
        "diagnosis": [{"sequence": n, "diagnosisCodeableConcept": {"coding": [
            {"system": ICD10CM_SYSTEM, "code": d.code}]},
            **({"type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                "ex-diagnosistype", "code": "principal"}]}]}
               if d is primary else {})}
            for n, d in enumerate(diagnoses, start=1)],
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": coverage}}],
        "supportingInfo": [
            {"sequence": 1, "category": {"coding": [{
                "system": "http://hl7.org/us/davinci-pas/CodeSystem/PASSupportingInfoType",
                "code": "additionalInformation"}], "text": "letter of medical necessity"},
             "valueReference": {"reference": letter}},
            {"sequence": 2, "category": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/claiminformationcategory",
                "code": "info"}], "text": "rationale"},
             "valueString": case.rationale},
        ],
        "item": items,
    }
    if case.letter.reference:
        claim["identifier"] = [{"system": SUBMITTER, "value": case.letter.reference}]
    if facility is not None:
        claim["facility"] = {"reference": facility}
    claim_url = _full_url(build.seed, "Claim")
    claim = {"id": claim_url.rpartition(":")[2], **claim}
    bundle: dict[str, Any] = {
        "resourceType": "Bundle", "meta": _profile("profile-pas-request-bundle"),
        "identifier": {"system": SUBMITTER, "value": case.letter.reference or build.seed},
        "type": "collection", "timestamp": created,
        "entry": [{"fullUrl": claim_url, "resource": claim}, *build.entries],
    }
    return bundle
