"""R4 shapes: small pydantic models of only the elements priorauth reads (``fhir.resources``
defaults to R5, which silently drops R4's ``medicationCodeableConcept``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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
