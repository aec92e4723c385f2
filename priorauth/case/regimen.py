"""The requested ketamine regimen in numbers, so it can be compared with the regimens that have
published evidence (``reference/ketamine-regimens.yaml``).

``requested.dose`` stays the clinician's own words for the letter; this section holds only the
figures the comparison needs. Left out, the comparison is 'unknown' and says which field to fill.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from priorauth.case.base import Model


class RateUnit(StrEnum):
    mg_per_kg_h = "mg/kg/h"
    mg_per_h = "mg/h"


class Regimen(Model):
    """Rate and shape of the requested infusions (hours and sessions are ``requested``'s)."""

    rate: float = Field(gt=0, le=100, description="Highest infusion rate planned, e.g. 0.35")
    unit: RateUnit = Field(description="'mg/kg/h' or 'mg/h'")
    max_mg_per_h: float | None = Field(
        default=None, gt=0, le=1000, description="Cap on the rate in mg/h, if the plan has one."
    )
    continuous: bool = Field(
        default=False,
        description="One uninterrupted multi-day infusion (sessions = days) instead of daily "
                    "sessions of infusion_hours each.",
    )
