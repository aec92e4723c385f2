"""Reading FHIR input (a Bundle, an NDJSON file, a Bulk Data folder) into a bounded store of
the resources priorauth maps, with reference resolution."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from priorauth.case.parse import iter_ndjson_lines
from priorauth.errors import CaseInvalid, Problem
from priorauth.fhir.r4 import (
    MODELS,
    CodeableConcept,
    PatientR,
    Reference,
    Resource,
    key_of,
)
from priorauth.fhir.terminology import (
    _PATIENT_FIELD,
    _TYPES_READ,
    BURDEN_TEXTS,
    MAX_BUNDLE_BYTES,
    MAX_EXAMPLES,
    MAX_KEPT_RESOURCES,
    MAX_LINE_BYTES,
)


@dataclass(frozen=True)
class Owners:
    """Resources by the key of the Patient they are about, and those about no Patient in the
    input (with the field and reference that failed to name one)."""

    owned: dict[str, list[Resource]]
    unowned: list[tuple[Resource, str, Reference | None]]


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
        self._by_value: dict[str, list[str]] = {}
        """Identifier value → keys of the resources carrying it, in input order: conditional
        references (``Patient?identifier=…``) resolve by lookup, not by scanning every resource
        (30,000 Conditions each naming their patient that way used to take quadratic time)."""
        self._by_type: dict[str, list[str]] = {}
        self._owners: Owners | None = None

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
            use = data.get("use")
            shown = repr(use) if isinstance(use, str) and re.fullmatch(r"[a-z-]{1,20}", use) \
                else "not a code"
            self._skip(kind, f"use is {shown}, not 'preauthorization' (a billing "
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
        self._owners = None
        self._by_type.setdefault(resource.resourceType, []).append(key)
        idents = getattr(resource, "identifier", None) or []
        for ident in idents if isinstance(idents, list) else [idents]:
            if ident.value:
                keys = self._by_value.setdefault(ident.value, [])
                if not keys or keys[-1] != key:
                    keys.append(key)
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
        for key in self._by_value.get(value, ()):
            resource = self.resources[key]
            if kind and resource.resourceType != kind:
                continue
            for ident in getattr(resource, "identifier", []) or []:
                if ident.value == value and (system is None or ident.system == system):
                    return resource
        return None

    def owners(self) -> Owners:
        """Each resource about a patient filed under its patient's key, resolved once for the
        whole input: mapping many patients must not resolve every resource once per patient
        (a Bulk export of 300 patients spent 85% of its time doing that)."""
        if self._owners is None:
            owned: dict[str, list[Resource]] = {}
            unowned: list[tuple[Resource, str, Reference | None]] = []
            for resource in self.resources.values():
                field_name = _PATIENT_FIELD.get(resource.resourceType)
                if field_name is None:
                    continue
                ref = getattr(resource, field_name)
                owner = self.resolve(ref, resource) if ref is not None else None
                if owner is None:
                    unowned.append((resource, field_name, ref))
                else:
                    owned.setdefault(key_of(owner), []).append(resource)
            self._owners = Owners(owned, unowned)
        return self._owners

    def of_type(self, kind: str) -> list[Resource]:
        return [self.resources[key] for key in self._by_type.get(kind, ())]


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


def patients(store: Store) -> list[PatientR]:
    return [p for p in store.of_type("Patient") if isinstance(p, PatientR)]
