"""The ``continuation:`` section: the authorization being continued, the infusions given under it
and the measures before and after, from which a continuation (re-authorization) letter reports
the response (priorauth/policy/response.py computes it; nothing here is derived).

Kept apart from model.py (shared, already long); ``Case.continuation`` hangs it on the case.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from priorauth.case.base import Model
from priorauth.case.fields import CleanName, IsoDate, Text
from priorauth.errors import FieldProblems

MAX_INFUSIONS = 200


class RateUnit(StrEnum):
    """How the infusion rate was recorded."""

    mg_per_kg_per_h = "mg/kg/h"
    mg_per_h = "mg/h"


class Authorization(Model):
    """The payer's approval this request continues."""

    reference: CleanName = Field(description="The payer's authorization number.")
    sessions_approved: int = Field(ge=1, le=100, description="Sessions the payer approved.")
    through: IsoDate = Field(description="Last date the approval covers.")


class Measures(Model):
    """Validated measures at one point in time, each as documented (leave out what was not
    measured; nothing is estimated)."""

    date: IsoDate = Field(description="When these measures were taken (or the period ended).")
    pain_nrs: float | None = Field(default=None, ge=0, le=10,
                                   description="Average pain, 0-10 numeric rating scale.")
    headache_days_per_month: float | None = Field(default=None, ge=0, le=31,
                                                  description="Headache days a month.")
    migraine_days_per_month: float | None = Field(default=None, ge=0, le=31,
                                                  description="Migraine days a month.")
    midas: int | None = Field(default=None, ge=0, le=270, description="MIDAS total score.")
    hit6: int | None = Field(default=None, ge=36, le=78, description="HIT-6 total score.")
    acute_medication_days_per_month: float | None = Field(
        default=None, ge=0, le=31, description="Days a month with acute (rescue) medication.")
    function: Text | None = Field(default=None,
                                  description="Function as documented, in the clinician's words.")
    source: CleanName | None = Field(default=None,
                                     description="e.g. 'Headache diary Sep-Oct 2026'.")


class Infusion(Model):
    """One infusion as given."""

    date: IsoDate = Field(description="Date of the infusion.")
    drug: CleanName = Field(default="ketamine", description="e.g. 'racemic ketamine'.")
    rate: float = Field(gt=0, le=1000, description="Infusion rate, in `unit`.")
    unit: RateUnit = Field(description="mg/kg/h or mg/h.")
    hours: float = Field(gt=0, le=24, description="Duration of the infusion in hours.")
    setting: CleanName | None = Field(default=None, description="e.g. 'hospital outpatient'.")
    adverse_events: Text | None = Field(
        default=None, description="Adverse events as documented (leave out when none).")
    serious_adverse_event: bool = Field(
        default=False, description="true when a serious adverse event occurred.")
    pain_before: float | None = Field(default=None, ge=0, le=10,
                                      description="Pain (0-10) before this infusion.")
    pain_after: float | None = Field(default=None, ge=0, le=10,
                                     description="Pain (0-10) after this infusion.")


class Continuation(Model):
    """What a continuation letter reports: the approval, the infusions and the measured change."""

    authorization: Authorization = Field(description="The approval this request continues.")
    infusions: Annotated[list[Infusion], Field(min_length=1, max_length=MAX_INFUSIONS)]
    baseline: Measures = Field(description="Measures before the first infusion of this series.")
    follow_up: Measures = Field(description="The same measures after the series.")
    relief_until: IsoDate | None = Field(
        default=None, description="Date the benefit was documented to wear off (leave out if it "
                                  "has not); weeks of relief are counted from the last infusion.")
    next_series: CleanName | None = Field(
        default=None, description="The next series requested, e.g. '4 infusions over 2 weeks'.")

    @model_validator(mode="after")
    def _dates_in_order(self) -> Continuation:
        problems: list[tuple[str, str, str]] = []
        dates = [infusion.date for infusion in self.infusions]
        if dates != sorted(dates):
            problems.append(("infusions", "list the infusions in date order", "date.order"))
        if self.baseline.date > dates[0]:
            problems.append(("baseline.date", "must not be after the first infusion; baseline "
                             "measures come before the series", "date.order"))
        if self.follow_up.date < dates[-1]:
            problems.append(("follow_up.date", "must not be before the last infusion; follow-up "
                             "measures come after the series", "date.order"))
        if self.relief_until is not None and self.relief_until < dates[-1]:
            problems.append(("relief_until", "must not be before the last infusion",
                             "date.order"))
        if problems:
            raise FieldProblems(problems)
        return self
