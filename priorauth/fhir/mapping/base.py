"""What every topic of the mapping shares: bookkeeping of filled, missing and invalid fields."""

from __future__ import annotations

import re
from typing import Any, Literal

from priorauth.errors import CaseInvalid
from priorauth.fhir.draft import (
    ImportResult,
    Todo,
)
from priorauth.fhir.r4 import (
    CodeableConcept,
    MedicationR,
    MedicationUse,
    PatientR,
    Reference,
    Resource,
    key_of,
)
from priorauth.fhir.read import (
    Store,
)
from priorauth.fhir.report import (
    Filled,
    ImportReport,
    Invalid,
    Missing,
    Unresolved,
)
from priorauth.fhir.terminology import (
    NEEDED,
)
from priorauth.fhir.values import (
    _nearest,
)

_MED_TYPES = ("MedicationRequest", "MedicationStatement", "MedicationAdministration")



class MapperBase:
    """One patient's mapping: the store, the report, the data filled so far and the bookkeeping
    every topic uses (fill, todo, need, deref)."""

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
            self.report.notes.append(f"{key_of(holder)} {element} points at "
                                     f"{safe_reference(ref.reference)}, "
                                     "a resource type priorauth does not read")
            return None
        if found is None:
            shown = (safe_reference(ref.reference) if ref.reference else
                     f"identifier {ref.identifier.system if ref.identifier else ''}")
            self.report.unresolved.append(Unresolved(f"{key_of(holder)} {element}", shown))
            return None
        if kinds and found.resourceType not in kinds:
            self.report.notes.append(f"{key_of(holder)} {element} points at a "
                                     f"{found.resourceType}, expected {' or '.join(kinds)}")
            return None
        return found

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


def safe_reference(reference: str) -> str:
    """A reference as the report may show it: a conditional reference
    (``Patient?family=...&birthdate=...``) carries search values, which may be PHI, so only its
    resource type is kept."""
    kind, query, _ = reference.partition("?")
    if query or "?" in reference:
        return f"{kind[:40]}?(conditional reference)" if _RESOURCE_TYPE.fullmatch(kind) else \
            "(a conditional reference)"
    if _LITERAL_REFERENCE.fullmatch(reference):
        return reference
    # Anything else (free text where a reference belongs) might be a name: never repeat it.
    return "(a reference that is not Type/id, #id or urn:uuid)"


def shown_code(code: str | None) -> str:
    """A status or other FHIR code as the report may show it: codes are short lower-case words;
    anything else in their place (free text) is not repeated."""
    if code is None:
        return "(none)"
    return code if re.fullmatch(r"[a-z][a-z-]{0,31}", code) else "(not a FHIR code)"


_RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{1,40}")
_LITERAL_REFERENCE = re.compile(
    r"(?:(?:https?://[A-Za-z0-9.\-:]{1,200}(?:/[A-Za-z0-9._\-]{1,64}){0,8}/)?[A-Z][A-Za-z]{1,40}/"
    r"[A-Za-z0-9\-.]{1,64}(?:/_history/[A-Za-z0-9\-.]{1,64})?)|#[A-Za-z0-9\-.]{1,64}"
    r"|urn:uuid:[0-9a-fA-F\-]{36}|urn:oid:[0-9.]{1,100}")
