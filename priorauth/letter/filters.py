"""Jinja filters available to every template (documented in docs/template-variables.md).

Kept small on purpose: user templates run in a sandbox and get exactly these plus Jinja's
built-in filters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from priorauth.reference import label


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


def weeks(value: float | None) -> str:
    """Format a duration in weeks: '12 wk', '3.4 wk'."""
    if value is None:
        return ""
    rounded = round(value, 1)
    return f"{rounded:g} wk"


def paragraphs(text: str | None) -> list[str]:
    """Split free text on blank lines; the template escapes each paragraph."""
    if not text:
        return []
    chunks = [" ".join(part.split()) for part in text.replace("\r\n", "\n").split("\n\n")]
    return [chunk for chunk in chunks if chunk]


def label_filter(value: Any, group: str) -> str:
    return label(group, value)


FILTERS: dict[str, Callable[..., Any]] = {
    "us_date": us_date,
    "long_date": long_date,
    "weeks": weeks,
    "paragraphs": paragraphs,
    "label": label_filter,
}
