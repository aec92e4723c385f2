"""CRPS diagnosis as the Budapest clinical criteria record it (Harden 2010; Harden 2022).

A letter for CRPS must show *how* the diagnosis was made, not only its code: the patient's
symptoms and the clinician's signs in each of four categories, that the pain is disproportionate
and that no other diagnosis explains it better. Each finding is true, false or unknown (left out,
``null`` or ``unknown``): an unknown stays unknown in the checklist and the letter, never a guess.
The thresholds and category wording live in ``reference/crps-budapest.yaml`` with their source.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

from priorauth.case.base import Model
from priorauth.case.fields import CleanName, IsoDate

CATEGORIES = ("sensory", "vasomotor", "sudomotor_edema", "motor_trophic")
"""The four Budapest categories, in the order the criteria list them (field names under crps:)."""


def _unknown_is_none(value: Any) -> Any:
    """``unknown`` (any case) means the same as leaving the field out; anything but true, false
    or unknown is refused (a finding typed as 1 or "yes" is not silently made true)."""
    if isinstance(value, str) and value.strip().casefold() == "unknown":
        return None
    if value is None or isinstance(value, bool):
        return value
    raise ValueError("must be true, false or unknown")


Finding = Annotated[
    bool | None,
    BeforeValidator(_unknown_is_none),
    WithJsonSchema({"anyOf": [
        {"enum": [True, False, None]},
        {"type": "string", "pattern": r"^\s*[Uu][Nn][Kk][Nn][Oo][Ww][Nn]\s*$"},
    ]}),
]
"""true = present, false = looked for and absent, unknown / left out = not documented."""


class BudapestCategory(Model):
    """One Budapest category: what the patient reports and what the examiner found."""

    symptom: Finding = Field(
        default=None, description="At least one symptom of this category reported by the patient."
    )
    sign: Finding = Field(
        default=None, description="At least one sign of this category seen at the evaluation."
    )
    notes: CleanName | None = Field(
        default=None, description="What was reported or seen, e.g. 'allodynia to light touch'."
    )


class CRPSCriteria(Model):
    """The Budapest clinical criteria for CRPS, as documented at one evaluation."""

    evaluated: IsoDate | None = Field(default=None, description="Date of the evaluation.")
    disproportionate_pain: Finding = Field(
        default=None, description="Continuing pain disproportionate to any inciting event."
    )
    sensory: BudapestCategory = Field(
        default_factory=BudapestCategory,
        description="Sensory: hyperesthesia or allodynia.",
    )
    vasomotor: BudapestCategory = Field(
        default_factory=BudapestCategory,
        description="Vasomotor: temperature or skin colour asymmetry or change.",
    )
    sudomotor_edema: BudapestCategory = Field(
        default_factory=BudapestCategory,
        description="Sudomotor/edema: edema, or sweating change or asymmetry.",
    )
    motor_trophic: BudapestCategory = Field(
        default_factory=BudapestCategory,
        description="Motor/trophic: decreased range of motion, motor dysfunction, trophic "
        "changes of hair, nail or skin.",
    )
    no_better_diagnosis: Finding = Field(
        default=None, description="No other diagnosis better explains the signs and symptoms."
    )
    source: CleanName | None = Field(
        default=None, description="Document the findings come from, e.g. 'Pain clinic note'."
    )

    def category(self, key: str) -> BudapestCategory:
        value = getattr(self, key)
        assert isinstance(value, BudapestCategory)
        return value
