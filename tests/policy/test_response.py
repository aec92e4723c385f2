"""Continuation letters: the response computed from the infusion log (checked by hand against
the samples) and judged against the thresholds in reference/response-criteria.yaml."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from priorauth.case.parse import case_from_data
from priorauth.cli import main
from priorauth.errors import CaseInvalid
from priorauth.policy.checks import CheckReport, CriterionResult, Verdict, check_case
from priorauth.policy.response import (
    SERIES_GAP_DAYS,
    MeasureChange,
    case_summary,
    indication_for,
    split_series,
)
from tests.conftest import SAMPLES, pdf_pages

MEETS = SAMPLES / "continuation-migraine.yaml"
BELOW = SAMPLES / "continuation-below-threshold.yaml"


def data(path: Any = MEETS) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text("utf-8"))
    return copy.deepcopy(loaded)


def result(report: CheckReport, criterion: str) -> CriterionResult:
    return next(r for r in report.results if r.id == criterion)


def test_the_meeting_sample_by_hand() -> None:
    summary = case_summary(case_from_data(data()))
    assert summary is not None
    changes = {c.measure: (c.before, c.after, c.reduction_percent) for c in summary.changes}
    assert changes["headache_days_per_month"] == (24, 10, 58.3)  # 14/24 = 0.5833
    assert changes["migraine_days_per_month"] == (18, 7, 61.1)   # 11/18 = 0.6111
    assert changes["midas"] == (96, 40, 58.3)                    # 56/96 = 0.5833
    assert changes["hit6"] == (68, 60, 11.8)                     # 8/68 = 0.1176
    assert changes["acute_medication_days_per_month"] == (14, 5, 64.3)  # 9/14 = 0.6429
    assert summary.relief_weeks == 10  # 2026-12-11 -> 2027-02-19 = 70 days
    assert [(s.first, s.last, s.infusions) for s in summary.series] == [
        (dt.date(2026, 12, 7), dt.date(2026, 12, 11), 5)]
    assert summary.intervals_days == () and summary.serious_adverse_events == 0
    report = check_case(case_from_data(data()))
    assert [result(report, c).verdict for c in ("response", "safety", "interval")] == [
        Verdict.met] * 3
    assert report.all_met


def test_below_threshold_is_not_met_and_check_says_why() -> None:
    report = check_case(case_from_data(data(BELOW)))
    response = result(report, "response")
    assert response.verdict is Verdict.not_met
    assert "fell by 25%, less than 50%" in response.summary  # 24 -> 18 = 6/24
    assert result(report, "interval").verdict is Verdict.unknown
    out = CliRunner().invoke(main, ["check", str(BELOW)])
    assert out.exit_code == 1
    assert "response [not met]: continuation.follow_up.headache_days_per_month" in out.output
    assert "interval [unknown]: continuation.relief_until" in out.output


def test_render_strict_refuses_below_threshold(tmp_path: Any) -> None:
    out = CliRunner().invoke(main, ["render", str(BELOW), "--strict", "-o",
                                    str(tmp_path / "x.pdf")])
    assert out.exit_code == 1 and not (tmp_path / "x.pdf").exists()


def test_the_letter_claims_a_response_only_when_met(tmp_path: Any) -> None:
    runner = CliRunner()
    for path, claims in ((MEETS, True), (BELOW, False)):
        target = tmp_path / f"{path.stem}.pdf"
        assert runner.invoke(main, ["render", str(path), "-o", str(target)]).exit_code == 0
        text = " ".join(pdf_pages(target.read_bytes()))
        assert ("meets the threshold for a meaningful response" in text) is claims
        assert "Request for continued authorization" in text
        assert "AUTH-2026-55120: 5 sessions approved through 01/31/2027" in text
    text = " ".join(pdf_pages((tmp_path / "continuation-migraine.pdf").read_bytes()))
    assert "monthly headache days fell from 24 to 10 (58.3% lower)" in text
    assert "10 weeks after the last infusion" in text


def test_disability_improvement_without_a_threshold_is_unknown() -> None:
    record = data(BELOW)
    record["continuation"]["follow_up"]["midas"] = 60  # improved, but no encoded threshold
    response = result(check_case(case_from_data(record)), "response")
    assert response.verdict is Verdict.unknown
    assert "encodes no threshold" in response.summary


def test_crps_uses_the_immpact_threshold() -> None:
    rule = indication_for("G90.511")
    assert rule is not None and rule.measure == "pain_nrs"
    assert (rule.meaningful_percent, rule.substantial_percent) == (30, 50)


def test_a_serious_adverse_event_is_not_met() -> None:
    record = data()
    record["continuation"]["infusions"][2]["serious_adverse_event"] = True
    assert result(check_case(case_from_data(record)), "safety").verdict is Verdict.not_met


@pytest.mark.parametrize(("where", "value", "path"), [
    (("follow_up", "date"), "2026-12-01", "continuation.follow_up.date"),
    (("baseline", "date"), "2026-12-09", "continuation.baseline.date"),
    (("relief_until",), "2026-12-01", "continuation.relief_until"),
])
def test_dates_out_of_order_are_refused(where: tuple[str, ...], value: str, path: str) -> None:
    record = data()
    target = record["continuation"]
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    with pytest.raises(CaseInvalid) as info:
        case_from_data(record)
    assert path in [p.path for p in info.value.problems]


def test_a_continuation_letter_needs_the_section() -> None:
    record = data()
    del record["continuation"]
    with pytest.raises(CaseInvalid) as info:
        case_from_data(record)
    assert "continuation" in [p.path for p in info.value.problems]


def test_series_and_intervals() -> None:
    days = [dt.date(2026, 1, d) for d in (5, 6, 7)] + [dt.date(2026, 3, d) for d in (1, 2)]
    series = split_series(days)
    assert [(s.first.day, s.last.day, s.infusions) for s in series] == [(5, 7, 3), (1, 2, 2)]
    record = data()
    record["continuation"]["infusions"] += [
        {**record["continuation"]["infusions"][0], "date": "2027-02-01"}]
    record["continuation"]["follow_up"]["date"] = "2027-03-05"
    summary = case_summary(case_from_data(record))
    assert summary is not None and summary.intervals_days == (52,)  # Dec 11 -> Feb 1


@given(st.lists(st.dates(dt.date(2020, 1, 1), dt.date(2030, 1, 1)), min_size=1, max_size=40))
def test_series_cover_every_infusion(days: list[dt.date]) -> None:
    days.sort()
    series = split_series(days)
    assert sum(s.infusions for s in series) == len(days)
    assert all((b.first - a.last).days > SERIES_GAP_DAYS for a, b in itertools.pairwise(series))


@given(st.floats(0, 31), st.floats(0, 31))
def test_reduction_is_bounded_and_signed(before: float, after: float) -> None:
    percent = MeasureChange("x", "x", before, after).reduction_percent
    if before == 0:
        assert percent is None
    else:
        assert percent is not None and percent <= 100
        assert (percent > 0) == (after < before) or abs(before - after) / before < 0.0005


def test_the_fax_cover_names_a_continuation(tmp_path: Any) -> None:
    target = tmp_path / "c.pdf"
    out = CliRunner().invoke(main, ["render", str(MEETS), "--fax-cover", "-o", str(target)])
    assert out.exit_code == 0, out.output
    cover = pdf_pages(target.read_bytes())[0]
    assert "Request for continued authorization" in cover
    assert "Request for prior authorization" not in cover
