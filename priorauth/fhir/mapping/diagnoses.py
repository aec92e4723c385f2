"""FHIR -> case: diagnoses (Claim or Conditions) and the burden (Observations)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from priorauth.fhir.mapping.base import MapperBase
from priorauth.fhir.r4 import (
    ClaimR,
    ConditionR,
    ObservationR,
    Resource,
    key_of,
)
from priorauth.fhir.read import (
    _burden_measure,
)
from priorauth.fhir.report import (
    Filled,
    Invalid,
)
from priorauth.fhir.terminology import (
    _BURDEN_INT,
    DIAGNOSIS_PREFIXES,
    ICD10CM_SYSTEM,
)
from priorauth.fhir.values import (
    _date,
    _diagnosis_family,
)


class DiagnosisMapping(MapperBase):
    """Maps diagnoses (Claim or Conditions) and the burden (Observations)."""

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
