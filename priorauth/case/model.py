"""The case: everything a prior-authorization letter may say, validated.

A letter states only what this model holds, so the model is strict: unknown fields are errors
(a misspelt field must not silently vanish from a letter), dates must make sense together, and
every free-text field has a length limit. ``priorauth schema`` prints the JSON Schema generated
from these classes.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from priorauth.case.appeal import StatedReasons
from priorauth.case.assets import AssetImage
from priorauth.case.base import Model
from priorauth.case.crps import CRPSCriteria
from priorauth.case.fields import (
    CPT,
    HCPCS,
    NDC,
    NPI,
    CaseId,
    CleanName,
    ICD10Code,
    IsoDate,
    Phone,
    Text,
    USState,
    ZIPCode,
)
from priorauth.case.infusions import Continuation
from priorauth.case.plan import PlanType
from priorauth.case.regimen import Regimen
from priorauth.errors import FieldProblems, InvalidValue
from priorauth.reference import evidence as _evidence
from priorauth.reference import icd as _icd

MAX_THERAPIES = 200
MAX_DIAGNOSES = 20
MAX_ATTACHMENTS = 50
MAX_CASE_TEXT = 200_000
"""Characters of text in one case: bounds WeasyPrint's time per letter (~10 s at this size)."""
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2199, 12, 31)
"""Every date in a case must fall in this range: 0001-01-01 or 9999-12-31 is a typo."""


class LetterKind(StrEnum):
    initial = "initial"
    appeal = "appeal"
    peer_to_peer = "peer_to_peer"
    continuation = "continuation"


class Urgency(StrEnum):
    standard = "standard"
    expedited = "expedited"


class Sex(StrEnum):
    female = "female"
    male = "male"
    other = "other"
    unknown = "unknown"


class Role(StrEnum):
    """What a prior therapy was for; the letter groups its table by role."""

    acute = "acute"
    preventive = "preventive"
    maintenance = "maintenance"  # scheduled chronic-pain medication (e.g. gabapentin in CRPS)
    procedure = "procedure"
    rehabilitation = "rehabilitation"


class Outcome(StrEnum):
    """Why a therapy stopped (or why it is listed). Only the first five are treatment failures."""

    inadequate_response = "inadequate_response"
    partial_response = "partial_response"
    lost_efficacy = "lost_efficacy"
    intolerance = "intolerance"
    contraindication = "contraindication"
    cost = "cost"
    access = "access"
    patient_preference = "patient_preference"
    other = "other"


FAILURE_OUTCOMES = frozenset(
    {
        Outcome.inadequate_response,
        Outcome.partial_response,
        Outcome.lost_efficacy,
        Outcome.intolerance,
        Outcome.contraindication,
    }
)


class Address(Model):
    street: CleanName
    street2: CleanName | None = None
    city: CleanName
    state: USState
    postal_code: ZIPCode


class Rebuttal(Model):
    """One point of an appeal, written by the clinician, answering part of the denial."""

    point: Text = Field(description="The part of the payer's stated reason this answers.")
    response: Text = Field(description="The clinician's answer, from the record.")
    source: CleanName | None = Field(
        default=None, description="Document the answer rests on, e.g. 'Neurology note 2026-10-28'."
    )


class Denial(Model):
    """The payer's decision an appeal (or a peer-to-peer call) responds to."""

    date: IsoDate = Field(description="Date of the denial notice.")
    reference: CleanName = Field(description="The payer's reference for the denial.")
    reason: Text = Field(description="The payer's stated reason, as written in the notice.")
    rebuttals: list[Rebuttal] = Field(
        default_factory=list, max_length=20,
        description="Point-by-point answers written by the clinician (printed in order).",
    )
    reasons: StatedReasons = Field(
        default_factory=list, description="The notice's reasons by code, each with the "
        "clinician's answers to its checklist (`priorauth check` lists what is open).")


class Letter(Model):
    kind: LetterKind = LetterKind.initial
    date: IsoDate = Field(description="Date printed on the letter; no record date may be later.")
    urgency: Urgency = Urgency.standard
    reference: CleanName | None = Field(
        default=None, description="The practice's or payer's reference number for this request."
    )
    denial: Denial | None = Field(
        default=None, description="The denial being appealed; required when kind is 'appeal'."
    )

    @model_validator(mode="after")
    def _appeal_needs_denial(self) -> Letter:
        if self.kind is LetterKind.appeal and self.denial is None:
            raise FieldProblems(
                [("denial", "is required for an appeal: add the denial's date, reference and the "
                  "payer's stated reason (letter.denial: {date, reference, reason})",
                  "field.required")]
            )
        return self


class Patient(Model):
    given_name: CleanName
    family_name: CleanName
    date_of_birth: IsoDate
    sex: Sex | None = None
    member_id: CleanName
    group_number: CleanName | None = None

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


class Payer(Model):
    name: CleanName
    id: CleanName | None = Field(
        default=None, description="The payer's ID as it publishes it (e.g. the electronic "
        "payer ID on the member card); template payer rules may match it (the bundled letters "
        "do not print it).")
    plan: CleanName | None = None
    plan_type: PlanType = Field(
        default=PlanType.unknown,
        description="Kind of plan (erisa, fully_insured_group, aca_individual, "
                    "medicare_advantage, medicaid_managed_care, other, unknown): decides the "
                    "appeal deadlines priorauth prints.",
    )
    policy_id: CleanName | None = Field(
        default=None, description="The payer's medical policy number, if known."
    )
    attention: CleanName | None = Field(default=None, description="e.g. 'Utilization Management'")
    address: Address | None = None
    phone: Phone | None = None
    fax: Phone | None = None


class Provider(Model):
    name: CleanName
    credentials: CleanName = Field(description="e.g. 'MD' or 'DO, FAHS'")
    specialty: CleanName | None = None
    npi: NPI
    practice: CleanName
    address: Address
    phone: Phone
    fax: Phone | None = None
    email: CleanName | None = None
    signature_image: AssetImage | None = Field(
        default=None, description="Image of the signature, a file in the template folder's "
        "assets/ (e.g. 'dr-lee.png'); printed above the typed signature block.")


class Facility(Model):
    """Site of care for the infusion."""

    name: CleanName
    npi: NPI | None = None
    setting: CleanName | None = Field(
        default=None, description="e.g. 'hospital outpatient infusion center'"
    )
    address: Address | None = None


def _not_refused_hcpcs(code: str) -> str:
    """Codes ``reference/codes.yaml`` lists under ``refused`` (e.g. J3000, streptomycin)."""
    from priorauth.reference import load_yaml

    reason = (load_yaml("codes.yaml").get("refused") or {}).get(code)
    if reason:
        raise InvalidValue("hcpcs.refused", str(reason))
    return code


BillableICD10Code = Annotated[ICD10Code, AfterValidator(_icd.check_billable)]
"""An ICD-10-CM code that exists in the bundled code table and is billable."""
RequestHCPCS = Annotated[HCPCS, AfterValidator(_not_refused_hcpcs)]
EvidenceId = Annotated[CleanName, AfterValidator(_evidence.check_id)]


class Diagnosis(Model):
    code: BillableICD10Code
    description: CleanName | None = Field(
        default=None,
        description="As documented; the official ICD-10-CM description is printed beside it.",
    )
    onset: IsoDate | None = None
    primary: bool = False


class Burden(Model):
    """Disease burden as documented (headache diary, questionnaires). Every field is optional:
    the letter prints only what is here."""

    headache_days_per_month: float | None = Field(default=None, ge=0, le=31)
    migraine_days_per_month: float | None = Field(default=None, ge=0, le=31)
    debilitating_days_per_month: float | None = Field(default=None, ge=0, le=31)
    months_at_this_frequency: int | None = Field(default=None, ge=0, le=1200)
    midas: int | None = Field(default=None, ge=0, le=270, description="MIDAS total score")
    hit6: int | None = Field(default=None, ge=36, le=78, description="HIT-6 total score")
    pain_score: float | None = Field(
        default=None, ge=0, le=10, description="Average pain, 0-10 numeric rating scale"
    )
    ed_visits_12mo: int | None = Field(default=None, ge=0, le=365)
    medication_overuse_excluded: bool | None = None
    source: CleanName | None = Field(default=None, description="e.g. 'Headache diary Aug-Oct 2026'")

    @model_validator(mode="after")
    def _migraine_days_within_headache_days(self) -> Burden:
        h, m = self.headache_days_per_month, self.migraine_days_per_month
        if h is not None and m is not None and m > h:
            raise FieldProblems(
                [("migraine_days_per_month", "cannot exceed headache_days_per_month",
                  "burden.inconsistent")]
            )
        return self


class PriorTherapy(Model):
    name: CleanName = Field(description="Drug or procedure as documented, e.g. 'topiramate'.")
    class_: CleanName | None = Field(
        default=None,
        alias="class",
        description="Therapy class, e.g. 'antiepileptic'; inferred from the catalogue if omitted.",
    )
    role: Role
    dose: CleanName | None = None
    frequency: CleanName | None = None
    start: IsoDate | None = Field(
        default=None, description="Required unless the outcome is 'contraindication'."
    )
    end: IsoDate | None = Field(default=None, description="Leave empty if still taking it.")
    target_dose_reached: IsoDate | None = Field(
        default=None, description="Date the target (or maximum tolerated) dose was reached; an "
        "adequate trial is then counted from it, titration excluded (AHS, D'Antona 2019).")
    cycles: int | None = Field(
        default=None, ge=1, le=100, description="Treatment cycles / injections / sessions."
    )
    outcome: Outcome
    details: Text | None = None
    source: CleanName | None = Field(
        default=None, description="Document the fact comes from, e.g. 'Neurology note 2023-05-02'."
    )

    @model_validator(mode="after")
    def _dates_make_sense(self) -> PriorTherapy:
        if self.start is None and self.outcome is not Outcome.contraindication:
            raise FieldProblems(
                [("start", "is required (only a contraindicated therapy that was never started "
                  "may leave it out)", "field.required")]
            )
        if self.start and self.end and self.end < self.start:
            raise FieldProblems(
                [("end", "must not be before start; check both dates", "date.order")]
            )
        reached = self.target_dose_reached
        if reached and ((self.start and reached < self.start) or (self.end and reached > self.end)):
            raise FieldProblems(
                [("target_dose_reached", "must lie between start and end; check the dates")]
            )
        return self

    @property
    def is_failure(self) -> bool:
        return self.outcome in FAILURE_OUTCOMES


class RequestCodes(Model):
    hcpcs: list[RequestHCPCS] = Field(default_factory=list, max_length=10)
    cpt: list[CPT] = Field(default_factory=list, max_length=10)
    ndc: NDC | None = Field(default=None, description="11-digit NDC of the ketamine product.")


class Requested(Model):
    treatment: Literal["ketamine_iv_infusion"] = "ketamine_iv_infusion"
    dose: CleanName = Field(description="e.g. '0.5 mg/kg/h'")
    infusion_hours: float = Field(gt=0, le=24)
    sessions: int = Field(ge=1, le=100)
    schedule: CleanName | None = None
    start: IsoDate | None = None
    codes: RequestCodes = Field(default_factory=RequestCodes)
    monitoring: Text | None = None
    regimen: Regimen | None = Field(default=None, description="Rate and shape, in numbers.")
    positive_response: Text | None = Field(
        default=None, description="What the practice will count as a positive response.")


class Screening(Model):
    """Ketamine safety screening. ``true`` = present, ``false`` = screened and absent, omitted =
    not documented (the letter says so rather than guessing)."""

    date: IsoDate | None = None
    psychosis_history: bool | None = None
    uncontrolled_hypertension: bool | None = None
    unstable_cardiac_disease: bool | None = None
    pregnancy: bool | None = None
    substance_use_disorder: bool | None = None
    severe_hepatic_disease: bool | None = None
    elevated_intracranial_or_intraocular_pressure: bool | None = None
    notes: Text | None = None


class Attachment(Model):
    title: CleanName
    pages: int | None = Field(default=None, ge=1, le=10_000)
    date: IsoDate | None = None


class Case(Model):
    """One prior-authorization request for one patient."""

    id: CaseId | None = Field(
        default=None, description="Your identifier for this case; names batch output files."
    )
    letter: Letter
    patient: Patient
    payer: Payer
    provider: Provider
    facility: Facility | None = None
    diagnoses: Annotated[list[Diagnosis], Field(min_length=1, max_length=MAX_DIAGNOSES)]
    burden: Burden = Field(default_factory=Burden)
    prior_therapies: Annotated[list[PriorTherapy], Field(min_length=1, max_length=MAX_THERAPIES)]
    requested: Requested
    screening: Screening = Field(default_factory=Screening)
    crps: CRPSCriteria | None = Field(default=None, description="Budapest CRPS criteria.")
    continuation: Continuation | None = Field(
        default=None, description="For a continuation letter: the approval it continues, the "
                                  "infusions given and the measures before and after.")
    rationale: Text
    evidence: list[EvidenceId] = Field(
        default_factory=list, max_length=30, description="Ids from `priorauth evidence list`."
    )
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)

    @property
    def primary_diagnosis(self) -> Diagnosis:
        return next((d for d in self.diagnoses if d.primary), self.diagnoses[0])

    @model_validator(mode="after")
    def _cross_field_rules(self) -> Case:
        problems: list[tuple[str, str, str]] = []
        primaries = [d for d in self.diagnoses if d.primary]
        if len(self.diagnoses) > 1 and len(primaries) != 1:
            problems.append(
                ("diagnoses", "mark exactly one diagnosis 'primary: true' "
                 f"(found {len(primaries)} of {len(self.diagnoses)})", "diagnoses.primary")
            )
        if self.letter.kind is LetterKind.continuation and self.continuation is None:
            problems.append(("continuation", "is required for a continuation letter: add the "
                             "approval, the infusions and the baseline and follow-up measures "
                             "(see docs/lifecycle.md)", "field.required"))
        dumped = self.model_dump(by_alias=True)
        problems += record_date_problems(dumped)
        total = _text_length(dumped)
        if total > MAX_CASE_TEXT:
            problems.append(
                ("", f"the case holds {total:,} characters of text; a letter may "
                 f"print at most {MAX_CASE_TEXT:,} (shorten details and rationale)",
                 "case.too_much_text")
            )
        if problems:
            raise FieldProblems(problems)
        return self


def _text_length(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(_text_length(item) for item in value.values())
    if isinstance(value, list):
        return sum(_text_length(item) for item in value)
    return 0


# Dates that may lie after the letter date: the letter's own date and the requested start.
_MAY_BE_LATER = {"letter.date", "requested.start", "continuation.authorization.through"}


def _date_fields(model: type[BaseModel], data: Any, path: str) -> Iterator[tuple[str, dt.date]]:
    """Every date-typed field present in raw or dumped ``data``, found through the model's fields
    so that a new date field is covered without editing this function."""
    if not isinstance(data, dict):
        return
    for name, field in model.model_fields.items():
        key = field.alias or name
        value = data.get(key)
        sub_path = f"{path}.{key}" if path else key
        annotation = str(field.annotation)
        if value is None:
            continue
        if "datetime.date" in annotation:
            parsed = _as_date(value)
            if parsed is not None:
                yield sub_path, parsed
            continue
        inner = model_in(field.annotation)
        if inner is None:
            continue
        if isinstance(value, list):
            for index, item in enumerate(value):
                yield from _date_fields(inner, item, f"{sub_path}[{index}]")
        else:
            yield from _date_fields(inner, value, sub_path)


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def model_in(annotation: Any) -> type[BaseModel] | None:
    """The model class inside ``X | None``, ``list[X]``, ``Annotated[X, ...]``, if any."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return model_in(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list):
        for arg in typing.get_args(annotation):
            found = model_in(arg)
            if found:
                return found
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def submodel(model: type[BaseModel] | None, key: str) -> type[BaseModel] | None:
    """The model behind field ``key`` (its name or alias) of ``model``, if that field holds one."""
    if model is None:
        return None
    field = next((f for name, f in model.model_fields.items() if key in (name, f.alias)), None)
    return model_in(field.annotation) if field is not None else None


def record_date_problems(data: Any) -> list[tuple[str, str, str]]:
    """Dates later than the letter, or earlier than the patient's birth.

    Works on raw (unvalidated) data too, so ``validate`` reports these alongside other errors.
    """
    dates = dict(_date_fields(Case, data, ""))
    letter_date = dates.get("letter.date")
    born = dates.get("patient.date_of_birth")
    problems: list[tuple[str, str, str]] = []
    for path, value in dates.items():
        if not EARLIEST_DATE <= value <= LATEST_DATE:
            problems.append((path, f"is not between {EARLIEST_DATE.year} and "
                                   f"{LATEST_DATE.year}; check the year", "date.range"))
            continue
        if path in _MAY_BE_LATER:
            continue
        if letter_date is not None and value > letter_date:
            # Dates are PHI (HIPAA Safe Harbor): name the fields, not their values.
            problems.append((path, "is after the letter date (letter.date); check the year",
                             "date.after_letter"))
        elif born is not None and path != "patient.date_of_birth" and value < born:
            # The DOB itself stays out of the message: messages are shown even with --redact.
            problems.append((path, "is before the patient's date of birth; check the year",
                             "date.before_birth"))
    return problems
