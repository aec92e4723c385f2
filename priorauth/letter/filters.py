"""Jinja filters available to every template (documented in docs/template-variables.md).

Kept small on purpose: user templates run in a sandbox and get exactly these plus Jinja's
built-in filters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from priorauth.dates import long_date, us_date, weeks_between
from priorauth.reference import label

__all__ = ["FILTERS", "long_date", "paragraphs", "us_date", "weeks", "weeks_between"]


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
