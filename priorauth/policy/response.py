"""The measured response to a series of infusions, for continuation (re-authorization) letters.

Pure computation from ``case.continuation``: percent changes between the baseline and follow-up
measures, the series in the infusion log and the intervals between them, the weeks of relief,
serious adverse events. :func:`response_results` turns them into checklist criteria judged against
``reference/response-criteria.yaml`` (each threshold with its source), so ``check``,
``render --strict``, ``batch`` and the API agree: a record below the threshold is "not met" and
the letter never claims a response it lacks.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from dataclasses import dataclass
from typing import Any

from priorauth.case.infusions import Continuation, Measures
from priorauth.case.model import Case
from priorauth.errors import ReferenceDataError

DATA_FILE = "response-criteria.yaml"
SERIES_GAP_DAYS = 14
"""Infusions more than this many days apart belong to different series."""

MEASURE_LABELS = {
    "pain_nrs": "Average pain (0-10)",
    "headache_days_per_month": "Headache days a month",
    "migraine_days_per_month": "Migraine days a month",
    "midas": "MIDAS score",
    "hit6": "HIT-6 score",
    "acute_medication_days_per_month": "Acute-medication days a month",
}


@dataclass(frozen=True)
class MeasureChange:
    """One measure before and after the series (lower is better for every measure here)."""

    measure: str
    label: str
    before: float
    after: float

    @property
    def reduction_percent(self) -> float | None:
        """How much lower, in percent of the baseline (negative: worse); None from a zero
        baseline."""
        if self.before == 0:
            return None
        return round((self.before - self.after) / self.before * 100, 1)


@dataclass(frozen=True)
class Series:
    """Consecutive infusions no more than :data:`SERIES_GAP_DAYS` apart."""

    first: dt.date
    last: dt.date
    infusions: int


@dataclass(frozen=True)
class Indication:
    """The response rule for one indication, from the data file."""

    key: str
    label: str
    applies_to: tuple[str, ...]
    measure: str
    measure_label: str
    meaningful_percent: float
    substantial_percent: float | None
    source: str
    cite: str
    """Short attribution printed beside the threshold."""
    citation: str
    disability_measures: tuple[str, ...]


@dataclass(frozen=True)
class ResponseSummary:
    """Everything the continuation letter reports, computed from the log."""

    changes: tuple[MeasureChange, ...]
    series: tuple[Series, ...]
    intervals_days: tuple[int, ...]
    """Days from the last infusion of one series to the first of the next."""
    relief_weeks: float | None
    """Weeks from the last infusion to ``relief_until``; None when not documented."""
    serious_adverse_events: int
    infusions_given: int
    sessions_approved: int
    indication: Indication | None

    def change(self, measure: str) -> MeasureChange | None:
        return next((c for c in self.changes if c.measure == measure), None)

    @property
    def main_change(self) -> MeasureChange | None:
        """The change in the indication's response measure (what the threshold applies to)."""
        return self.change(self.indication.measure) if self.indication else None


@functools.cache
def indications() -> tuple[Indication, ...]:
    """The bundled response rules (a broken file is :class:`ReferenceDataError`, exit 70)."""
    from priorauth.reference import load_yaml

    try:
        data: Any = load_yaml(DATA_FILE)
        sources = data["sources"]
        found = []
        for key, item in data["indications"].items():
            found.append(Indication(
                key, str(item["label"]), tuple(str(p).upper() for p in item["applies_to"]),
                str(item["measure"]), str(item["measure_label"]),
                float(item["meaningful_percent"]),
                None if item.get("substantial_percent") is None
                else float(item["substantial_percent"]),
                str(item["source"]), str(item["cite"]),
                " ".join(str(sources[item["source"]]).split()),
                tuple(str(m) for m in item.get("disability_measures") or ())))
            if found[-1].measure not in MEASURE_LABELS:
                raise ValueError(f"unknown measure {found[-1].measure!r}")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ReferenceDataError(f"bundled {DATA_FILE} is malformed ({exc})") from None
    return tuple(found)


def indication_for(code: str) -> Indication | None:
    """The response rule for a primary diagnosis code (by ICD-10-CM prefix), or None."""
    code = code.upper()
    return next((i for i in indications() if any(code.startswith(p) for p in i.applies_to)),
                None)


def measure_changes(baseline: Measures, follow_up: Measures) -> tuple[MeasureChange, ...]:
    """Every measure recorded both before and after."""
    changes = []
    for measure, label in MEASURE_LABELS.items():
        before, after = getattr(baseline, measure), getattr(follow_up, measure)
        if before is not None and after is not None:
            changes.append(MeasureChange(measure, label, float(before), float(after)))
    return tuple(changes)


def split_series(dates: list[dt.date]) -> tuple[Series, ...]:
    """Group sorted infusion dates into series (a gap over :data:`SERIES_GAP_DAYS` starts one)."""
    series: list[Series] = []
    start = previous = dates[0]
    count = 0
    for day in dates:
        if (day - previous).days > SERIES_GAP_DAYS:
            series.append(Series(start, previous, count))
            start, count = day, 0
        count += 1
        previous = day
    series.append(Series(start, previous, count))
    return tuple(series)


def summarize(continuation: Continuation, primary_code: str) -> ResponseSummary:
    """The measured response of one continuation record."""
    dates = [infusion.date for infusion in continuation.infusions]
    series = split_series(dates)
    intervals = tuple((b.first - a.last).days for a, b in itertools.pairwise(series))
    relief = None
    if continuation.relief_until is not None:
        relief = round((continuation.relief_until - dates[-1]).days / 7, 1)
    return ResponseSummary(
        changes=measure_changes(continuation.baseline, continuation.follow_up),
        series=series, intervals_days=intervals, relief_weeks=relief,
        serious_adverse_events=sum(i.serious_adverse_event for i in continuation.infusions),
        infusions_given=len(continuation.infusions),
        sessions_approved=continuation.authorization.sessions_approved,
        indication=indication_for(primary_code))


def case_summary(case: Case) -> ResponseSummary | None:
    """The response summary of a continuation case (None for other letters)."""
    if case.continuation is None:
        return None
    return summarize(case.continuation, case.primary_diagnosis.code)
