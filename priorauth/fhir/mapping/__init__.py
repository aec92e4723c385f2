"""FHIR -> case for one patient, split by topic; :class:`Mapper` puts the topics together."""

from __future__ import annotations

from priorauth.fhir.draft import (
    ImportResult,
)
from priorauth.fhir.mapping.base import safe_reference
from priorauth.fhir.mapping.claim import ClaimMapping
from priorauth.fhir.mapping.diagnoses import DiagnosisMapping
from priorauth.fhir.mapping.people import PeopleMapping
from priorauth.fhir.mapping.therapies import TherapyMapping
from priorauth.fhir.read import (
    patients,
)
from priorauth.fhir.report import (
    Ignored,
    Invalid,
)
from priorauth.fhir.terminology import (
    MAX_EXAMPLES,
)
from priorauth.fhir.values import (
    _safe_case_id,
)


class Mapper(ClaimMapping, PeopleMapping, DiagnosisMapping, TherapyMapping):
    """Maps one Patient and the resources about them to draft case data (see each topic)."""

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
        owners = self.store.owners()
        for resource in owners.owned.get(self.pkey, []):
            self.mine.setdefault(resource.resourceType, []).append(resource)
        for resource, field_name, ref in owners.unowned:
            shown = (safe_reference(ref.reference) if ref is not None and ref.reference
                     else "(none)")
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
