"""Ketamine regimens with published evidence (``ketamine-regimens.yaml``), each with its trial."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from priorauth.errors import ReferenceDataError
from priorauth.reference import load_yaml

RACEMIC = "racemic ketamine"
UNITS = ("mg/kg/h", "mg/h")


@dataclass(frozen=True)
class StudyRegimen:
    """The regimen one trial used: what a request is compared with."""

    id: str
    name: str
    summary: str
    drug: str
    rate: float
    unit: str
    source: str
    continuous: bool = False
    max_mg_per_h: float | None = None
    hours_per_infusion: float | None = None
    infusions: int | None = None
    days: float | None = None


def _regimen(raw: Any, where: str) -> StudyRegimen:
    if not isinstance(raw, dict):
        raise ReferenceDataError(f"ketamine-regimens.yaml: {where}: must be a mapping")
    try:
        fields: dict[str, Any] = {key: (" ".join(value.split()) if isinstance(value, str)
                                        else value) for key, value in raw.items()}
        regimen = StudyRegimen(**fields)
    except TypeError as exc:
        raise ReferenceDataError(f"ketamine-regimens.yaml: {where}: {exc}") from None
    shape_ok = (regimen.days is not None if regimen.continuous
                else regimen.hours_per_infusion is not None and regimen.infusions is not None)
    if regimen.unit not in UNITS or not shape_ok or not regimen.source:
        raise ReferenceDataError(
            f"ketamine-regimens.yaml: {where}: needs unit ({', '.join(UNITS)}), a source, and "
            "hours_per_infusion + infusions (daily) or days (continuous)")
    return regimen


@functools.cache
def regimens(indication: str) -> tuple[StudyRegimen, ...]:
    """The regimens with evidence for ``indication`` (a key of the data file)."""
    data = load_yaml("ketamine-regimens.yaml") or {}
    return tuple(_regimen(raw, f"{indication}[{index}]")
                 for index, raw in enumerate(data.get(indication) or []))


def indications() -> tuple[str, ...]:
    return tuple(load_yaml("ketamine-regimens.yaml") or {})
