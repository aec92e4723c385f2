"""FHIR -> case: the preauthorization Claim, the ketamine order, letter date, request,
rationale."""

from __future__ import annotations

from typing import Any

from priorauth.fhir.mapping.base import MapperBase
from priorauth.fhir.r4 import (
    ClaimR,
    MedicationRequestR,
    Reference,
    key_of,
)
from priorauth.fhir.read import (
    _normalise,
)
from priorauth.fhir.report import (
    Missing,
)
from priorauth.fhir.terminology import (
    CPT_SYSTEMS,
    HCPCS_SYSTEMS,
    NDC_SYSTEM,
)
from priorauth.fhir.values import (
    _date,
    _is_ketamine,
    _quantity_text,
)


class ClaimMapping(MapperBase):
    """Maps the preauthorization Claim, the ketamine order, letter date, request and rationale."""

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
