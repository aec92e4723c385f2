"""The kind of health plan: it decides which appeal deadlines apply (priorauth/policy/deadlines.py).

Kept apart from model.py (shared, already long); ``Payer.plan_type`` hangs it on the case.
:class:`SentLetter` is the part of a case the tracking ledger may record (``render --track``,
``batch --track``); it lives here so the batch can carry it without importing the ledger.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class PlanType(StrEnum):
    """Which rules govern appeals: ERISA, the ACA's 45 CFR 147.136, Medicare Part C or Medicaid
    managed care. ``unknown`` (the default) computes no date: staff read the denial notice."""

    erisa = "erisa"
    """Employer plan under ERISA that pays its own claims (self-funded)."""
    fully_insured_group = "fully_insured_group"
    aca_individual = "aca_individual"
    medicare_advantage = "medicare_advantage"
    medicaid_managed_care = "medicaid_managed_care"
    other = "other"
    unknown = "unknown"


@dataclass(frozen=True)
class SentLetter:
    """What the tracking ledger may keep about a letter: its case id, kind, date, payer,
    references and plan type (no name, member id, diagnosis or words of the denial)."""

    case_id: str | None
    kind: str
    date: dt.date
    payer: str
    payer_reference: str | None
    plan_type: PlanType
    denial_date: dt.date | None = None
    denial_reference: str | None = None
    expedited: bool = False

    @classmethod
    def from_case(cls, case: Any) -> SentLetter:
        letter, denial = case.letter, case.letter.denial
        return cls(case_id=case.id, kind=letter.kind.value, date=letter.date,
                   payer=case.payer.name, payer_reference=letter.reference,
                   plan_type=case.payer.plan_type,
                   denial_date=denial.date if denial else None,
                   denial_reference=denial.reference if denial else None,
                   expedited=letter.urgency.value == "expedited")
