"""Values exactly as typed: YAML's silent coercions must not change the record (issue 12.6).
Identifiers and free text stay the text typed; dates only from YYYY-MM-DD; true/false is not a
number; NaN and infinity are refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import priorauth
from tests.conftest import SAMPLES, yaml_problems

TEXT = (SAMPLES / "chronic-migraine-with-aura.yaml").read_text("utf-8")


def _with(old: str, new: str) -> str:
    assert old in TEXT, old
    return TEXT.replace(old, new, 1)


_problems = yaml_problems


def test_identifiers_keep_what_was_typed() -> None:
    case = priorauth.parse_case(_with("group_number: \"GRP-00991\"", "group_number: 0012.30")
                                .replace("reference: PA-2026-0113", "reference: 12:34:56.7", 1),
                                format="yaml")
    assert case.patient.group_number == "0012.30"
    assert case.letter.reference == "12:34:56.7"


@pytest.mark.parametrize("value", ["0", "1700000000", "'1700000000'", "2026-11-20 10:00:00",
                                   "20261120", "11/20/2026"])
def test_dates_only_from_iso_text(value: str) -> None:
    problems = _problems(_with("date_of_birth: 1988-04-17", f"date_of_birth: {value}"))
    assert problems.get("patient.date_of_birth", "").startswith("must be a date written YYYY-MM-DD")


@pytest.mark.parametrize("field, old", [("requested.sessions", "sessions: 5"),
                                         ("burden.midas", "midas: 96")])
def test_booleans_are_not_numbers(field: str, old: str) -> None:
    name = old.split(":")[0]
    assert _problems(_with(old, f"{name}: true")).get(field) == "must be a number, not true/false"


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "1e400", "inf", "NaN"])
def test_nan_and_infinity_are_refused(value: str) -> None:
    problems = _problems(_with("headache_days_per_month: 24", f"headache_days_per_month: {value}"))
    assert "burden.headache_days_per_month" in problems


@settings(max_examples=150, deadline=None)
@given(st.from_regex(r"[0-9][0-9.:_eE+-]{0,14}", fullmatch=True))
def test_any_number_like_identifier_round_trips(typed: str) -> None:
    """Whatever digits, dots, colons or exponents an id holds, the case keeps it as typed."""
    text = _with("member_id: \"XQZ000123456\"", f"member_id: {typed}")
    try:
        case = priorauth.parse_case(text, format="yaml")
    except priorauth.CaseInvalid:
        return  # e.g. a value YAML reads as a date is refused, never changed
    assert case.patient.member_id == typed
