"""The Budapest clinical criteria for CRPS as a policy criterion (``budapest: clinical``).

Met only when the record shows every part: disproportionate pain, symptoms in enough categories,
signs in enough categories, no better diagnosis. A part left unknown makes the whole unknown and
the checklist names the ``crps.`` field to fill; a part recorded false makes it not met.
Thresholds and category wording: ``reference/crps-budapest.yaml`` (Harden 2010; Harden 2022).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from priorauth.case.crps import CATEGORIES, CRPSCriteria
from priorauth.case.model import Case
from priorauth.errors import ReferenceDataError
from priorauth.reference import load_yaml

MET, NOT_MET, UNKNOWN = "met", "not met", "unknown"
_RANK = {MET: 2, UNKNOWN: 1, NOT_MET: 0}


@dataclass(frozen=True)
class CategoryRow:
    """One row of the letter's table: a category, its symptom and sign as recorded."""

    key: str
    label: str
    covers: str
    symptom: bool | None
    sign: bool | None
    notes: str | None


@dataclass(frozen=True)
class BudapestAssessment:
    """The criteria applied to one record: each part with its verdict and the fields to fill."""

    verdict: str
    """'met', 'not met' or 'unknown'."""
    rows: tuple[CategoryRow, ...]
    """The four categories, in the criteria's order."""
    symptoms: int
    """Categories with a symptom reported (true)."""
    signs: int
    """Categories with a sign at evaluation (true)."""
    min_symptoms: int
    min_signs: int
    parts: tuple[tuple[str, str, str], ...]
    """(verdict, plain sentence, field to fill or '') for each of the four parts."""
    source: str

    @property
    def to_fill(self) -> list[str]:
        return [field for verdict, _, field in self.parts if field and verdict != MET]


def config() -> dict[str, Any]:
    data = load_yaml("crps-budapest.yaml")
    if not isinstance(data, dict) or set(data.get("categories") or {}) != set(CATEGORIES):
        raise ReferenceDataError("crps-budapest.yaml: needs the four categories "
                                 f"({', '.join(CATEGORIES)}), thresholds and a source")
    return data


def _yes_no(value: bool | None, field: str, yes: str, no: str) -> tuple[str, str, str]:
    if value is None:
        return UNKNOWN, f"{yes}: not documented", field
    return (MET, yes, "") if value else (NOT_MET, no, "")


def _count_part(found: int, unknown: list[str], need: int,
                what: str) -> tuple[str, str, str]:
    text = f"{what} in {found} of {len(CATEGORIES)} categories (at least {need} needed)"
    if found >= need:
        return MET, text, ""
    if found + len(unknown) >= need:
        return UNKNOWN, f"{text}; not documented: {', '.join(unknown)}", unknown[0]
    return NOT_MET, text, ""


def assess(criteria: CRPSCriteria) -> BudapestAssessment:
    data = config()
    labels = data["categories"]
    rows = tuple(CategoryRow(key, str(labels[key]["label"]), str(labels[key]["covers"]),
                             criteria.category(key).symptom, criteria.category(key).sign,
                             criteria.category(key).notes) for key in CATEGORIES)
    need_symptoms, need_signs = int(data["min_symptom_categories"]), int(
        data["min_sign_categories"])
    symptoms = sum(row.symptom is True for row in rows)
    signs = sum(row.sign is True for row in rows)
    parts = (
        _yes_no(criteria.disproportionate_pain, "crps.disproportionate_pain",
                "continuing pain disproportionate to any inciting event",
                "pain recorded as not disproportionate to the inciting event"),
        _count_part(symptoms, [f"crps.{r.key}.symptom" for r in rows if r.symptom is None],
                    need_symptoms, "symptoms reported"),
        _count_part(signs, [f"crps.{r.key}.sign" for r in rows if r.sign is None],
                    need_signs, "signs at evaluation"),
        _yes_no(criteria.no_better_diagnosis, "crps.no_better_diagnosis",
                "no other diagnosis better explains the signs and symptoms",
                "another diagnosis recorded as possibly explaining the signs and symptoms"),
    )
    verdict = min((part[0] for part in parts), key=_RANK.__getitem__)
    return BudapestAssessment(verdict, rows, symptoms, signs, need_symptoms, need_signs, parts,
                              str(data["source"]))


def assess_case(case: Case) -> BudapestAssessment | None:
    return assess(case.crps) if case.crps is not None else None
