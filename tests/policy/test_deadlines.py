"""Appeal deadlines (issue 13.4): each plan type's dates, checked by hand against the regulation
text quoted in reference/deadlines.yaml, the unknown plan type, and properties of the arithmetic."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from priorauth.case.plan import PlanType
from priorauth.cli import main
from priorauth.policy.deadlines import add_months, appeal_deadlines, due_date
from priorauth.reference import load_yaml
from tests.conftest import SAMPLES

DENIAL = dt.date(2026, 12, 4)
SENT = dt.date(2026, 12, 18)


def by_label(plan: str, **kwargs: dt.date) -> dict[str, dt.date | None]:
    report = appeal_deadlines(plan, DENIAL, received=SENT, **kwargs)
    return {d.label: d.due for d in report.deadlines}


def test_erisa_dates_by_hand() -> None:
    # 180 days after 2026-12-04: 27 left in Dec, +31 +28 +31 +30 +31 = 178 on May 31, so June 2.
    dates = by_label("erisa", final_decision=dt.date(2027, 1, 10))
    assert dates["Internal appeal: file by"] == dt.date(2027, 6, 2)
    assert dates["Internal appeal: standard decision"] == dt.date(2027, 1, 17)  # 30 days
    assert dates["Internal appeal: expedited decision"] == dt.date(2026, 12, 21)  # 72 hours
    assert dates["External review: file by"] == dt.date(2027, 5, 10)  # four months
    assert dates["External review: standard decision"] is None  # not requested yet


def test_fully_insured_and_individual_leave_the_state_window_as_text() -> None:
    for plan in ("fully_insured_group", "aca_individual"):
        report = appeal_deadlines(plan, DENIAL, received=SENT)
        assert report.deadlines[0].due == dt.date(2027, 6, 2)
        external = [d for d in report.deadlines if d.clock.step == "external_review"]
        assert [d.due for d in external] == [None]
        assert "read the final appeal decision notice" in external[0].text


def test_medicare_advantage() -> None:
    report = appeal_deadlines("medicare_advantage", DENIAL, received=SENT)
    dates = {d.label: d.due for d in report.deadlines}
    # The filing window could not be confirmed in the regulation's current text: no date.
    assert dates["Internal appeal: file by"] is None
    assert any("42 CFR 422.582(b)" in line and "computes no date" in line
               for line in report.lines)
    assert dates["Internal appeal: standard decision"] == dt.date(2027, 1, 17)
    assert any("Independent Review Entity" in line for line in report.lines)
    assert any("CMS-0057-F" in line and "do not apply to drugs" in line for line in report.lines)


def test_medicaid_managed_care() -> None:
    report = appeal_deadlines("medicaid_managed_care", DENIAL, received=SENT,
                              final_decision=dt.date(2027, 1, 5))
    dates = {d.label: d.due for d in report.deadlines}
    assert dates["Internal appeal: file by"] == dt.date(2027, 2, 2)
    assert dates["Internal appeal: expedited decision"] == dt.date(2026, 12, 21)
    assert dates["State fair hearing: file by"] == dt.date(2027, 5, 5)  # 120 days
    assert any("42 CFR 438.408(f)(2)" in line for line in report.lines)


@pytest.mark.parametrize("plan", ["unknown", "other"])
def test_unknown_plan_type_computes_nothing(plan: str) -> None:
    report = appeal_deadlines(plan, DENIAL, received=SENT)
    assert not report.known and report.dated == []
    assert len(report.lines) == 1 and "Read the denial notice" in report.lines[0]


def test_every_clock_cites_a_regulation_and_a_checked_source() -> None:
    data = load_yaml("deadlines.yaml")
    for plan in PlanType:
        assert plan.value in data["plan_types"]
        for deadline in appeal_deadlines(plan, DENIAL).deadlines:
            assert "CFR" in deadline.clock.rule
            assert deadline.clock.source in data["sources"]


def test_four_months_with_no_corresponding_day() -> None:
    # "If there is no corresponding date four months after ... the first day of the fifth month"
    assert add_months(dt.date(2026, 10, 31), 4) == dt.date(2027, 3, 1)
    assert add_months(dt.date(2027, 10, 31), 4) == dt.date(2028, 3, 1)
    assert add_months(dt.date(2027, 10, 29), 4) == dt.date(2028, 2, 29)
    assert add_months(dt.date(2026, 8, 31), 4) == dt.date(2026, 12, 31)
    assert add_months(dt.date(2026, 9, 30), 4) == dt.date(2027, 1, 30)


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2190, 12, 31)),
       st.integers(min_value=1, max_value=24))
def test_add_months_properties(start: dt.date, months: int) -> None:
    end = add_months(start, months)
    assert end > start
    index = start.year * 12 + start.month - 1 + months
    if end.day == start.day:
        assert end.year * 12 + end.month - 1 == index
    else:  # no such day: the first of the next month
        assert end.day == 1 and end.year * 12 + end.month - 1 == index + 1


@given(st.sampled_from(list(PlanType)),
       st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2190, 12, 31)),
       st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2190, 12, 31)))
def test_deadlines_never_before_their_start(plan: PlanType, denial: dt.date,
                                            sent: dt.date) -> None:
    report = appeal_deadlines(plan, denial, received=sent, final_decision=sent)
    for deadline in report.deadlines:
        if deadline.due is not None:
            assert deadline.start_date is not None and deadline.due > deadline.start_date
            assert deadline.due == due_date(deadline.clock, deadline.start_date)
    assert report.lines


def _appeal_case(tmp_path: Path, plan_type: str | None) -> Path:
    data = yaml.safe_load((SAMPLES / "appeal.yaml").read_text())
    if plan_type is None:
        data["payer"].pop("plan_type", None)
    else:
        data["payer"]["plan_type"] = plan_type
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_check_prints_the_deadlines_as_dates(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(_appeal_case(tmp_path, "erisa"))])
    assert result.exit_code == 0, result.output
    assert "Internal appeal: file by 2027-06-02" in result.output
    assert "29 CFR 2560.503-1(h)(3)(i)" in result.output


def test_check_unknown_plan_type_tells_staff_to_read_the_notice(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(_appeal_case(tmp_path, None))])
    assert result.exit_code == 0, result.output
    assert "Read the denial notice" in result.output
    assert "file by 20" not in result.output


def test_bad_plan_type_names_the_field(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(_appeal_case(tmp_path, "hmo"))])
    assert result.exit_code == 2
    assert "payer.plan_type" in result.output and "Traceback" not in result.output


def test_fax_cover_prints_the_deadlines(tmp_path: Path) -> None:
    from tests.conftest import pdf_pages

    out = tmp_path / "appeal.pdf"
    case = _appeal_case(tmp_path, "medicaid_managed_care")
    result = CliRunner().invoke(main, ["render", str(case), "--fax-cover", "-o", str(out)])
    assert result.exit_code == 0, result.output
    cover = pdf_pages(out.read_bytes())[0]
    assert "Appeal deadlines" in cover and "Medicaid managed care" in cover
    assert "file by 2027-02-02" in cover and "42 CFR 438.402(c)(2)(ii)" in cover
