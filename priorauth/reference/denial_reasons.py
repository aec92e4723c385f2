"""Denial reasons (``reference/denial-reasons.yaml``): what an appeal must answer for each.

A case names the reasons its denial notice states; this module holds, per reason, the checklist
of points the clinician answers and the case fields an answer draws on, plus the statutory
elements of an external-review certification. Nothing here writes an answer.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from priorauth.errors import ReferenceDataError
from priorauth.reference import load_yaml

REASONS_FILE = "denial-reasons.yaml"
CONDITIONS = ("life_threatening", "seriously_debilitating")
STANDARD_THERAPIES = ("not_effective", "not_appropriate", "no_more_beneficial")


@dataclass(frozen=True)
class ChecklistItem:
    id: str
    heading: str
    """Printed in the letter above the clinician's answer."""
    text: str
    """What the answer must show (``check`` prints it)."""


@dataclass(frozen=True)
class CertificationSpec:
    """The elements an external-review certification states, from one statute."""

    id: str
    statute: str
    scope: str
    source: str
    min_evidence: int
    condition: Mapping[str, str]
    standard_therapies: Mapping[str, str]
    more_beneficial: str


@dataclass(frozen=True)
class ReasonSpec:
    id: str
    label: str
    basis: str
    checklist: tuple[ChecklistItem, ...]
    cite: tuple[str, ...]
    certification: CertificationSpec | None = None

    def item(self, item_id: str) -> ChecklistItem | None:
        return next((i for i in self.checklist if i.id == item_id), None)


def _text(value: Any) -> str:
    return " ".join(str(value).split())


def _keyed(spec: Mapping[str, Any], name: str, keys: tuple[str, ...], where: str) -> dict[str, str]:
    table = spec.get(name)
    if not isinstance(table, dict) or set(table) != set(keys):
        raise ReferenceDataError(f"{REASONS_FILE}: {where}.{name}: needs exactly {', '.join(keys)}")
    return {key: _text(table[key]) for key in keys}


def _certification(key: str, spec: Any) -> CertificationSpec:
    where = f"certifications.{key}"
    if not isinstance(spec, dict):
        raise ReferenceDataError(f"{REASONS_FILE}: {where}: must be a mapping")
    missing = [n for n in ("statute", "scope", "source", "min_evidence", "more_beneficial")
               if not spec.get(n)]
    if missing:
        raise ReferenceDataError(f"{REASONS_FILE}: {where}: missing {', '.join(missing)}")
    return CertificationSpec(
        id=key, statute=_text(spec["statute"]), scope=_text(spec["scope"]),
        source=_text(spec["source"]), min_evidence=int(spec["min_evidence"]),
        condition=_keyed(spec, "condition", CONDITIONS, where),
        standard_therapies=_keyed(spec, "standard_therapies", STANDARD_THERAPIES, where),
        more_beneficial=_text(spec["more_beneficial"]))


def build_reasons(data: Mapping[str, Any]) -> dict[str, ReasonSpec]:
    """Checked reason specs, id -> spec; anything malformed is a :class:`ReferenceDataError`."""
    data = dict(data or {})
    certs = {str(k): _certification(str(k), v) for k, v in (data.pop("certifications", None)
                                                            or {}).items()}
    reasons: dict[str, ReasonSpec] = {}
    for key, spec in data.items():
        if not isinstance(spec, dict):
            raise ReferenceDataError(f"{REASONS_FILE}: {key}: must be a mapping of fields")
        missing = [n for n in ("label", "basis", "checklist", "cite") if not spec.get(n)]
        if missing:
            raise ReferenceDataError(f"{REASONS_FILE}: {key}: missing {', '.join(missing)}")
        try:
            items = tuple(ChecklistItem(str(i["id"]), _text(i["heading"]), _text(i["text"]))
                          for i in spec["checklist"])
        except (KeyError, TypeError) as exc:
            raise ReferenceDataError(f"{REASONS_FILE}: {key}: each checklist item needs id, "
                                     "heading and text") from exc
        if len({i.id for i in items}) != len(items):
            raise ReferenceDataError(f"{REASONS_FILE}: {key}: checklist ids repeat")
        cert_id = spec.get("certification")
        if cert_id is not None and cert_id not in certs:
            raise ReferenceDataError(f"{REASONS_FILE}: {key}: unknown certification {cert_id}")
        reasons[str(key)] = ReasonSpec(
            id=str(key), label=_text(spec["label"]), basis=_text(spec["basis"]),
            checklist=items, cite=tuple(str(c) for c in spec["cite"]),
            certification=certs[cert_id] if cert_id is not None else None)
    return reasons


@functools.cache
def reasons() -> dict[str, ReasonSpec]:
    """The bundled reasons, parsed once."""
    return build_reasons(load_yaml(REASONS_FILE))


def get(code: str) -> ReasonSpec:
    """The spec of a code a validated case holds (KeyError for anything else: a bug)."""
    return reasons()[code]


def check_code(code: str) -> str:
    """Validator behind ``letter.denial.reasons[i].code``."""
    if code in reasons():
        return code
    close = difflib.get_close_matches(code, list(reasons()), n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"use one of {', '.join(reasons())}"
    raise ValueError(f"is not a known denial reason; {hint}")  # never the value: it may be PHI
