"""The kind of health plan: it decides which appeal deadlines apply (priorauth/policy/deadlines.py).

Kept apart from model.py (shared, already long); ``Payer.plan_type`` hangs it on the case.
"""

from __future__ import annotations

from enum import StrEnum


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
