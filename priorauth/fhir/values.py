"""Small conversions from FHIR values to case values (dates, numbers, names, addresses)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from typing import Any

from priorauth.case.model import Outcome
from priorauth.fhir.r4 import (
    CodeableConcept,
    ContactPoint,
    Dosage,
    FAddress,
    HumanName,
    Identifier,
    ProcedureR,
    Quantity,
    Resource,
)
from priorauth.fhir.read import (
    _normalise,
)
from priorauth.fhir.terminology import (
    CPT_SYSTEMS,
    DIAGNOSIS_PREFIXES,
    NPI_SYSTEM,
    OUTCOME_PHRASES,
    STATUS_REASON_CODES,
)


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
