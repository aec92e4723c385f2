"""FHIR -> case: prior therapies from medication records and procedures."""

from __future__ import annotations

from typing import Any

from priorauth.fhir.draft import (
    Todo,
)
from priorauth.fhir.mapping.base import _MED_TYPES, MapperBase, shown_code
from priorauth.fhir.r4 import (
    CodeableConcept,
    Dosage,
    MedicationAdministrationR,
    MedicationRequestR,
    MedicationStatementR,
    MedicationUse,
    ProcedureR,
    Resource,
    key_of,
)
from priorauth.fhir.report import (
    Invalid,
)
from priorauth.fhir.terminology import (
    CPT_SYSTEMS,
    ICD10CM_SYSTEM,
    OUTCOME_CHOICES,
    PROCEDURE_CPT,
)
from priorauth.fhir.values import (
    _cpt,
    _date,
    _diagnosis_family,
    _frequency,
    _lookup,
    _quantity_text,
    _reason_outcome,
)


class TherapyMapping(MapperBase):
    """Maps prior therapies from medication records and procedures."""

    # prior therapies
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
                self.report.ignore("Procedure", f"status {shown_code(proc.status)}", proc.id)
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
        # The statusReason text is free text (PHI): the report says only that it was unclear.
        said = "its statusReason names no outcome priorauth reads" if read else "no statusReason"
        item["outcome"] = self.todo(f"{path}.outcome", f"{key_of(source)} status "
                                    f"{shown_code(status)}, {said}; choose one of "
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
