"""FHIR R4 import: an EHR export (Bundle JSON, or a Bulk Data folder of NDJSON) → draft case files.

The importer reads only what it maps, R4-shaped, with small pydantic models of its own (the
``fhir.resources`` package defaults to R5, which silently drops R4's ``medicationCodeableConcept``).
Nothing is guessed: a value the FHIR data does not state is left for a human, marked ``TODO`` in
the YAML (a placeholder that fails ``priorauth validate`` until someone fills it in) and listed in
the import report together with every field filled (and the resource it came from), every
resource ignored (and why) and every value present but invalid (e.g. an NPI failing its check
digit — reported, never "fixed").

Memory stays bounded: NDJSON is read line by line (each line at most :data:`MAX_LINE_BYTES`),
resources of no use are dropped as they are read, and ``patient=`` keeps only that patient's data.

Public API::

    for result in iter_cases("export/"):          # one ImportResult per Patient
        result.report.to_dict(); result.yaml(); result.case()   # case() raises CaseInvalid
    result = import_case("bundle.json", patient="pt-1")

The report uses resource ids and field paths only; it never repeats names or dates of birth.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from priorauth.case.model import Case, Outcome, submodel
from priorauth.case.parse import iter_leaves, iter_ndjson_lines
from priorauth.errors import CaseInvalid, Problem

# --- limits -----------------------------------------------------------------------------------

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


# --- R4 shapes (only the elements priorauth reads; everything else is ignored) ------------------

class R4(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Coding(R4):
    system: str | None = None
    code: str | None = None
    display: str | None = None


class CodeableConcept(R4):
    coding: list[Coding] = Field(default_factory=list)
    text: str | None = None

    def codes(self, *systems: str) -> list[Coding]:
        return [c for c in self.coding if c.code and c.system in systems]

    def texts(self) -> list[str]:
        return [t for t in [self.text, *(c.display for c in self.coding)] if t]

    def label(self) -> str | None:
        return next(iter(self.texts()), None)


class Identifier(R4):
    system: str | None = None
    value: str | None = None
    type: CodeableConcept | None = None


class Reference(R4):
    reference: str | None = None
    identifier: Identifier | None = None
    display: str | None = None


class Period(R4):
    start: str | None = None
    end: str | None = None


class Quantity(R4):
    value: float | None = None
    unit: str | None = None
    code: str | None = None


class HumanName(R4):
    use: str | None = None
    family: str | None = None
    given: list[str] = Field(default_factory=list)
    text: str | None = None


class FAddress(R4):
    line: list[str] = Field(default_factory=list)
    city: str | None = None
    state: str | None = None
    postalCode: str | None = None


class ContactPoint(R4):
    system: str | None = None
    value: str | None = None


class Annotation(R4):
    text: str | None = None


class TimingRepeat(R4):
    boundsPeriod: Period | None = None
    count: int | None = None
    duration: float | None = None
    durationUnit: str | None = None
    frequency: int | None = None
    period: float | None = None
    periodUnit: str | None = None


class Timing(R4):
    repeat: TimingRepeat | None = None
    code: CodeableConcept | None = None


class DoseAndRate(R4):
    doseQuantity: Quantity | None = None
    rateQuantity: Quantity | None = None


class Dosage(R4):
    text: str | None = None
    timing: Timing | None = None
    asNeededBoolean: bool | None = None
    doseAndRate: list[DoseAndRate] = Field(default_factory=list)


class AdministrationDosage(R4):
    text: str | None = None
    dose: Quantity | None = None
    rateQuantity: Quantity | None = None


class Resource(R4):
    resourceType: str
    id: str | None = None
    contained: list[dict[str, Any]] = Field(default_factory=list)


class PatientR(Resource):
    identifier: list[Identifier] = Field(default_factory=list)
    name: list[HumanName] = Field(default_factory=list)
    gender: str | None = None
    birthDate: str | None = None


class OrganizationR(Resource):
    identifier: list[Identifier] = Field(default_factory=list)
    name: str | None = None
    telecom: list[ContactPoint] = Field(default_factory=list)
    address: list[FAddress] = Field(default_factory=list)


class LocationR(Resource):
    identifier: list[Identifier] = Field(default_factory=list)
    name: str | None = None
    type: list[CodeableConcept] = Field(default_factory=list)
    telecom: list[ContactPoint] = Field(default_factory=list)
    address: FAddress | None = None
    managingOrganization: Reference | None = None


class Qualification(R4):
    code: CodeableConcept | None = None


class PractitionerR(Resource):
    identifier: list[Identifier] = Field(default_factory=list)
    name: list[HumanName] = Field(default_factory=list)
    telecom: list[ContactPoint] = Field(default_factory=list)
    address: list[FAddress] = Field(default_factory=list)
    qualification: list[Qualification] = Field(default_factory=list)


class PractitionerRoleR(Resource):
    practitioner: Reference | None = None
    organization: Reference | None = None
    location: list[Reference] = Field(default_factory=list)
    specialty: list[CodeableConcept] = Field(default_factory=list)
    telecom: list[ContactPoint] = Field(default_factory=list)


class CoverageClass(R4):
    type: CodeableConcept | None = None
    value: str | None = None
    name: str | None = None


class CoverageR(Resource):
    status: str | None = None
    identifier: list[Identifier] = Field(default_factory=list)
    subscriberId: str | None = None
    beneficiary: Reference | None = None
    payor: list[Reference] = Field(default_factory=list)
    class_: list[CoverageClass] = Field(default_factory=list, alias="class")


class ConditionR(Resource):
    clinicalStatus: CodeableConcept | None = None
    verificationStatus: CodeableConcept | None = None
    code: CodeableConcept | None = None
    subject: Reference | None = None
    onsetDateTime: str | None = None
    onsetPeriod: Period | None = None


class MedicationR(Resource):
    code: CodeableConcept | None = None


class MedicationUse(Resource):
    """What MedicationRequest, MedicationStatement and MedicationAdministration share (R4)."""

    status: str | None = None
    medicationCodeableConcept: CodeableConcept | None = None
    medicationReference: Reference | None = None
    subject: Reference | None = None
    reasonCode: list[CodeableConcept] = Field(default_factory=list)
    reasonReference: list[Reference] = Field(default_factory=list)
    note: list[Annotation] = Field(default_factory=list)


class DispenseRequest(R4):
    validityPeriod: Period | None = None


class MedicationRequestR(MedicationUse):
    intent: str | None = None
    statusReason: CodeableConcept | None = None
    authoredOn: str | None = None
    requester: Reference | None = None
    dosageInstruction: list[Dosage] = Field(default_factory=list)
    dispenseRequest: DispenseRequest | None = None


class MedicationStatementR(MedicationUse):
    statusReason: list[CodeableConcept] = Field(default_factory=list)
    effectiveDateTime: str | None = None
    effectivePeriod: Period | None = None
    dosage: list[Dosage] = Field(default_factory=list)


class MedicationAdministrationR(MedicationUse):
    statusReason: list[CodeableConcept] = Field(default_factory=list)
    effectiveDateTime: str | None = None
    effectivePeriod: Period | None = None
    dosage: AdministrationDosage | None = None


class ProcedureR(Resource):
    status: str | None = None
    code: CodeableConcept | None = None
    subject: Reference | None = None
    performedDateTime: str | None = None
    performedPeriod: Period | None = None
    outcome: CodeableConcept | None = None
    reasonCode: list[CodeableConcept] = Field(default_factory=list)
    reasonReference: list[Reference] = Field(default_factory=list)


class ObservationR(Resource):
    status: str | None = None
    code: CodeableConcept | None = None
    subject: Reference | None = None
    effectiveDateTime: str | None = None
    effectivePeriod: Period | None = None
    valueQuantity: Quantity | None = None
    valueInteger: int | None = None


class ClaimCareTeam(R4):
    sequence: int | None = None
    provider: Reference | None = None


class ClaimDiagnosis(R4):
    sequence: int | None = None
    diagnosisCodeableConcept: CodeableConcept | None = None
    diagnosisReference: Reference | None = None
    type: list[CodeableConcept] = Field(default_factory=list)


class ClaimInsurance(R4):
    sequence: int | None = None
    focal: bool | None = None
    coverage: Reference | None = None


class ClaimDetail(R4):
    productOrService: CodeableConcept | None = None


class ClaimItem(R4):
    sequence: int | None = None
    productOrService: CodeableConcept | None = None
    servicedDate: str | None = None
    servicedPeriod: Period | None = None
    locationReference: Reference | None = None
    detail: list[ClaimDetail] = Field(default_factory=list)
    extension: list[dict[str, Any]] = Field(default_factory=list)


class ClaimSupportingInfo(R4):
    category: CodeableConcept | None = None
    valueString: str | None = None


class ClaimR(Resource):
    status: str | None = None
    use: str | None = None
    identifier: list[Identifier] = Field(default_factory=list)
    patient: Reference | None = None
    created: str | None = None
    insurer: Reference | None = None
    provider: Reference | None = None
    priority: CodeableConcept | None = None
    careTeam: list[ClaimCareTeam] = Field(default_factory=list)
    diagnosis: list[ClaimDiagnosis] = Field(default_factory=list)
    insurance: list[ClaimInsurance] = Field(default_factory=list)
    item: list[ClaimItem] = Field(default_factory=list)
    facility: Reference | None = None
    supportingInfo: list[ClaimSupportingInfo] = Field(default_factory=list)
    prescription: Reference | None = None


MODELS: dict[str, type[Resource]] = {
    "Patient": PatientR, "Organization": OrganizationR, "Location": LocationR,
    "Practitioner": PractitionerR, "PractitionerRole": PractitionerRoleR, "Coverage": CoverageR,
    "Condition": ConditionR, "Medication": MedicationR, "MedicationRequest": MedicationRequestR,
    "MedicationStatement": MedicationStatementR,
    "MedicationAdministration": MedicationAdministrationR, "Procedure": ProcedureR,
    "Observation": ObservationR, "Claim": ClaimR,
}


def key_of(resource: Resource) -> str:
    return f"{resource.resourceType}/{resource.id}"


# --- the report ---------------------------------------------------------------------------------

@dataclass
class Filled:
    field: str
    source: str
    """``Type/id element`` — where the value was read."""


@dataclass
class Missing:
    field: str
    needed_by: str
    reason: str


@dataclass
class Invalid:
    field: str | None
    source: str
    message: str


@dataclass
class Ignored:
    resource_type: str
    reason: str
    count: int = 0
    examples: list[str] = field(default_factory=list)


@dataclass
class Unresolved:
    source: str
    reference: str
    """The reference as written (a resource type and id or URL; never a display name)."""


@dataclass
class ImportReport:
    """What an import found, left empty and ignored — resource ids and field paths only."""

    input: str
    patient: str
    filled: list[Filled] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)
    invalid: list[Invalid] = field(default_factory=list)
    ignored: dict[tuple[str, str], Ignored] = field(default_factory=dict)
    input_ignored: dict[tuple[str, str], Ignored] = field(default_factory=dict)
    """Resources dropped while reading a many-patient input (not attributable to one patient)."""
    unresolved: list[Unresolved] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def ignore(self, resource_type: str, reason: str, resource_id: str | None = None,
               count: int = 1) -> None:
        entry = self.ignored.setdefault((resource_type, reason), Ignored(resource_type, reason))
        entry.count += count
        if resource_id and len(entry.examples) < MAX_EXAMPLES:
            entry.examples.append(resource_id)

    @property
    def complete(self) -> bool:
        """No required field left for a human and nothing invalid: the case validates."""
        return not self.invalid and not any(m.needed_by == "case file" for m in self.missing)

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "patient": self.patient,
            "complete": self.complete,
            "filled": [vars(f) for f in self.filled],
            "missing": [vars(m) for m in self.missing],
            "invalid": [vars(i) for i in self.invalid],
            "ignored": [vars(i) for i in self.ignored.values()],
            "input_ignored": [vars(i) for i in self.input_ignored.values()],
            "unresolved_references": [vars(u) for u in self.unresolved],
            "notes": list(self.notes),
        }

    def lines(self) -> list[str]:
        """A plain-text summary for stderr."""
        out = [f"{self.patient} (from {self.input}): {len(self.filled)} fields filled, "
               f"{len(self.missing)} missing, {len(self.invalid)} invalid, "
               f"{sum(i.count for i in self.ignored.values())} resources ignored"]
        out += [f"  filled   {f.field} <- {f.source}" for f in self.filled]
        out += [f"  MISSING  {m.field} [{m.needed_by}]: {m.reason}" for m in self.missing]
        out += [f"  INVALID  {i.field or '-'} <- {i.source}: {i.message}" for i in self.invalid]
        out += [f"  unresolved reference {u.reference} in {u.source}" for u in self.unresolved]
        for label, group in (("ignored ", self.ignored), ("ignored (input-wide)",
                                                          self.input_ignored)):
            for entry in group.values():
                examples = ", ".join(entry.examples)
                more = f" (+{entry.count - len(entry.examples)} more)" \
                    if entry.count > len(entry.examples) else ""
                out.append(f"  {label} {entry.count} {entry.resource_type}: {entry.reason}"
                           + (f" [{examples}{more}]" if examples else ""))
        out += [f"  note     {n}" for n in self.notes]
        return out


# --- draft case data with TODO placeholders -------------------------------------------------------

@dataclass(frozen=True)
class Todo:
    """A value the FHIR data does not give. ``text`` fields are written empty (``field:``), other
    fields as ``TODO``: either way ``priorauth validate`` fails until a human fills it in."""

    reason: str
    kind: Literal["text", "value"] = "value"


def _strip_todos(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_todos(v) for k, v in value.items() if not isinstance(v, Todo)}
    if isinstance(value, list):
        return [_strip_todos(v) for v in value if not isinstance(v, Todo)]
    return value


def _todo_paths(value: Any) -> Iterator[tuple[str, Todo]]:
    return ((path, leaf) for path, leaf in iter_leaves(value) if isinstance(leaf, Todo))


@dataclass
class ImportResult:
    """One patient's draft case: ``data`` (with :class:`Todo` placeholders), the comments that
    point each value at its source resource, and the report."""

    patient_id: str
    data: dict[str, Any]
    comments: dict[str, str]
    report: ImportReport

    def todos(self) -> list[tuple[str, Todo]]:
        return list(_todo_paths(self.data))

    def case(self) -> Case:
        """The validated case; :class:`CaseInvalid` lists every TODO and invalid value."""
        from priorauth.case.parse import case_from_data

        source = f"{self.report.input} ({self.report.patient})"
        todo_problems = [Problem(path, f"not in the FHIR data; a human must fill it in: "
                                       f"{todo.reason}", source=source)
                         for path, todo in self.todos()]
        try:
            case = case_from_data(_strip_todos(self.data), None, source)
        except CaseInvalid as exc:
            todo_paths = [p.path for p in todo_problems]
            others = [p for p in exc.problems
                      if not any(p.path == t or p.path.startswith((t + ".", t + "["))
                                 or t.startswith((p.path + ".", p.path + "["))
                                 for t in todo_paths)]
            raise CaseInvalid(todo_problems + others, source) from None
        if todo_problems:
            raise CaseInvalid(todo_problems, source)
        return case

    def yaml(self) -> str:
        """The draft as a commented YAML case file (see :func:`to_yaml`)."""
        return to_yaml(self)


# --- reading ----------------------------------------------------------------------------------

@dataclass
class _Raw:
    data: dict[str, Any]
    full_url: str | None
    origin: str


def _problem(source: str, message: str, line: int | None = None) -> CaseInvalid:
    return CaseInvalid([Problem("", message, line, None, source)], source)


def _strict_json(text: str | bytes) -> Any:
    def reject(name: str) -> float:
        raise ValueError(f"{name} is not valid JSON")

    return json.loads(text, parse_constant=reject)


def _read_bundle(path: Path) -> Iterator[_Raw]:
    source = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BUNDLE_BYTES:
            raise _problem(source, f"the file is {size:,} bytes; a Bundle may be at most "
                                   f"{MAX_BUNDLE_BYTES:,} (use a Bulk Data NDJSON export)")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise _problem(source, "file not found; check the path") from None
    except PermissionError:
        raise _problem(source, "cannot be read (permission denied)") from None
    try:
        data = _strict_json(raw)
    except json.JSONDecodeError as exc:
        raise _problem(source, f"is not valid JSON: {exc.msg}", exc.lineno) from None
    except (ValueError, RecursionError) as exc:
        message = "is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise _problem(source, f"is not valid JSON: {message}") from None
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        raise _problem(source, "is JSON but not a FHIR resource (no resourceType); expected a "
                               "Bundle or a Bulk Data folder of .ndjson files")
    if data["resourceType"] != "Bundle":  # a single resource: read it as a Bundle of one
        yield _Raw(data, None, source)
        return
    entries = data.get("entry") or []
    if not isinstance(entries, list):
        raise _problem(source, "Bundle.entry must be a list")
    for index, entry in enumerate(entries):
        origin = f"{source} entry[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
            yield _Raw({"resourceType": "(entry without a resource)"}, None, origin)
            continue
        full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
        yield _Raw(entry["resource"], full_url, origin)


def _read_ndjson(path: Path) -> Iterator[_Raw]:
    source = str(path)
    try:
        handle = path.open("rb")
    except PermissionError:
        raise _problem(source, "cannot be read (permission denied)") from None
    with handle:
        for number, line in iter_ndjson_lines(handle, MAX_LINE_BYTES):
            if line is None:
                raise _problem(source, f"line {number} is longer than {MAX_LINE_BYTES:,} bytes; "
                                       "one NDJSON line holds one resource", number)
            try:
                data = _strict_json(line)
            except json.JSONDecodeError as exc:
                raise _problem(source, f"line {number} is not valid JSON: {exc.msg}",
                               number) from None
            except (ValueError, RecursionError) as exc:
                message = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
                raise _problem(source, f"line {number} is not valid JSON: {message}",
                               number) from None
            if not isinstance(data, dict):
                data = {"resourceType": "(not a JSON object)"}
            yield _Raw(data, None, f"{source}:{number}")


def _read_input(path: Path) -> Iterator[_Raw]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir()
                       if p.is_file() and p.suffix.lower() in (".ndjson", ".jsonl", ".json"))
        if not files:
            raise _problem(str(path), "the folder holds no .ndjson (Bulk Data) or .json files")
        for file in files:
            if file.suffix.lower() == ".json":
                yield from _read_bundle(file)
            else:
                yield from _read_ndjson(file)
    elif path.exists():
        if path.suffix.lower() in (".ndjson", ".jsonl"):
            yield from _read_ndjson(path)
        else:
            yield from _read_bundle(path)
    else:
        raise _problem(str(path), "file or folder not found; check the path")


def _normalise(text: str) -> str:
    return " ".join(text.casefold().replace("_", " ").split())


def _raw_texts(value: Any) -> list[str]:
    if not isinstance(value, dict):
        return []
    texts = [value.get("text")]
    texts += [c.get("display") for c in value.get("coding") or [] if isinstance(c, dict)]
    return [t for t in texts if isinstance(t, str)]


def _burden_measure(code: CodeableConcept | dict[str, Any] | None) -> str | None:
    texts = code.texts() if isinstance(code, CodeableConcept) else _raw_texts(code)
    for text in texts:
        measure = BURDEN_TEXTS.get(_normalise(text))
        if measure:
            return measure
    return None


def _reference_id(reference: str, resource_type: str) -> str | None:
    """``Patient/123`` or ``https://x/fhir/Patient/123/_history/2`` → ``123``."""
    match = re.search(rf"(?:^|/){resource_type}/([A-Za-z0-9\-.]{{1,64}})(?:/_history/[^/]+)?$",
                      reference)
    return match.group(1) if match else None


class Store:
    """The resources kept from an input, indexed for reference resolution."""

    def __init__(self, source: str, patient: str | None = None) -> None:
        self.source = source
        self.patient = patient
        self.resources: dict[str, Resource] = {}
        self.aliases: dict[str, str] = {}
        self.ignored: list[tuple[str, str, str | None, str | None]] = []
        """(type, reason, id, patient reference) — reported in each patient's report."""
        self.invalid: list[tuple[str, str, str | None]] = []
        self.unread: set[str] = set()
        """Keys and fullUrls of resources present but of a type priorauth does not read."""
        self._counts: Counter[tuple[str, str]] = Counter()
        self._examples: dict[tuple[str, str], list[str]] = {}

    def _skip(self, resource_type: str, reason: str, resource_id: str | None,
              patient_ref: str | None = None) -> None:
        # Many resources of one kind are skipped for the same reason: count them, keep a few ids.
        if patient_ref is None:
            key = (resource_type, reason)
            self._counts[key] += 1
            examples = self._examples.setdefault(key, [])
            if resource_id and len(examples) < MAX_EXAMPLES:
                examples.append(resource_id)
            return
        self.ignored.append((resource_type, reason, resource_id, patient_ref))

    def skipped(self) -> Iterator[tuple[str, str, int, list[str]]]:
        for key, count in self._counts.items():
            yield key[0], key[1], count, self._examples.get(key, [])

    def add_raw(self, raw: _Raw) -> None:
        data = raw.data
        kind = data.get("resourceType")
        rid = data.get("id") if isinstance(data.get("id"), str) else None
        if not isinstance(kind, str):
            self._skip("(no resourceType)", "not a FHIR resource (no resourceType)", raw.origin)
            return
        if kind not in _TYPES_READ:
            self._skip(kind, "resource type not used by priorauth", rid)
            if rid and len(self.unread) < MAX_KEPT_RESOURCES:
                self.unread.add(f"{kind}/{rid}")
                if raw.full_url:
                    self.unread.add(raw.full_url)
            return
        if kind in ("MedicationRequest", "MedicationStatement", "MedicationAdministration") and \
                "medication" in data and "medicationCodeableConcept" not in data \
                and "medicationReference" not in data:
            self._skip(kind, "R5-shaped (medication as CodeableReference); priorauth reads "
                             "FHIR R4 only", rid)
            return
        field_name = _PATIENT_FIELD.get(kind)
        if self.patient and field_name:
            ref = data.get(field_name)
            text = ref.get("reference") if isinstance(ref, dict) else None
            if isinstance(text, str) and (other := _reference_id(text, "Patient")) is not None \
                    and other != self.patient:
                self._counts[(kind, "about another patient")] += 1
                return
        if kind == "Patient" and self.patient and rid != self.patient:
            self._counts[("Patient", "another patient (not selected)")] += 1
            return
        if kind == "Observation" and _burden_measure(data.get("code")) is None:
            self._skip(kind, "not a headache-burden measure priorauth reads (headache or "
                             "migraine days, MIDAS, HIT-6)", rid)
            return
        if kind == "Claim" and data.get("use") != "preauthorization":
            self._skip(kind, f"use is {data.get('use')!r}, not 'preauthorization' (a billing "
                             "claim, not a prior-authorization request)", rid)
            return
        try:
            resource = MODELS[kind].model_validate(data)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            self.invalid.append((f"{kind}/{rid}", f"not valid FHIR R4: {where}: {first['msg']}",
                                 None))
            self._skip(kind, "not valid FHIR R4 (see invalid)", rid)
            return
        if resource.id is None:
            resource.id = _synthetic_id(raw)
        key = key_of(resource)
        if key in self.resources:
            self._skip(kind, "duplicate of a resource with the same id (first copy used)", rid)
            return
        if len(self.resources) >= MAX_KEPT_RESOURCES:
            raise _problem(self.source, f"more than {MAX_KEPT_RESOURCES:,} usable resources; "
                                        "import one patient at a time (--patient ID)")
        self.resources[key] = resource
        if raw.full_url:
            self.aliases[raw.full_url] = key

    def resolve(self, ref: Reference | None, holder: Resource) -> Resource | None:
        if ref is None:
            return None
        text = ref.reference
        if text is None and ref.identifier is not None:
            return self._by_identifier(None, ref.identifier.system, ref.identifier.value)
        if not text:
            return None
        if text.startswith("#"):
            for item in holder.contained:
                if item.get("id") == text[1:] and item.get("resourceType") in MODELS:
                    try:
                        return MODELS[item["resourceType"]].model_validate(item)
                    except ValidationError:
                        return None
            return None
        if text in self.aliases:
            return self.resources.get(self.aliases[text])
        if "?" in text:  # conditional reference: Practitioner?identifier=system|value
            kind, _, query = text.partition("?")
            match = re.fullmatch(r"identifier=(?:([^|&]*)\|)?([^&]+)", query)
            if match:
                return self._by_identifier(kind, match.group(1), match.group(2))
            return None
        match = re.search(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$",
                          text)
        if match:
            return self.resources.get(f"{match.group(1)}/{match.group(2)}")
        return None

    def _by_identifier(self, kind: str | None, system: str | None,
                       value: str | None) -> Resource | None:
        if not value:
            return None
        for resource in self.resources.values():
            if kind and resource.resourceType != kind:
                continue
            for ident in getattr(resource, "identifier", []) or []:
                if ident.value == value and (system is None or ident.system == system):
                    return resource
        return None

    def of_type(self, kind: str) -> list[Resource]:
        return [r for r in self.resources.values() if r.resourceType == kind]


def _synthetic_id(raw: _Raw) -> str:
    digest = hashlib.sha256(f"{raw.origin}|{raw.full_url}".encode()).hexdigest()[:16]
    return f"noid-{digest}"


def load_store(path: str | Path, patient: str | None = None) -> Store:
    """Read an input (Bundle / resource JSON, NDJSON file, or folder) into a :class:`Store`."""
    path = Path(path)
    store = Store(str(path), patient)
    for raw in _read_input(path):
        store.add_raw(raw)
    return store


# --- small helpers ------------------------------------------------------------------------------

def _date(value: str | None) -> tuple[dt.date | None, str | None]:
    """A FHIR date/dateTime → its calendar date as written; partial dates are not completed."""
    if not value:
        return None, None
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(T.*)?", value.strip())
    if not match:
        if re.fullmatch(r"\d{4}(-\d{2})?", value.strip()):
            return None, f"is a partial date ({len(value.strip())} characters); a full date " \
                         "(YYYY-MM-DD) is needed and priorauth does not make up the day"
        return None, "is not a FHIR date"
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3])), None
    except ValueError:
        return None, "is not a real calendar date"


def _number(value: float) -> str:
    return f"{value:g}"


def _quantity_text(q: Quantity | None) -> str | None:
    if q is None or q.value is None:
        return None
    unit = q.unit or q.code
    if not unit or unit in ("1", "{tbl}"):
        return None  # a bare count of tablets says nothing about strength
    return f"{_number(q.value)} {unit}"


_PERIOD_UNITS = {"h": "hour", "d": "day", "wk": "week", "mo": "month", "a": "year"}


def _frequency(dosage: Dosage) -> str | None:
    timing = dosage.timing
    if dosage.asNeededBoolean:
        return "as needed"
    if timing and timing.code and timing.code.label():
        return timing.code.label()
    repeat = timing.repeat if timing else None
    if repeat is None or repeat.frequency is None or repeat.period is None or not repeat.periodUnit:
        return None
    unit = _PERIOD_UNITS.get(repeat.periodUnit, repeat.periodUnit)
    f, p = repeat.frequency, repeat.period
    if p == 1 and unit == "day":
        return {1: "once daily", 2: "twice daily", 3: "three times daily",
                4: "four times daily"}.get(f, f"{f} times daily")
    if p == 1 and f == 1:
        return {"week": "once weekly", "month": "monthly", "year": "yearly"}.get(
            unit, f"once per {unit}")
    if f == 1:
        return f"every {_number(p)} {unit}s"
    return f"{f} times every {_number(p)} {unit}{'s' if p != 1 else ''}"


def _reason_outcome(concepts: Iterable[CodeableConcept]) -> tuple[Outcome | None, str | None,
                                                                   str | None]:
    """(outcome, details, what was read) from statusReason / outcome concepts, or Nones."""
    stated: list[str] = []
    for concept in concepts:
        for coding in concept.coding:
            if coding.code in STATUS_REASON_CODES and (
                    coding.system is None or coding.system.endswith(
                        "medicationrequest-status-reason")):
                return STATUS_REASON_CODES[coding.code], None, f"code {coding.code}"
        for text in concept.texts():
            stated.append(text)
            norm = _normalise(text)
            for phrase, outcome in OUTCOME_PHRASES.items():
                if norm == phrase:
                    return outcome, None, "text"
                if norm.startswith(phrase) and norm[len(phrase):len(phrase) + 2].strip()[:1] in (
                        ":", "-", "—", ";", "."):
                    rest = text.strip()[len(phrase):].lstrip(" :-—;.").strip()
                    return outcome, rest or None, "text"
    return None, None, ("; ".join(stated) if stated else None)


def _address(addr: FAddress | None) -> tuple[dict[str, Any] | None, str | None]:
    if addr is None:
        return None, None
    lines = [line for line in addr.line if line.strip()]
    parts = {"street": lines[0] if lines else None, "city": addr.city, "state": addr.state,
             "postal_code": addr.postalCode}
    absent = [k for k, v in parts.items() if not v]
    if absent:
        return None, f"address without {', '.join(absent)}"
    result: dict[str, Any] = {"street": parts["street"]}
    if len(lines) > 1:
        result["street2"] = ", ".join(lines[1:])
    result.update(city=addr.city, state=addr.state, postal_code=addr.postalCode)
    return result, None


def _telecom(points: list[ContactPoint], system: str) -> str | None:
    return next((p.value for p in points if p.system == system and p.value), None)


def _npi(identifiers: list[Identifier]) -> Identifier | None:
    return next((i for i in identifiers if i.system == NPI_SYSTEM and i.value), None)


def _person_name(names: list[HumanName]) -> HumanName | None:
    return next((n for n in names if n.use == "official"), names[0] if names else None)


def _diagnosis_family(code: str) -> bool:
    code = code.upper()
    if "." not in code and len(code) > 3:
        code = f"{code[:3]}.{code[3:]}"
    return code.startswith(DIAGNOSIS_PREFIXES)


def _is_ketamine(concept: CodeableConcept | None) -> bool:
    if concept is None:
        return False
    return any(re.search(r"\bketamine\b", t, re.IGNORECASE) for t in concept.texts())


def _lookup(name: str) -> Any:
    """The therapy catalogue entry for a documented name (None if the catalogue is absent)."""
    try:
        from priorauth.reference.catalogue import lookup
    except ImportError:  # pragma: no cover - the catalogue ships with priorauth
        return None
    for candidate in _name_candidates(name):
        entry = lookup(candidate)
        if entry is not None:
            return entry
    return None


def _name_candidates(name: str) -> list[str]:
    # RxNorm clinical drug names: "24 HR metoprolol succinate 100 MG Extended Release Oral Tablet"
    simplified = re.sub(r"^\s*\d+\s*HR\s+", "", name, flags=re.IGNORECASE)
    return [name] if simplified == name else [name, simplified]


def _safe_case_id(patient_id: str) -> str:
    candidate = f"fhir-{patient_id}"
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", candidate):
        return candidate
    return "fhir-" + hashlib.sha256(patient_id.encode()).hexdigest()[:16]


# --- mapping one patient --------------------------------------------------------------------------

_MED_TYPES = ("MedicationRequest", "MedicationStatement", "MedicationAdministration")


class _Mapper:
    def __init__(self, store: Store, patient: PatientR) -> None:
        self.store = store
        self.patient = patient
        self.pkey = key_of(patient)
        self.report = ImportReport(store.source, self.pkey)
        self.comments: dict[str, str] = {}
        self.data: dict[str, Any] = {}
        self.mine: dict[str, list[Resource]] = {}
        self.diag_conditions: set[str] = set()
        self.request_keys: set[str] = set()

    # bookkeeping
    def fill(self, path: str, value: Any, resource: Resource | str, element: str) -> Any:
        where = resource if isinstance(resource, str) else key_of(resource)
        source = f"{where} {element}".strip()
        self.report.filled.append(Filled(path, source))
        previous = self.comments.get(path)
        self.comments[path] = source if previous in (None, source) else f"{previous}; {source}"
        return value

    def todo(self, path: str, reason: str, kind: Literal["text", "value"] = "value") -> Todo:
        self.report.missing.append(Missing(path, "case file", reason))
        return Todo(reason, kind)

    def need(self, path: str, reason: str) -> None:
        needed_by = NEEDED.get(re.sub(r"\[\d+\]", "[]", path), "letter")
        self.report.missing.append(Missing(path, needed_by, reason))

    def deref(self, ref: Reference | None, holder: Resource, element: str,
              kinds: tuple[str, ...] = ()) -> Resource | None:
        if ref is None or (ref.reference is None and ref.identifier is None):
            return None
        found = self.store.resolve(ref, holder)
        if found is None and ref.reference and (
                ref.reference in self.store.unread
                or re.sub(r"^.*?([A-Z][A-Za-z]+/[^/]+)$", r"\1", ref.reference)
                in self.store.unread):
            self.report.notes.append(f"{key_of(holder)} {element} points at {ref.reference}, "
                                     "a resource type priorauth does not read")
            return None
        if found is None:
            shown = ref.reference or f"identifier {ref.identifier.system if ref.identifier else ''}"
            self.report.unresolved.append(Unresolved(f"{key_of(holder)} {element}", shown))
            return None
        if kinds and found.resourceType not in kinds:
            self.report.notes.append(f"{key_of(holder)} {element} points at a "
                                     f"{found.resourceType}, expected {' or '.join(kinds)}")
            return None
        return found

    # the whole case
    def run(self) -> ImportResult:
        self._partition()
        claim = self._claim()
        request = self._ketamine_request(claim)
        self.data["id"] = _safe_case_id(self.patient.id or "")
        self.data["letter"] = self._letter(claim)
        coverage = self._coverage(claim)
        self.data["patient"] = self._patient(coverage)
        self.data["payer"] = self._payer(coverage, claim)
        self.data["provider"] = self._provider(claim, request)
        facility = self._facility(claim)
        if facility is not None:
            self.data["facility"] = facility
        self.data["diagnoses"] = self._diagnoses(claim)
        burden = self._burden()
        if burden:
            self.data["burden"] = burden
        self.data["prior_therapies"] = self._therapies()
        self.data["requested"] = self._requested(claim, request)
        self.need("screening", "ketamine safety screening is not read from FHIR; copy it from "
                               "the pre-infusion assessment")
        self.data["rationale"] = self._rationale(claim)
        self._check_needed()
        result = ImportResult(self.patient.id or "", self.data, self.comments, self.report)
        self._validate(result)
        return result

    def _partition(self) -> None:
        for resource in self.store.resources.values():
            field_name = _PATIENT_FIELD.get(resource.resourceType)
            if field_name is None:
                continue
            ref = getattr(resource, field_name)
            owner = self.store.resolve(ref, resource) if ref is not None else None
            if owner is not None and key_of(owner) == self.pkey:
                self.mine.setdefault(resource.resourceType, []).append(resource)
            elif owner is None:
                shown = ref.reference if ref is not None and ref.reference else "(none)"
                self.report.ignore(resource.resourceType,
                                   f"its {field_name} ({shown}) is not a Patient in the input",
                                   resource.id)
        for kind, reason, rid, _ in self.store.ignored:
            self.report.ignore(kind, reason, rid)
        # Resources dropped while reading belong to no patient in particular: with one patient
        # they are that patient's; with several they are listed as input-wide.
        single = len(patients(self.store)) == 1
        target = self.report.ignored if single else self.report.input_ignored
        for kind, reason, count, examples in self.store.skipped():
            entry = target.setdefault((kind, reason), Ignored(kind, reason))
            entry.count += count
            entry.examples.extend(examples[:MAX_EXAMPLES - len(entry.examples)])
        for source, message, _ in self.store.invalid:
            self.report.invalid.append(Invalid(None, source, message))

    # Claim (Da Vinci PAS request)
    def _claim(self) -> ClaimR | None:
        claims = [c for c in self.mine.get("Claim", []) if isinstance(c, ClaimR)
                  and c.status not in ("cancelled", "entered-in-error")]
        if not claims:
            self.report.notes.append("no preauthorization Claim: the letter date, request codes "
                                     "and rationale are left for a human")
            return None
        claims.sort(key=lambda c: c.created or "")
        for other in claims[:-1]:
            self.report.ignore("Claim", "an older preauthorization Claim (the latest is used)",
                               other.id)
        return claims[-1]

    def _ketamine_request(self, claim: ClaimR | None) -> MedicationRequestR | None:
        linked: list[Reference] = []
        if claim is not None:
            if claim.prescription:
                linked.append(claim.prescription)
            for item in claim.item:
                for ext in item.extension:
                    if str(ext.get("url", "")).endswith("extension-requestedService") and \
                            isinstance(ext.get("valueReference"), dict):
                        linked.append(Reference.model_validate(ext["valueReference"]))
        for ref in linked:
            found = self.deref(ref, claim, "requested service") if claim else None
            if isinstance(found, MedicationRequestR) and \
                    _is_ketamine(self._medication(found, record=False)):
                self.request_keys.add(key_of(found))
                return found
            if found is not None:
                self.report.notes.append(f"{key_of(claim) if claim else ''} requests "
                                         f"{key_of(found)}, which is not a ketamine order")
        candidates = [r for r in self.mine.get("MedicationRequest", [])
                      if isinstance(r, MedicationRequestR)
                      and r.status in ("active", "draft", "on-hold")
                      and _is_ketamine(self._medication(r, record=False))]
        if len(candidates) == 1:
            self.request_keys.add(key_of(candidates[0]))
            return candidates[0]
        for candidate in candidates:
            self.request_keys.add(key_of(candidate))
        if len(candidates) > 1:
            self.report.notes.append("several open ketamine MedicationRequests ("
                                     + ", ".join(key_of(c) for c in candidates)
                                     + "); none is linked from a Claim, so none was chosen")
        return None

    def _letter(self, claim: ClaimR | None) -> dict[str, Any]:
        letter: dict[str, Any] = {}
        created, problem = _date(claim.created) if claim else (None, None)
        if created is not None and claim is not None:
            letter["date"] = self.fill("letter.date", created, claim, "created")
        else:
            why = f"Claim.created {problem}" if problem else "no preauthorization Claim.created"
            letter["date"] = self.todo("letter.date", f"{why}; write the date the letter is sent")
        if claim is not None and claim.priority is not None:
            codes = {c.code for c in claim.priority.coding}
            if "stat" in codes:
                letter["urgency"] = self.fill("letter.urgency", "expedited", claim, "priority")
            elif codes & {"normal", "deferred"}:
                letter["urgency"] = self.fill("letter.urgency", "standard", claim, "priority")
        if claim is not None and claim.identifier and claim.identifier[0].value:
            letter["reference"] = self.fill("letter.reference", claim.identifier[0].value, claim,
                                            "identifier[0]")
        return letter

    # Coverage, Patient, payer
    def _coverage(self, claim: ClaimR | None) -> CoverageR | None:
        if claim is not None:
            for index, insurance in enumerate(claim.insurance):
                if insurance.focal or len(claim.insurance) == 1:
                    found = self.deref(insurance.coverage, claim, f"insurance[{index}].coverage",
                                       ("Coverage",))
                    if isinstance(found, CoverageR):
                        return found
        active = [c for c in self.mine.get("Coverage", [])
                  if isinstance(c, CoverageR) and c.status in (None, "active")]
        if len(active) == 1:
            return active[0]
        if len(active) > 1:
            self.report.notes.append("several active Coverages (" + ", ".join(
                key_of(c) for c in active) + ") and no Claim saying which: none chosen")
        return None

    def _patient(self, coverage: CoverageR | None) -> dict[str, Any]:
        p = self.patient
        out: dict[str, Any] = {}
        name = _person_name(p.name)
        index = p.name.index(name) if name else 0
        if name and name.given:
            out["given_name"] = self.fill("patient.given_name", " ".join(name.given), p,
                                          f"name[{index}].given")
        else:
            out["given_name"] = self.todo("patient.given_name", "Patient has no given name",
                                          "text")
        if name and name.family:
            out["family_name"] = self.fill("patient.family_name", name.family, p,
                                           f"name[{index}].family")
        else:
            out["family_name"] = self.todo("patient.family_name", "Patient has no family name",
                                           "text")
        born, problem = _date(p.birthDate)
        if born is not None:
            out["date_of_birth"] = self.fill("patient.date_of_birth", born, p, "birthDate")
        else:
            if problem:
                self.report.invalid.append(Invalid("patient.date_of_birth",
                                                   f"{self.pkey} birthDate", problem))
            out["date_of_birth"] = self.todo("patient.date_of_birth",
                                             f"Patient.birthDate {problem or 'is absent'}")
        if p.gender in ("female", "male", "other", "unknown"):
            out["sex"] = self.fill("patient.sex", p.gender, p, "gender")
        member = None
        if coverage is not None and coverage.subscriberId:
            member = self.fill("patient.member_id", coverage.subscriberId, coverage,
                               "subscriberId")
        else:
            for holder in ([coverage] if coverage else []) + [p]:
                idents: list[Identifier] = getattr(holder, "identifier", [])
                for i, ident in enumerate(idents):
                    if ident.type and any(c.code == "MB" for c in ident.type.coding) and \
                            ident.value:
                        member = self.fill("patient.member_id", ident.value, holder,
                                           f"identifier[{i}] (type MB)")
                        break
                if member:
                    break
        out["member_id"] = member if member else self.todo(
            "patient.member_id", "no Coverage.subscriberId or member-number (MB) identifier",
            "text")
        group = None
        if coverage is not None:
            for i, cls in enumerate(coverage.class_):
                if cls.type and any(c.code == "group" for c in cls.type.coding) and cls.value:
                    group = self.fill("patient.group_number", cls.value, coverage,
                                      f"class[{i}] (group)")
                    break
        if group:
            out["group_number"] = group
        else:
            self.need("patient.group_number", "no Coverage.class of type group")
        return out

    def _payer(self, coverage: CoverageR | None, claim: ClaimR | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        org: Resource | None = None
        element = ""
        if coverage is not None and coverage.payor:
            org = self.deref(coverage.payor[0], coverage, "payor[0]")
            holder: Resource = coverage
            element = "payor[0]"
        if org is None and claim is not None and claim.insurer is not None:
            org = self.deref(claim.insurer, claim, "insurer")
            holder, element = claim, "insurer"
        if isinstance(org, OrganizationR) and org.name:
            out["name"] = self.fill("payer.name", org.name, org, f"name (via {key_of(holder)} "
                                                                 f"{element})")
            phone, fax = _telecom(org.telecom, "phone"), _telecom(org.telecom, "fax")
            if phone:
                out["phone"] = self.fill("payer.phone", phone, org, "telecom (phone)")
            if fax:
                out["fax"] = self.fill("payer.fax", fax, org, "telecom (fax)")
            address, _ = _address(org.address[0] if org.address else None)
            if address:
                out["address"] = self.fill("payer.address", address, org, "address[0]")
        else:
            reason = ("the payer is not an Organization" if org is not None
                      else "no Coverage.payor or Claim.insurer Organization in the input")
            out["name"] = self.todo("payer.name", reason, "text")
        if coverage is not None:
            for i, cls in enumerate(coverage.class_):
                if cls.type and any(c.code == "plan" for c in cls.type.coding) and \
                        (cls.name or cls.value):
                    out["plan"] = self.fill("payer.plan", cls.name or cls.value, coverage,
                                            f"class[{i}] (plan)")
                    break
        return out

    # provider, facility
    def _provider(self, claim: ClaimR | None,
                  request: MedicationRequestR | None) -> dict[str, Any]:
        candidates: list[tuple[Reference, Resource, str]] = []
        if request is not None and request.requester is not None:
            candidates.append((request.requester, request, "requester"))
        if claim is not None:
            if claim.provider is not None:
                candidates.append((claim.provider, claim, "provider"))
            for team in sorted(claim.careTeam, key=lambda t: t.sequence or 0):
                if team.provider is not None:
                    candidates.append((team.provider, claim, f"careTeam[{team.sequence}]"))
        person: PractitionerR | None = None
        role: PractitionerRoleR | None = None
        practice: OrganizationR | None = None
        via = ""
        for ref, holder, element in candidates:
            found = self.deref(ref, holder, element)
            if isinstance(found, PractitionerRoleR) and role is None:
                role = found
                via = f"{key_of(holder)} {element}"
                who = self.deref(found.practitioner, found, "practitioner", ("Practitioner",))
                if isinstance(who, PractitionerR):
                    person = who
            elif isinstance(found, PractitionerR) and person is None:
                person, via = found, f"{key_of(holder)} {element}"
            elif isinstance(found, OrganizationR) and practice is None:
                practice = found
            if person is not None and (role is not None or practice is not None):
                break
        if person is not None and role is None:
            for candidate in self.store.of_type("PractitionerRole"):
                if isinstance(candidate, PractitionerRoleR) and candidate.practitioner and \
                        self.store.resolve(candidate.practitioner, candidate) is person:
                    role = candidate
                    break
        if role is not None and role.organization is not None:
            org = self.deref(role.organization, role, "organization", ("Organization",))
            if isinstance(org, OrganizationR):
                practice = org
        out: dict[str, Any] = {}
        if person is None:
            reason = ("no Practitioner linked from the Claim or the ketamine order"
                      if not candidates else "the ordering Practitioner is not in the input")
            for part in ("name", "credentials", "npi", "practice"):
                out[part] = self.todo(f"provider.{part}", reason, "text")
            out["address"] = self.todo("provider.address", reason)
            out["phone"] = self.todo("provider.phone", reason, "text")
            return out
        self.report.notes.append(f"provider: {key_of(person)} (via {via})")
        human = _person_name(person.name)
        if human and (human.given or human.family):
            out["name"] = self.fill("provider.name", " ".join([*human.given, human.family or ""])
                                    .strip(), person, "name")
        else:
            out["name"] = self.todo("provider.name", f"{key_of(person)} has no name", "text")
        credentials: list[str] = []
        for qualification in person.qualification:
            if qualification.code is None:
                continue
            codes = [c.code for c in qualification.code.coding if c.code]
            text = qualification.code.text or (codes[0] if codes else None)
            if text:
                credentials.append(text)
        out["credentials"] = (self.fill("provider.credentials", ", ".join(credentials), person,
                                        "qualification") if credentials else
                              self.todo("provider.credentials",
                                        f"{key_of(person)} has no qualification", "text"))
        if role is not None and role.specialty and role.specialty[0].label():
            out["specialty"] = self.fill("provider.specialty", role.specialty[0].label(), role,
                                         "specialty[0]")
        npi = _npi(person.identifier)
        if npi is not None:
            out["npi"] = self.fill("provider.npi", npi.value, person, "identifier (us-npi)")
        else:
            out["npi"] = self.todo("provider.npi", f"{key_of(person)} has no identifier with "
                                   f"system {NPI_SYSTEM}", "text")
        if practice is not None and practice.name:
            out["practice"] = self.fill("provider.practice", practice.name, practice, "name")
        else:
            out["practice"] = self.todo("provider.practice", "no PractitionerRole.organization "
                                        "or Claim.provider Organization", "text")
        address, phone, fax, origin = None, None, None, {}
        sources: list[tuple[Resource, list[FAddress], list[ContactPoint]]] = []
        if role is not None:
            for loc_ref in role.location:
                loc = self.deref(loc_ref, role, "location", ("Location",))
                if isinstance(loc, LocationR):
                    sources.append((loc, [loc.address] if loc.address else [], loc.telecom))
            sources.append((role, [], role.telecom))
        if practice is not None:
            sources.append((practice, practice.address, practice.telecom))
        sources.append((person, person.address, person.telecom))
        for holder, addresses, telecom in sources:
            if address is None and addresses:
                address, _ = _address(addresses[0])
                origin["address"] = holder
            if phone is None and _telecom(telecom, "phone"):
                phone = _telecom(telecom, "phone")
                origin["phone"] = holder
            if fax is None and _telecom(telecom, "fax"):
                fax = _telecom(telecom, "fax")
                origin["fax"] = holder
        out["address"] = (self.fill("provider.address", address, origin["address"], "address")
                          if address else self.todo("provider.address",
                                                    "no complete address on the PractitionerRole "
                                                    "location, practice or Practitioner"))
        out["phone"] = (self.fill("provider.phone", phone, origin["phone"], "telecom (phone)")
                        if phone else self.todo("provider.phone", "no phone number", "text"))
        if fax:
            out["fax"] = self.fill("provider.fax", fax, origin["fax"], "telecom (fax)")
        return out

    def _facility(self, claim: ClaimR | None) -> dict[str, Any] | None:
        refs: list[tuple[Reference, str]] = []
        if claim is not None:
            if claim.facility is not None:
                refs.append((claim.facility, "facility"))
            refs += [(item.locationReference, f"item[{i}].locationReference")
                     for i, item in enumerate(claim.item) if item.locationReference]
        for ref, element in refs:
            assert claim is not None
            loc = self.deref(ref, claim, element)
            if not isinstance(loc, (LocationR, OrganizationR)) or not loc.name:
                continue
            out: dict[str, Any] = {"name": self.fill("facility.name", loc.name, loc, "name")}
            npi = _npi(loc.identifier)
            if npi is None and isinstance(loc, LocationR) and loc.managingOrganization:
                org = self.deref(loc.managingOrganization, loc, "managingOrganization")
                if isinstance(org, OrganizationR):
                    npi = _npi(org.identifier)
                    if npi is not None:
                        out["npi"] = self.fill("facility.npi", npi.value, org,
                                               "identifier (us-npi)")
            elif npi is not None:
                out["npi"] = self.fill("facility.npi", npi.value, loc, "identifier (us-npi)")
            if isinstance(loc, LocationR) and loc.type and loc.type[0].text:
                out["setting"] = self.fill("facility.setting", loc.type[0].text, loc,
                                           "type[0].text")
            raw_address = loc.address if isinstance(loc, LocationR) else \
                (loc.address[0] if loc.address else None)
            address, _ = _address(raw_address)
            if address:
                out["address"] = self.fill("facility.address", address, loc, "address")
            return out
        self.need("facility", "no Claim.facility / item.locationReference Location")
        return None

    # diagnoses
    def _diagnoses(self, claim: ClaimR | None) -> Any:
        found: list[dict[str, Any]] = []
        codes_seen: dict[str, int] = {}

        def add(code: str, description: str | None, source: Resource, element: str,
                onset: dt.date | None, onset_element: str | None) -> int:
            norm = code.upper()
            if norm in codes_seen:
                return codes_seen[norm]
            index = len(found)
            item: dict[str, Any] = {"code": self.fill(f"diagnoses[{index}].code", code, source,
                                                      element)}
            if description:
                item["description"] = self.fill(f"diagnoses[{index}].description", description,
                                                source, element.replace(".code", ".display"))
            if onset is not None:
                item["onset"] = self.fill(f"diagnoses[{index}].onset", onset, source,
                                          onset_element or "onset")
            found.append(item)
            codes_seen[norm] = index
            return index

        primary: int | None = None
        if claim is not None:
            ordered = sorted(claim.diagnosis, key=lambda d: d.sequence or 0)
            for position, diag in enumerate(ordered):
                index = None
                element = f"diagnosis[{claim.diagnosis.index(diag)}]"
                if diag.diagnosisCodeableConcept is not None:
                    for coding in diag.diagnosisCodeableConcept.codes(ICD10CM_SYSTEM):
                        index = add(coding.code or "", coding.display, claim,
                                    f"{element}.diagnosisCodeableConcept", None, None)
                        break
                elif diag.diagnosisReference is not None:
                    cond = self.deref(diag.diagnosisReference, claim,
                                      f"{element}.diagnosisReference", ("Condition",))
                    if isinstance(cond, ConditionR):
                        index = self._condition(cond, add)
                is_principal = any(c.code == "principal" for t in diag.type for c in t.coding)
                if index is not None and (is_principal or (position == 0 and primary is None)):
                    primary = index
                    source = f"{key_of(claim)} {element}" + (" (type principal)" if is_principal
                                                             else " (first by sequence)")
                    self.report.filled.append(Filled(f"diagnoses[{index}].primary", source))
                    self.comments[f"diagnoses[{index}].primary"] = source
        for cond in self.mine.get("Condition", []):
            if isinstance(cond, ConditionR):
                self._condition(cond, add)
        if not found:
            return self.todo("diagnoses", "no Condition with an ICD-10-CM code "
                             f"({', '.join(DIAGNOSIS_PREFIXES)}) for this patient")
        if primary is not None:
            found[primary]["primary"] = True
        elif len(found) > 1:
            for index in range(len(found)):
                found[index]["primary"] = self.todo(
                    f"diagnoses[{index}].primary",
                    "several diagnoses and no Claim saying which is principal: mark one true")
        else:
            found[0]["primary"] = True
        return found

    def _condition(self, cond: ConditionR, add: Any) -> int | None:
        statuses = {c.code for cc in (cond.clinicalStatus, cond.verificationStatus) if cc
                    for c in cc.coding}
        if statuses & {"entered-in-error", "refuted"}:
            self.report.ignore("Condition", "entered in error or refuted", cond.id)
            return None
        if cond.code is None:
            self.report.ignore("Condition", "no code", cond.id)
            return None
        icd = cond.code.codes(ICD10CM_SYSTEM)
        if not icd:
            self.report.ignore("Condition", "no ICD-10-CM coding (the letter needs ICD-10-CM)",
                               cond.id)
            return None
        coding = icd[0]
        if not _diagnosis_family(coding.code or ""):
            self.report.ignore("Condition", "ICD-10-CM code outside the headache / chronic pain "
                               f"families ({', '.join(DIAGNOSIS_PREFIXES)})", cond.id)
            return None
        onset_text = cond.onsetDateTime or (cond.onsetPeriod.start if cond.onsetPeriod else None)
        onset, problem = _date(onset_text)
        if problem:
            self.report.invalid.append(Invalid(None, f"{key_of(cond)} onset", problem))
        self.diag_conditions.add(key_of(cond))
        index = cond.code.coding.index(coding)
        return int(add(coding.code or "", coding.display or cond.code.text, cond,
                       f"code.coding[{index}].code", onset,
                       "onsetDateTime" if cond.onsetDateTime else "onsetPeriod.start"))

    # burden
    def _burden(self) -> dict[str, Any]:
        latest: dict[str, tuple[str, float, ObservationR]] = {}
        for obs in self.mine.get("Observation", []):
            if not isinstance(obs, ObservationR):
                continue
            if obs.status in ("entered-in-error", "cancelled", "preliminary", "registered"):
                self.report.ignore("Observation", f"status {obs.status}", obs.id)
                continue
            measure = _burden_measure(obs.code)
            value = obs.valueInteger if obs.valueInteger is not None else (
                obs.valueQuantity.value if obs.valueQuantity else None)
            when = obs.effectiveDateTime or (obs.effectivePeriod.end or obs.effectivePeriod.start
                                             if obs.effectivePeriod else None) or ""
            if measure is None or value is None:
                self.report.ignore("Observation", "no numeric value", obs.id)
                continue
            if measure in latest and latest[measure][0] >= when:
                self.report.ignore("Observation", "an older value of the same measure", obs.id)
                continue
            if measure in latest:
                self.report.ignore("Observation", "an older value of the same measure",
                                   latest[measure][2].id)
            latest[measure] = (when, value, obs)
        out: dict[str, Any] = {}
        dates: list[str] = []
        for measure, (when, value, obs) in latest.items():
            if measure in _BURDEN_INT and value != int(value):
                self.report.invalid.append(Invalid(f"burden.{measure}", key_of(obs),
                                                   "a total score must be a whole number"))
            number: float | int = int(value) if value == int(value) else value
            out[measure] = self.fill(f"burden.{measure}", number, obs,
                                     "valueInteger" if obs.valueInteger is not None
                                     else "valueQuantity")
            day, _ = _date(when)
            if day:
                dates.append(day.isoformat())
        if dates:
            first, last = min(dates), max(dates)
            text = f"EHR observations {first}" + (f" to {last}" if last != first else "")
            out["source"] = self.fill("burden.source", text, "Observation", "effective dates")
        order = ["headache_days_per_month", "migraine_days_per_month",
                 "debilitating_days_per_month", "midas", "hit6", "source"]
        return {k: out[k] for k in order if k in out}

    # prior therapies
    def _medication(self, use: MedicationUse, record: bool = True) -> CodeableConcept | None:
        if use.medicationCodeableConcept is not None:
            return use.medicationCodeableConcept
        if use.medicationReference is not None:
            if record:
                med = self.deref(use.medicationReference, use, "medicationReference",
                                 ("Medication",))
            else:
                med = self.store.resolve(use.medicationReference, use)
            if isinstance(med, MedicationR):
                return med.code
        return None

    def _for_other_condition(self, resource: MedicationUse | ProcedureR) -> str | None:
        """The condition a therapy was given for, when it is stated and is not a headache or
        chronic-pain diagnosis (a blood-pressure drug is not a migraine preventive trial)."""
        stated: list[str] = []
        for concept in resource.reasonCode:
            icd = concept.codes(ICD10CM_SYSTEM)
            if any(_diagnosis_family(c.code or "") for c in icd):
                return None
            stated.append("reasonCode")
        for ref in resource.reasonReference:
            target = self.store.resolve(ref, resource)
            if target is None:
                continue
            if key_of(target) in self.diag_conditions:
                return None
            stated.append(key_of(target))
        return ", ".join(stated) if stated else None

    def _therapies(self) -> Any:
        therapies: list[dict[str, Any]] = []
        groups: dict[str, list[Resource]] = {}
        for kind in _MED_TYPES:
            for use in self.mine.get(kind, []):
                if not isinstance(use, MedicationUse) or key_of(use) in self.request_keys:
                    continue
                concept = self._medication(use)
                name = concept.label() if concept else None
                if not name:
                    self.report.ignore(kind, "no medication code or text", use.id)
                    continue
                if use.status == "entered-in-error":
                    self.report.ignore(kind, "entered in error", use.id)
                    continue
                if kind == "MedicationRequest" and use.status in ("draft", "cancelled"):
                    self.report.ignore(kind, f"status {use.status}: never started", use.id)
                    continue
                other = self._for_other_condition(use)
                if other:
                    self.report.ignore(kind, "prescribed for another condition (reason: "
                                       "not a headache / chronic-pain diagnosis)", use.id)
                    continue
                entry = _lookup(name)
                if entry is None:
                    self.report.ignore(kind, "not in the therapy catalogue (not a headache or "
                                       "pain therapy priorauth knows); add it by hand if it "
                                       "was a trial for this condition", use.id)
                    continue
                if kind == "MedicationAdministration":
                    groups.setdefault(f"{entry.name}|admin", []).append(use)
                    continue
                therapies.append(self._medication_therapy(use, concept, entry, len(therapies)))
        for proc in self.mine.get("Procedure", []):
            if not isinstance(proc, ProcedureR):
                continue
            if proc.status not in ("completed", "in-progress", None):
                self.report.ignore("Procedure", f"status {proc.status}", proc.id)
                continue
            name = None
            if proc.code is not None:
                cpt = proc.code.codes(*CPT_SYSTEMS)
                name = PROCEDURE_CPT.get(cpt[0].code or "") if cpt else None
                name = name or proc.code.label()
            entry = _lookup(name) if name else None
            if entry is None:
                self.report.ignore("Procedure", "not a procedure in the therapy catalogue",
                                   proc.id)
                continue
            if self._for_other_condition(proc):
                self.report.ignore("Procedure", "done for another condition", proc.id)
                continue
            groups.setdefault(f"{entry.name}|proc", []).append(proc)
        for members in groups.values():
            therapies.append(self._grouped_therapy(members, len(therapies)))
        if not therapies:
            return self.todo("prior_therapies", "no MedicationRequest, MedicationStatement, "
                             "MedicationAdministration or Procedure for a catalogued therapy")
        return therapies

    def _therapy_base(self, path: str, entry: Any, source: Resource,
                      element: str) -> dict[str, Any]:
        item: dict[str, Any] = {}
        item["name"] = self.fill(f"{path}.name", entry.name, source,
                                 f"{element} (catalogue: {entry.name})")
        item["class"] = self.fill(f"{path}.class", entry.class_label, "therapy catalogue",
                                  entry.class_id)
        role = getattr(entry.role, "value", entry.role)
        item["role"] = self.fill(f"{path}.role", str(role), "therapy catalogue",
                                 entry.class_id)
        return item

    def _outcome(self, path: str, item: dict[str, Any], concepts: list[CodeableConcept],
                 source: Resource, element: str, status: str | None) -> None:
        outcome, details, read = _reason_outcome(concepts)
        if outcome is not None:
            item["outcome"] = self.fill(f"{path}.outcome", outcome.value, source,
                                        f"{element} ({read})")
            if details:
                item["details"] = self.fill(f"{path}.details", details, source,
                                            f"{element} text")
            return
        said = f"statusReason says {read!r} (not an outcome)" if read else "no statusReason"
        item["outcome"] = self.todo(f"{path}.outcome", f"{key_of(source)} status "
                                    f"{status or '(none)'}, {said}; choose one of "
                                    f"{OUTCOME_CHOICES}")

    def _medication_therapy(self, use: MedicationUse, concept: CodeableConcept | None,
                            entry: Any, index: int) -> dict[str, Any]:
        path = f"prior_therapies[{index}]"
        element = "medicationCodeableConcept" if use.medicationCodeableConcept else \
            "medicationReference"
        item = self._therapy_base(path, entry, use, element)
        dosages: list[Dosage] = []
        start_text: str | None = None
        start_element = ""
        end_text: str | None = None
        reasons: list[CodeableConcept] = []
        reason_element = "statusReason"
        if isinstance(use, MedicationRequestR):
            dosages = use.dosageInstruction
            bounds = next((d.timing.repeat.boundsPeriod for d in dosages
                           if d.timing and d.timing.repeat and d.timing.repeat.boundsPeriod),
                          None)
            validity = use.dispenseRequest.validityPeriod if use.dispenseRequest else None
            if bounds and bounds.start:
                start_text, start_element = bounds.start, "dosageInstruction.timing.boundsPeriod"
                end_text = bounds.end
            elif validity and validity.start:
                start_text, start_element = validity.start, "dispenseRequest.validityPeriod.start"
            else:
                start_text, start_element = use.authoredOn, "authoredOn (date ordered)"
            reasons = [use.statusReason] if use.statusReason else []
        elif isinstance(use, MedicationStatementR):
            dosages = use.dosage
            if use.effectivePeriod is not None:
                start_text, end_text = use.effectivePeriod.start, use.effectivePeriod.end
                start_element = "effectivePeriod"
            else:
                start_text, start_element = use.effectiveDateTime, "effectiveDateTime"
            reasons = use.statusReason
        dosage = dosages[0] if dosages else None
        dose = None
        if dosage is not None:
            for dr in dosage.doseAndRate:
                dose = _quantity_text(dr.doseQuantity) or dose
            if dose:
                item["dose"] = self.fill(f"{path}.dose", dose, use, "dosage doseQuantity")
            elif dosage.text:
                item["dose"] = self.fill(f"{path}.dose", dosage.text, use, "dosage text")
            frequency = _frequency(dosage)
            if frequency:
                item["frequency"] = self.fill(f"{path}.frequency", frequency, use,
                                              "dosage timing")
        if "dose" not in item:
            self.need(f"{path}.dose", f"{key_of(use)} has no dose with a unit")
        self._dates(path, item, use, start_text, start_element, end_text, use.status)
        self._outcome(path, item, reasons, use, reason_element, use.status)
        item["source"] = self.fill(f"{path}.source", key_of(use), use, "id")
        return item

    def _dates(self, path: str, item: dict[str, Any], source: Resource, start_text: str | None,
               start_element: str, end_text: str | None, status: str | None,
               end_source: Resource | None = None) -> None:
        start, problem = _date(start_text)
        if start is not None:
            item["start"] = self.fill(f"{path}.start", start, source, start_element)
        else:
            if problem:
                self.report.invalid.append(Invalid(f"{path}.start",
                                                   f"{key_of(source)} {start_element}", problem))
            item["start"] = self.todo(f"{path}.start", f"{key_of(source)}: no start date "
                                      f"({problem or 'absent'})")
        end, problem = _date(end_text)
        if end is not None:
            item["end"] = self.fill(f"{path}.end", end, end_source or source,
                                    "end of the last one" if end_source else "period end")
        elif status in ("stopped", "completed", "cancelled", "not-taken") or problem:
            item["end"] = self.todo(f"{path}.end", f"{key_of(source)} status {status} but no "
                                    "end date; write it, or leave end out if still taking it")

    def _grouped_therapy(self, members: list[Resource], index: int) -> dict[str, Any]:
        """Repeated administrations / procedures of one therapy: one trial with cycles."""
        path = f"prior_therapies[{index}]"

        def when(r: Resource) -> tuple[str | None, str | None]:
            if isinstance(r, (MedicationAdministrationR,)):
                p = r.effectivePeriod
                return (p.start, p.end) if p else (r.effectiveDateTime, r.effectiveDateTime)
            if isinstance(r, ProcedureR):
                p = r.performedPeriod
                return (p.start, p.end) if p else (r.performedDateTime, r.performedDateTime)
            return None, None

        members = sorted(members, key=lambda r: when(r)[0] or "")
        first, last = members[0], members[-1]
        if isinstance(first, ProcedureR):
            label = first.code.label() if first.code else ""
            element = "code"
        else:
            assert isinstance(first, MedicationUse)
            concept = self._medication(first, record=False)
            label, element = (concept.label() if concept else ""), "medication"
        entry = _lookup(PROCEDURE_CPT.get(_cpt(first), "") or label or "")
        item = self._therapy_base(path, entry, first, element)
        if isinstance(first, MedicationAdministrationR) and first.dosage:
            dose = _quantity_text(first.dosage.dose) or first.dosage.text
            if dose:
                item["dose"] = self.fill(f"{path}.dose", dose, first, "dosage")
        start_text, _ = when(first)
        _, end_text = when(last)
        if len(members) > 1:
            item["cycles"] = self.fill(f"{path}.cycles", len(members),
                                       ", ".join(key_of(m) for m in members), "(count)")
        self._dates(path, item, first, start_text, "performed/effective start",
                    end_text if len(members) > 1 or end_text else None, "completed",
                    last if len(members) > 1 else None)
        if "end" in item and isinstance(item["end"], Todo):
            del item["end"]  # a single dated event: start is the whole record
            self.report.missing = [m for m in self.report.missing if m.field != f"{path}.end"]
        concepts: list[CodeableConcept] = []
        stated_by = last
        for member in reversed(members):
            found = [member.outcome] if isinstance(member, ProcedureR) and member.outcome else (
                member.statusReason if isinstance(member, MedicationAdministrationR) else [])
            if found:
                concepts, stated_by = found, member
                break
        self._outcome(path, item, concepts, stated_by,
                      "outcome" if isinstance(stated_by, ProcedureR) else "statusReason",
                      getattr(stated_by, "status", None))
        item["source"] = self.fill(f"{path}.source", key_of(first) if len(members) == 1 else
                                   f"{key_of(first)} and {len(members) - 1} more",
                                   first, "id")
        return item

    # requested service
    def _requested(self, claim: ClaimR | None,
                   request: MedicationRequestR | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        dosage = request.dosageInstruction[0] if request and request.dosageInstruction else None
        repeat = dosage.timing.repeat if dosage and dosage.timing else None
        no_order = "no ketamine MedicationRequest linked from the Claim"
        if request is not None and dosage is not None:
            rate = next((_quantity_text(dr.rateQuantity) for dr in dosage.doseAndRate
                         if dr.rateQuantity), None)
            dose = rate or next((_quantity_text(dr.doseQuantity) for dr in dosage.doseAndRate
                                 if dr.doseQuantity), None)
            if dose:
                out["dose"] = self.fill("requested.dose", dose, request,
                                        "dosageInstruction[0].doseAndRate")
            elif dosage.text:
                out["dose"] = self.fill("requested.dose", dosage.text, request,
                                        "dosageInstruction[0].text")
        if "dose" not in out:
            out["dose"] = self.todo("requested.dose", no_order if request is None else
                                    f"{key_of(request)} has no dose or rate", "text")
        if request is not None and repeat and repeat.duration and repeat.durationUnit in (
                "h", "min"):
            hours = repeat.duration if repeat.durationUnit == "h" else repeat.duration / 60
            out["infusion_hours"] = self.fill("requested.infusion_hours", hours, request,
                                              "dosageInstruction[0].timing.repeat.duration")
        else:
            out["infusion_hours"] = self.todo("requested.infusion_hours", no_order if request is
                                              None else f"{key_of(request)} has no "
                                              "timing.repeat.duration in hours")
        if request is not None and repeat and repeat.count:
            out["sessions"] = self.fill("requested.sessions", repeat.count, request,
                                        "dosageInstruction[0].timing.repeat.count")
        else:
            out["sessions"] = self.todo("requested.sessions", no_order if request is None else
                                        f"{key_of(request)} has no timing.repeat.count")
        if request is not None and dosage is not None and dosage.text:
            out["schedule"] = self.fill("requested.schedule", dosage.text, request,
                                        "dosageInstruction[0].text")
        start = None
        if repeat and repeat.boundsPeriod and request is not None:
            start, _ = _date(repeat.boundsPeriod.start)
            if start:
                out["start"] = self.fill("requested.start", start, request,
                                         "dosageInstruction[0].timing.repeat.boundsPeriod.start")
        if start is None and claim is not None:
            for i, item in enumerate(claim.item):
                text = item.servicedDate or (item.servicedPeriod.start if item.servicedPeriod
                                             else None)
                start, _ = _date(text)
                if start:
                    out["start"] = self.fill("requested.start", start, claim,
                                             f"item[{i}].serviced")
                    break
        if "start" not in out:
            self.need("requested.start", "no ketamine order bounds or Claim.item serviced date")
        codes: dict[str, Any] = {"hcpcs": [], "cpt": []}
        if claim is not None:
            for i, item in enumerate(claim.item):
                concepts = [(item.productOrService, f"item[{i}].productOrService")]
                concepts += [(d.productOrService, f"item[{i}].detail[{j}].productOrService")
                             for j, d in enumerate(item.detail)]
                for concept, element in concepts:
                    if concept is None:
                        continue
                    used = False
                    for coding in concept.coding:
                        kind = ("cpt" if coding.system in CPT_SYSTEMS else
                                "hcpcs" if coding.system in HCPCS_SYSTEMS else
                                "ndc" if coding.system == NDC_SYSTEM else None)
                        if kind is None or not coding.code:
                            continue
                        used = True
                        self.fill(f"requested.codes.{kind}", coding.code, claim, element)
                        if kind == "ndc":
                            codes["ndc"] = coding.code
                        elif coding.code not in codes[kind]:
                            codes[kind].append(coding.code)
                    if not used:
                        systems = ", ".join(sorted({c.system or "?" for c in concept.coding}))
                        self.report.notes.append(
                            f"{key_of(claim)} {element} is not a CPT/HCPCS/NDC code (system "
                            f"{systems}, code {', '.join(c.code or '?' for c in concept.coding)})"
                            "; the request is not recognisably a ketamine infusion")
        if "ndc" not in codes and request is not None:
            concept = self._medication(request, record=False)
            ndc = concept.codes(NDC_SYSTEM) if concept else []
            if ndc:
                codes["ndc"] = self.fill("requested.codes.ndc", ndc[0].code, request,
                                         "medication (NDC coding)")
        for name in ("cpt", "hcpcs"):
            if not codes[name]:
                del codes[name]
                self.need(f"requested.codes.{name}", "no such code in the Claim items")
        if "J3490" in codes.get("hcpcs", []) and "ndc" not in codes:
            self.report.missing.append(Missing(
                "requested.codes.ndc", "letter (J3490 needs the 11-digit NDC)",
                "J3490 without an NDC coding on the Claim items or the ketamine order"))
        if codes:
            out["codes"] = codes
            if claim is not None:
                self.comments["requested.codes"] = f"{key_of(claim)} item[].productOrService"
        return out

    def _rationale(self, claim: ClaimR | None) -> Any:
        if claim is not None:
            for i, info in enumerate(claim.supportingInfo):
                category = info.category
                codes = {(c.code or "").casefold() for c in category.coding} if category else set()
                text = _normalise(category.text or "") if category else ""
                if info.valueString and (codes & {"info"} or text in (
                        "rationale", "medical necessity")):
                    return self.fill("rationale", info.valueString, claim,
                                     f"supportingInfo[{i}].valueString")
        return self.todo("rationale", "the clinician's rationale is not in the FHIR data "
                         "(a Claim.supportingInfo of category 'info' with valueString is read)",
                         "text")

    # checks
    def _check_needed(self) -> None:
        missing = {m.field for m in self.report.missing}
        data = self.data
        for path in NEEDED:
            if path in missing or "[]" in path or path in ("screening",):
                continue
            head, _, tail = path.partition(".")
            container = data.get(head)
            if isinstance(container, Todo):
                continue
            if tail:
                value: Any = container
                for part in tail.split("."):
                    value = value.get(part) if isinstance(value, dict) else None
            else:
                value = container
            if value in (None, [], {}):
                self.need(path, "not in the FHIR data")

    def _validate(self, result: ImportResult) -> None:
        """Values present but invalid (e.g. an NPI failing its check digit) go to the report."""
        try:
            result.case()
        except CaseInvalid as exc:
            todo_prefixes = [path for path, _ in result.todos()]
            for problem in exc.problems:
                if problem.message.startswith("not in the FHIR data"):
                    continue
                if any(problem.path == t or problem.path.startswith((t + ".", t + "["))
                       for t in todo_prefixes):
                    continue
                source = self.comments.get(problem.path) or _nearest(self.comments, problem.path)
                self.report.invalid.append(Invalid(problem.path, source or "(derived)",
                                                   problem.message))


def _cpt(resource: Resource) -> str:
    if isinstance(resource, ProcedureR) and resource.code is not None:
        codes = resource.code.codes(*CPT_SYSTEMS)
        return codes[0].code or "" if codes else ""
    return ""


def _nearest(comments: dict[str, str], path: str) -> str | None:
    while path:
        if path in comments:
            return comments[path]
        path = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", path)
    return None


# --- public API ---------------------------------------------------------------------------------

def patients(store: Store) -> list[PatientR]:
    return [p for p in store.of_type("Patient") if isinstance(p, PatientR)]


def iter_cases(path: str | Path, patient: str | None = None) -> Iterator[ImportResult]:
    """One :class:`ImportResult` per Patient in a Bundle / NDJSON file / Bulk Data folder.

    Raises :class:`CaseInvalid` for unreadable input (not JSON, a line too long, no Patient).
    """
    store = load_store(path, patient)
    found = patients(store)
    if not found:
        what = f"no Patient with id {patient!r}" if patient else "no Patient resource"
        raise _problem(str(path), f"{what} in the input; a case needs one")
    for person in found:
        yield _Mapper(store, person).run()


def import_case(path: str | Path, patient: str | None = None) -> ImportResult:
    """The single patient's import; with several patients, ``patient`` must name one."""
    results = list(iter_cases(path, patient))
    if len(results) > 1:
        ids = ", ".join(r.patient_id for r in results[:10])
        raise _problem(str(path), f"holds {len(results)} patients ({ids}"
                                  f"{', ...' if len(results) > 10 else ''}); choose one with "
                                  "--patient ID, or write one case per patient into a folder")
    return results[0]


# --- YAML with comments -----------------------------------------------------------------------

def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _number(value) if isinstance(value, float) else str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return json.dumps(str(value), ensure_ascii=False)


def _order(model: type[BaseModel] | None, keys: Iterable[str]) -> list[str]:
    keys = list(keys)
    if model is None:
        return keys
    names = [f.alias or n for n, f in model.model_fields.items()]
    return sorted(keys, key=lambda k: names.index(k) if k in names else len(names))


def _emit(value: Any, model: type[BaseModel] | None, path: str, indent: int,
          comments: dict[str, str], lines: list[str]) -> None:
    pad = "  " * indent
    for key in _order(model, value.keys()):
        item = value[key]
        sub = f"{path}.{key}" if path else key
        note = comments.get(sub)
        comment = f"  # {note}" if note else ""
        if isinstance(item, Todo):
            placeholder = "" if item.kind == "text" else " TODO"
            lines.append(f"{pad}{key}:{placeholder}  # TODO(fhir): {item.reason}")
        elif isinstance(item, dict):
            lines.append(f"{pad}{key}:{comment}")
            _emit(item, submodel(model, key), sub, indent + 1, comments, lines)
        elif isinstance(item, list) and item and isinstance(item[0], dict):
            lines.append(f"{pad}{key}:{comment}")
            child = submodel(model, key)
            for index, element in enumerate(item):
                block: list[str] = []
                _emit(element, child, f"{sub}[{index}]", indent + 2, comments, block)
                first = block[0].lstrip()
                lines.append(f"{pad}  - {first}")
                lines.extend(block[1:])
        elif isinstance(item, list):
            lines.append(f"{pad}{key}: [{', '.join(_scalar(v) for v in item)}]{comment}")
        else:
            lines.append(f"{pad}{key}: {_scalar(item)}{comment}")


def to_yaml(result: ImportResult) -> str:
    """The draft case as YAML: each value commented with its source resource, ``TODO`` where a
    human must fill in what the FHIR data does not say (validation fails until then)."""
    todo = len(result.todos())
    lines = [
        "# Imported from FHIR R4 by `priorauth fhir` — a DRAFT: review every value against the",
        "# record. Comments name the source resource; TODO(fhir) marks what the data does not",
        f"# say ({todo} left). `priorauth validate` fails until every TODO is filled in.",
        f"# Input: {Path(result.report.input).name}; patient resource: {result.report.patient}",
    ]
    _emit(result.data, Case, "", 0, result.comments, lines)
    return "\n".join(lines) + "\n"
