"""Every problem carries a stable code from priorauth.codes.CODES, chosen by the kind of error
(pydantic's type, our validator's code, the reader's check), never by the message text."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from priorauth.case.parse import case_from_data, parse_case
from priorauth.codes import CODES
from priorauth.errors import CaseInvalid


def codes_of(text: str | bytes, fmt: Any = None) -> list[str]:
    with pytest.raises(CaseInvalid) as caught:
        parse_case(text, fmt, "case.yaml")
    return [p.code for p in caught.value.problems]


@pytest.mark.parametrize(("text", "fmt", "code"), [
    ("", "yaml", "file.empty"),
    ("a: &x 1\nb: *x\n", "yaml", "yaml.alias"),
    ("a: 1\na: 2\n", "yaml", "yaml.duplicate_key"),
    ("a: [\n", "yaml", "yaml.syntax"),
    ('{"a": NaN}', "json", "json.syntax"),
    ('{"a": 1, "a": 2}', "json", "json.syntax"),
    ("- 1\n", "yaml", "document.not_mapping"),
    (b"a: \xff\n", "yaml", "file.encoding"),
    ("a:\n" + "  - " * 40 + "x\n", "yaml", "document.too_deep"),
])
def test_reader_problems_have_codes(text: str | bytes, fmt: Any, code: str) -> None:
    assert codes_of(text, fmt) == [code]


@pytest.mark.parametrize(("path", "value", "code"), [
    (("provider", "npi"), "1234567890", "npi.checksum"),
    (("provider", "npi"), "12345", "npi.format"),
    (("diagnoses", 0, "code"), "G43-719", "icd10.format"),
    (("diagnoses", 0, "code"), "G43.799", "icd10.unknown"),
    (("diagnoses", 0, "code"), "G43.7", "icd10.not_billable"),
    (("requested", "codes", "cpt", 0), "9636", "cpt.format"),
    (("requested", "codes", "hcpcs", 0), "123", "hcpcs.format"),
    (("requested", "codes", "ndc"), "123", "ndc.format"),
    (("provider", "address", "state"), "Ohio", "state.format"),
    (("provider", "address", "postal_code"), "4321", "zip.format"),
    (("provider", "phone"), "call me", "phone.format"),
    (("patient", "date_of_birth"), "04/17/1990", "date.format"),
    (("patient", "date_of_birth"), "1800-01-01", "date.range"),
    (("patient", "given_name"), "A\u200fB", "text.invisible_character"),
    (("patient", "given_name"), "", "value.empty"),
    (("patient", "given_name"), ["x"], "type.text"),
    (("requested", "sessions"), "many", "type.integer"),
    (("requested", "sessions"), 0, "number.range"),
    (("requested", "sessions"), True, "type.number"),
    (("requested", "infusion_hours"), ".inf", "number.not_finite"),
    (("screening", "pregnancy"), "maybe", "type.boolean"),
    (("prior_therapies", 0, "outcome"), "great", "value.choice"),
    (("letter", "kind"), "appeal", "field.required"),
    (("evidence",), ["nobody-1999"], "evidence.unknown"),
    (("id",), "no spaces allowed", "case_id.format"),
    (("requested", "sesions"), 5, "field.unknown"),
    (("prior_therapies",), [], "list.too_short"),
    (("patient",), "Dana", "type.group"),
])
def test_field_problems_have_codes(sample_data: Any, path: tuple[Any, ...], value: Any,
                                   code: str) -> None:
    data = sample_data()
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    with pytest.raises(CaseInvalid) as caught:
        case_from_data(data)
    assert code in [p.code for p in caught.value.problems]


def test_cross_field_rules_have_codes(sample_data: Any) -> None:
    data = sample_data()
    therapy = data["prior_therapies"][0]
    therapy["start"], therapy["end"] = therapy["end"], therapy["start"]
    data["burden"]["migraine_days_per_month"] = 31
    data["burden"]["headache_days_per_month"] = 20
    with pytest.raises(CaseInvalid) as caught:
        case_from_data(copy.deepcopy(data))
    codes = {p.code for p in caught.value.problems}
    assert {"date.order", "burden.inconsistent"} <= codes


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_any_input_gives_only_declared_codes(text: str | bytes) -> None:
    try:
        parse_case(text, None, "fuzz")
    except CaseInvalid as exc:
        assert exc.problems and all(p.code in CODES for p in exc.problems)
