"""Checklist criteria of a continuation request: a measured response at or above the threshold of
the indication's source, no serious adverse event, and a documented interval (weeks of relief or
the gap between series). Added to the policy's own criteria by :func:`check_case` when
``letter.kind`` is ``continuation``, so every command judges them the same way."""

from __future__ import annotations

from priorauth.case.model import Case
from priorauth.policy.response import ResponseSummary, case_summary
from priorauth.policy.results import CriterionResult, Fact, Verdict


def _pct(value: float | None) -> str:
    return "n/a (baseline 0)" if value is None else f"{value:g}%"


def _number(value: float) -> str:
    return f"{value:g}"


def response_result(summary: ResponseSummary) -> CriterionResult:
    rule = summary.indication
    if rule is None:
        return CriterionResult(
            "response", "Measured response to the infusions", Verdict.unknown,
            "no response criteria are bundled for the primary diagnosis",
            fields=("diagnoses",))
    substantial = (f"; at least {rule.substantial_percent:g}% is substantial"
                   if rule.substantial_percent else "")
    label = (f"Response: {rule.measure_label} at least {rule.meaningful_percent:g}% lower after "
             f"the series{substantial} ({rule.cite})")
    change = summary.change(rule.measure)
    if change is None:
        return CriterionResult(
            "response", label, Verdict.unknown,
            f"{rule.measure_label} is not recorded both before and after the series",
            fields=(f"continuation.baseline.{rule.measure}",
                    f"continuation.follow_up.{rule.measure}"))
    reduction = change.reduction_percent
    fact = Fact(f"{change.label}: {_number(change.before)} before, {_number(change.after)} after "
                f"({_pct(reduction)} lower)", counted=reduction is not None
                and reduction >= rule.meaningful_percent)
    if reduction is not None and reduction >= rule.meaningful_percent:
        return CriterionResult("response", label, Verdict.met, fact.text, (fact,))
    facts = [fact]
    improved = []
    for measure in rule.disability_measures:
        other = summary.change(measure)
        if other is not None:
            facts.append(Fact(f"{other.label}: {_number(other.before)} before, "
                              f"{_number(other.after)} after", None))
            if other.after < other.before:
                improved.append(other.label)
    if improved:
        return CriterionResult(
            "response", label, Verdict.unknown,
            f"{change.label} fell by less than {rule.meaningful_percent:g}%; "
            f"{', '.join(improved)} improved, but priorauth encodes no threshold for a "
            "clinically meaningful change: the clinician must document why it is meaningful",
            tuple(facts), fields=("continuation.follow_up.function",))
    return CriterionResult(
        "response", label, Verdict.not_met,
        f"{change.label} fell by {_pct(reduction)}, less than {rule.meaningful_percent:g}%",
        tuple(facts), fields=(f"continuation.follow_up.{rule.measure}",))


def safety_result(summary: ResponseSummary) -> CriterionResult:
    label = "No serious adverse event during the series"
    if summary.serious_adverse_events:
        return CriterionResult(
            "safety", label, Verdict.not_met,
            f"{summary.serious_adverse_events} infusion(s) recorded with a serious adverse event",
            fields=("continuation.infusions",))
    return CriterionResult("safety", label, Verdict.met,
                           f"{summary.infusions_given} infusions, none with a serious adverse "
                           "event recorded")


def interval_result(summary: ResponseSummary) -> CriterionResult:
    label = "Interval documented (weeks of relief, or the gap between series)"
    parts = []
    if summary.relief_weeks is not None:
        parts.append(f"relief lasted {summary.relief_weeks:g} weeks after the last infusion")
    if summary.intervals_days:
        parts.append("series " + ", ".join(f"{days} days apart"
                                           for days in summary.intervals_days))
    if parts:
        return CriterionResult("interval", label, Verdict.met, "; ".join(parts))
    return CriterionResult("interval", label, Verdict.unknown,
                           "neither the end of relief nor a previous series is recorded",
                           fields=("continuation.relief_until",))


def continuation_results(case: Case) -> list[CriterionResult]:
    """The continuation criteria for ``case`` (empty unless it is a continuation letter)."""
    summary = case_summary(case)
    if summary is None:
        return []
    return [response_result(summary), safety_result(summary), interval_result(summary)]
