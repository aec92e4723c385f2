"""Attacks on the crps: and requested.regimen sections: findings are true, false or unknown and
nothing else; numbers stay numbers; record text in the Budapest and consensus tables is escaped."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import priorauth
from priorauth.case.parse import case_from_data
from tests.conftest import SAMPLES, yaml_problems

TEXT = (SAMPLES / "crps.yaml").read_text("utf-8")


def _with(old: str, new: str) -> str:
    assert old in TEXT, old
    return TEXT.replace(old, new, 1)


_problems = yaml_problems


@pytest.mark.parametrize("value", ["1", "0", "'yes'", "'true'", "maybe", "[true]", "{a: 1}",
                                   "2026-10-30"])
def test_a_finding_is_true_false_or_unknown(value: str) -> None:
    problems = _problems(_with("sudomotor_edema: {symptom: true,",
                               f"sudomotor_edema: {{symptom: {value},"))
    assert "crps.sudomotor_edema.symptom" in problems, problems


@pytest.mark.parametrize("value", ["unknown", "Unknown", "' unknown '", "null", "~"])
def test_unknown_is_unknown(value: str) -> None:
    case = priorauth.parse_case(_with("no_better_diagnosis: true",
                                      f"no_better_diagnosis: {value}"), format="yaml")
    assert case.crps is not None and case.crps.no_better_diagnosis is None


@pytest.mark.parametrize(("value", "message"), [
    ("true", "must be a number, not true/false"), (".nan", "finite"), ("1e9", "at most"),
    ("-0.35", "must be more than 0"), ("0", "must be more than 0")])
def test_regimen_rate_is_a_plain_number(value: str, message: str) -> None:
    problems = _problems(_with("regimen: {rate: 0.35,", f"regimen: {{rate: {value},"))
    assert message in problems.get("requested.regimen.rate", ""), problems


def test_unknown_regimen_unit_and_extra_fields_refused() -> None:
    assert "requested.regimen.unit" in _problems(_with("unit: mg/kg/h", "unit: mg/kg/min"))
    assert "crps.sensory.color" in _problems(_with("sensory: {symptom: true,",
                                                   "sensory: {color: red, symptom: true,"))


@given(st.text(alphabet="ab &\"'/=", max_size=20))
@settings(max_examples=25, deadline=None)
def test_record_text_in_the_tables_is_escaped(tail: str) -> None:
    notes = f"<img src=x onerror=alert(1)>{tail}<script>x</script>"
    data = priorauth.parse_case(TEXT, format="yaml").model_dump(by_alias=True)
    data["crps"]["sensory"]["notes"] = notes
    data["requested"]["positive_response"] = notes
    case = priorauth.Case.model_validate(data)
    html = priorauth.render_letter(case, fmt="html").data.decode("utf-8")
    assert "<img src=x" not in html and "<script>x" not in html
    assert html.count("&lt;img src=x onerror=alert(1)&gt;") == 2


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=12) | st.sampled_from(["unknown", "UNKNOWN", " Unknown ", "true", "no"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                               max_size=3),
    max_leaves=5)


@given(JSON_VALUES)
@settings(max_examples=80, deadline=None)
def test_finding_parser_takes_only_true_false_unknown(value: object) -> None:
    data = priorauth.parse_case(TEXT, format="yaml").model_dump(by_alias=True)
    data["crps"]["vasomotor"]["sign"] = value
    try:
        case = case_from_data(data)
    except priorauth.CaseInvalid as exc:
        assert [p.path for p in exc.problems] == ["crps.vasomotor.sign"]
        assert exc.problems[0].message == "must be true, false or unknown"
        return
    assert case.crps is not None
    found = case.crps.vasomotor.sign
    if isinstance(value, bool) or value is None:
        assert found is value
    else:
        assert isinstance(value, str) and value.strip().casefold() == "unknown" and found is None
