"""The case model: what is accepted, what is refused, and the cross-field rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from priorauth import CaseInvalid, parse_case
from priorauth.case.fields import luhn_ok
from tests.conftest import VALID_SAMPLES

SampleData = Callable[[str], dict[str, Any]]


def problems(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(CaseInvalid) as info:
        parse_case(data)
    return {p.path: p.message for p in info.value.problems}


@pytest.mark.parametrize("path", VALID_SAMPLES, ids=lambda p: p.stem)
def test_every_sample_is_valid(path: Any) -> None:
    from priorauth import load_case

    case = load_case(path)
    assert case.prior_therapies and case.primary_diagnosis


def test_npi_check_digit(sample_data: SampleData) -> None:
    data = sample_data()
    data["provider"]["npi"] = "1234567890"
    assert "check digit" in problems(data)["provider.npi"]
    data["provider"]["npi"] = "123456789"
    assert "10 digits" in problems(data)["provider.npi"]


def _npi_with_check_digit(body: str) -> str:
    return next(body + d for d in "0123456789" if luhn_ok("80840" + body + d))


@given(st.from_regex(r"[12][0-9]{8}", fullmatch=True))
def test_npi_luhn_property(body: str) -> None:
    """Exactly one check digit makes a valid NPI; changing any single digit breaks it."""
    npi = _npi_with_check_digit(body)
    assert sum(luhn_ok("80840" + body + d) for d in "0123456789") == 1
    for i in range(1, 10):
        changed = npi[:i] + str((int(npi[i]) + 1) % 10) + npi[i + 1:]
        assert not luhn_ok("80840" + changed)


def test_icd_code_shape_and_normalisation(sample_data: SampleData) -> None:
    data = sample_data()
    data["diagnoses"][0]["code"] = "g43e19"
    case = parse_case(data)
    assert case.diagnoses[0].code == "G43.E19"
    data["diagnoses"][0]["code"] = "G43-719"
    assert "ICD-10-CM" in problems(data)["diagnoses[0].code"]


def test_end_before_start_names_the_end_field(sample_data: SampleData) -> None:
    data = sample_data()
    data["prior_therapies"][2]["end"] = dt.date(2000, 1, 1)
    assert problems(data)["prior_therapies[2].end"].startswith("must not be before start")


def test_dates_after_the_letter_are_refused(sample_data: SampleData) -> None:
    data = sample_data()
    data["prior_therapies"][0]["end"] = dt.date(2027, 1, 1)
    data["screening"]["date"] = dt.date(2026, 12, 1)
    found = problems(data)
    assert "after the letter date (letter.date)" in found["prior_therapies[0].end"]
    assert "2027" not in found["prior_therapies[0].end"]  # dates are PHI: never echoed
    assert "after the letter date" in found["screening.date"]


def test_requested_start_may_follow_the_letter(sample_data: SampleData) -> None:
    data = sample_data()
    data["requested"]["start"] = dt.date(2027, 3, 1)
    assert parse_case(data).requested.start == dt.date(2027, 3, 1)


def test_dates_before_birth_are_refused(sample_data: SampleData) -> None:
    data = sample_data()
    data["prior_therapies"][0]["start"] = dt.date(1980, 1, 1)
    assert "date of birth" in problems(data)["prior_therapies[0].start"]


def test_at_least_one_prior_therapy(sample_data: SampleData) -> None:
    data = sample_data()
    data["prior_therapies"] = []
    assert "at least 1" in problems(data)["prior_therapies"]


def test_exactly_one_primary_diagnosis(sample_data: SampleData) -> None:
    data = sample_data()
    data["diagnoses"].append({"code": "G89.4"})
    data["diagnoses"][0]["primary"] = False
    assert "exactly one" in problems(data)["diagnoses"]
    data["diagnoses"] = [{"code": "G43.719"}]  # a single diagnosis is the primary one
    assert parse_case(data).primary_diagnosis.code == "G43.719"


def test_contraindicated_therapy_needs_no_dates(sample_data: SampleData) -> None:
    data = sample_data()
    data["prior_therapies"].append({"name": "propranolol", "role": "preventive",
                                    "outcome": "contraindication", "details": "asthma"})
    assert parse_case(data).prior_therapies[-1].start is None
    data["prior_therapies"][-1]["outcome"] = "intolerance"
    assert "start is required" not in str(problems(data))
    assert "is required" in problems(data)["prior_therapies[11].start"]


def test_unknown_fields_are_errors_with_a_suggestion(sample_data: SampleData) -> None:
    data = sample_data()
    data["patient"]["date_of_brith"] = "1990-01-01"
    assert "did you mean 'date_of_birth'" in problems(data)["patient.date_of_brith"]


def test_migraine_days_cannot_exceed_headache_days(sample_data: SampleData) -> None:
    data = sample_data()
    data["burden"]["migraine_days_per_month"] = 30
    assert "cannot exceed" in problems(data)["burden.migraine_days_per_month"]


def test_nan_and_out_of_range_scores(sample_data: SampleData) -> None:
    data = sample_data()
    data["burden"]["hit6"] = 90
    data["burden"]["headache_days_per_month"] = float("nan")
    found = problems(data)
    assert found["burden.hit6"] == "must be at most 78"
    assert "finite" in found["burden.headache_days_per_month"]
