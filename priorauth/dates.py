"""Dates as letters and checklists print them, and durations between two dates.

Below every layer that words a fact (the policy checklist, the letter context, the template
filters), so none of them imports another to format a date."""

from __future__ import annotations

import datetime as dt


def us_date(value: dt.date | None) -> str:
    """03/14/2024 — the form US payers use for DOB and service dates."""
    return value.strftime("%m/%d/%Y") if value else ""


def long_date(value: dt.date | None) -> str:
    """November 20, 2026 — for the letter date."""
    return f"{value:%B} {value.day}, {value.year}" if value else ""


def weeks_between(start: dt.date | None, end: dt.date | None) -> float | None:
    """Whole-day duration in weeks, or None when a date is missing."""
    if start is None or end is None:
        return None
    return (end - start).days / 7
