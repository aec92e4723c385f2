"""Denial reasons as data: every reason the issue names, each with a checklist, the case fields
to cite and a basis with its regulation; the certification's statutory elements with a source."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from priorauth.errors import ReferenceDataError
from priorauth.reference import denial_reasons, load_yaml

CODES = ["investigational", "not_medically_necessary", "step_therapy", "missing_information",
         "coding", "site_of_care", "out_of_network"]


def test_every_reason_the_issue_names_is_there() -> None:
    assert list(denial_reasons.reasons()) == CODES


@pytest.mark.parametrize("code", CODES)
def test_each_reason_has_a_checklist_cite_and_basis(code: str) -> None:
    spec = denial_reasons.get(code)
    assert spec.checklist and all(item.text.endswith(".") for item in spec.checklist)
    assert all(item.heading and not item.heading.endswith(".") for item in spec.checklist)
    assert len({item.id for item in spec.checklist}) == len(spec.checklist)
    assert spec.cite
    assert "29 CFR 2560.503-1(g)(1)" in spec.basis


def test_only_investigational_carries_the_certification() -> None:
    with_cert = [code for code in CODES if denial_reasons.get(code).certification is not None]
    assert with_cert == ["investigational"]
    cert = denial_reasons.get("investigational").certification
    assert cert is not None
    assert cert.min_evidence == 2
    assert cert.statute == "California Health and Safety Code section 1370.4"
    assert "https://" in cert.source
    assert "major irreversible morbidity" in cert.condition["seriously_debilitating"]
    assert "more beneficial" in cert.more_beneficial


@pytest.mark.parametrize("code", ["investigational", "step_therapy"])
def test_checklists_as_written(code: str) -> None:
    ids = [item.id for item in denial_reasons.get(code).checklist]
    expected = {"investigational": ["exception", "standard-therapies", "evidence", "monitoring"],
                "step_therapy": ["steps", "adequacy"]}
    assert ids == expected[code]


def _data() -> dict[str, Any]:
    return {key: dict(value) for key, value in load_yaml("denial-reasons.yaml").items()}


@pytest.mark.parametrize("breakage", ["no checklist", "repeated id", "no heading",
                                      "unknown certification",
                                      "certification without an element"])
def test_broken_data_is_reference_data_error(breakage: str) -> None:
    data = _data()
    if breakage == "no checklist":
        data["coding"].pop("checklist")
    elif breakage == "repeated id":
        data["coding"]["checklist"] = [{"id": "a", "heading": "A", "text": "x"},
                                       {"id": "a", "heading": "A", "text": "y"}]
    elif breakage == "no heading":
        data["coding"]["checklist"] = [{"id": "a", "text": "x"}]
    elif breakage == "unknown certification":
        data["coding"]["certification"] = "nowhere"
    else:
        cert = dict(data["certifications"]["california-1370.4"])
        cert["condition"] = {"life_threatening": "x"}
        data["certifications"] = {"california-1370.4": cert}
    with pytest.raises(ReferenceDataError):
        denial_reasons.build_reasons(data)


@given(st.text(max_size=40))
def test_check_code_accepts_exactly_the_known_codes(text: str) -> None:
    if text in CODES:
        assert denial_reasons.check_code(text) == text
    else:
        with pytest.raises(ValueError, match="is not a known denial reason"):
            denial_reasons.check_code(text)


def test_check_code_suggests_the_closest() -> None:
    with pytest.raises(ValueError, match="did you mean 'step_therapy'"):
        denial_reasons.check_code("step-therapy")
