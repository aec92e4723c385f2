"""Structured denial reasons in a case: codes, answers per checklist point, the certification's
refusal below two evidence documents, and the answered / not answered report per reason."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

import priorauth
from priorauth.case.appeal import appeal_report, report_lines
from priorauth.case.parse import case_from_data
from priorauth.errors import CaseInvalid
from priorauth.reference import denial_reasons

Data = Callable[[str], dict[str, Any]]
CODES = list(denial_reasons.reasons())


def _problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(CaseInvalid) as info:
        case_from_data(data, source="case.yaml")
    return [(p.path, p.message) for p in info.value.problems]


def _investigational(sample_data: Data) -> dict[str, Any]:
    return sample_data("appeal-investigational")


def test_free_text_appeal_still_validates(sample_data: Data) -> None:
    case = case_from_data(sample_data("appeal"), source="appeal.yaml")
    assert case.letter.denial is not None
    assert case.letter.denial.reasons == [] and case.letter.denial.reason
    assert appeal_report(case.letter.denial.reasons) == []


def test_sample_answers_every_point(sample_data: Data) -> None:
    case = case_from_data(_investigational(sample_data), source="s.yaml")
    assert case.letter.denial is not None
    statuses = appeal_report(case.letter.denial.reasons)
    assert [(s.code, s.ok) for s in statuses] == [("investigational", True),
                                                  ("step_therapy", True)]


@pytest.mark.parametrize("code", CODES)
def test_each_reason_reports_its_own_checklist(code: str, sample_data: Data) -> None:
    data = _investigational(sample_data)
    items = [item.id for item in denial_reasons.get(code).checklist]
    data["letter"]["denial"]["reasons"] = [{"code": code, "answers": [
        {"item": items[0], "response": "As documented in the record."}]}]
    case = case_from_data(data, source="s.yaml")
    assert case.letter.denial is not None
    (status,) = appeal_report(case.letter.denial.reasons)
    assert status.answered == (items[0],)
    assert status.missing == tuple(items[1:])
    assert status.ok == (len(items) == 1)
    text = "\n".join(line for line, _ in report_lines([status]))
    verdict = "[answered]" if status.ok else "[not answered]"
    assert f"{verdict} {denial_reasons.get(code).label} ({code})" in text
    for item in denial_reasons.get(code).checklist:
        assert f"{item.id}: {item.text}" in text
    if not status.ok:
        assert "fill letter.denial.reasons[0].answers: add {item: " + items[1] in text
        assert "cite from: " + ", ".join(denial_reasons.get(code).cite) in text


def test_unknown_code_names_the_field(sample_data: Data) -> None:
    data = _investigational(sample_data)
    data["letter"]["denial"]["reasons"][1]["code"] = "step-therapy"
    assert _problems(data) == [("letter.denial.reasons[1].code", "is not a known denial reason; "
                                "did you mean 'step_therapy'?")]


def test_an_answer_to_a_point_of_another_reason(sample_data: Data) -> None:
    data = _investigational(sample_data)
    data["letter"]["denial"]["reasons"][1]["answers"][0]["item"] = "monitoring"
    assert _problems(data) == [("letter.denial.reasons[1].answers[0].item",
                                "is not a point of 'step_therapy'; use one of steps, adequacy")]


def test_a_point_answered_twice(sample_data: Data) -> None:
    data = _investigational(sample_data)
    answers = data["letter"]["denial"]["reasons"][1]["answers"]
    answers.append(copy.deepcopy(answers[0]))
    assert _problems(data) == [("letter.denial.reasons[1].answers[2].item",
                                "answers a point already answered; put both in one response")]


def test_a_reason_stated_twice(sample_data: Data) -> None:
    data = _investigational(sample_data)
    reasons = data["letter"]["denial"]["reasons"]
    reasons.append({"code": "step_therapy"})
    assert _problems(data) == [("letter.denial.reasons[2].code",
                                "is stated twice; answer each reason once")]


def test_certification_only_for_investigational(sample_data: Data) -> None:
    data = _investigational(sample_data)
    reasons = data["letter"]["denial"]["reasons"]
    reasons[1]["certification"] = reasons[0].pop("certification")
    assert _problems(data) == [("letter.denial.reasons[1].certification",
                                "applies only to an investigational denial, not 'step_therapy'")]


@pytest.mark.parametrize("evidence", [[], ["pomeroy-2017"], ["pomeroy-2017", "pomeroy-2017"]])
def test_certification_refuses_fewer_than_two_documents(evidence: list[str],
                                                        sample_data: Data) -> None:
    data = _investigational(sample_data)
    data["letter"]["denial"]["reasons"][0]["certification"]["evidence"] = evidence
    count = len(set(evidence))
    noun = "entry" if count == 1 else "entries"
    assert _problems(data) == [(
        "letter.denial.reasons[0].certification.evidence",
        f"cites {count} evidence {noun}; the certification needs at least 2 documents of medical "
        "and scientific evidence: add ids from `priorauth evidence list`")]


def test_certification_evidence_must_be_in_the_library(sample_data: Data) -> None:
    data = _investigational(sample_data)
    data["letter"]["denial"]["reasons"][0]["certification"]["evidence"] = ["pomeroy-2071",
                                                                           "schwenk-2018"]
    paths = [path for path, _ in _problems(data)]
    assert paths == ["letter.denial.reasons[0].certification.evidence[0]"]


def test_the_physician_must_certify_benefit(sample_data: Data) -> None:
    data = _investigational(sample_data)
    data["letter"]["denial"]["reasons"][0]["certification"]["likely_more_beneficial"] = False
    assert _problems(data) == [(
        "letter.denial.reasons[0].certification.likely_more_beneficial",
        "must be true for the physician to certify; without it, remove the certification")]


def test_the_api_raises_the_same_refusal(sample_data: Data) -> None:
    data = _investigational(sample_data)
    data["letter"]["denial"]["reasons"][0]["certification"]["evidence"] = ["etchison-2018"]
    with pytest.raises(CaseInvalid) as info:
        priorauth.parse_case(data)
    assert info.value.problems[0].path == "letter.denial.reasons[0].certification.evidence"


def test_brief_lines_keep_the_verdict_and_the_field(sample_data: Data) -> None:
    data = _investigational(sample_data)
    data["letter"]["denial"]["reasons"][1]["answers"].pop()
    case = case_from_data(data, source="s.yaml")
    assert case.letter.denial is not None
    lines = [line for line, _ in report_lines(appeal_report(case.letter.denial.reasons),
                                              details=False)]
    assert lines == [
        "Appeal: the denial's stated reasons",
        "  [answered] Experimental or investigational (investigational)",
        "  [not answered] Step therapy not met (step_therapy)",
        "      fill letter.denial.reasons[1].answers: add {item: adequacy, response: ...}",
        "      cite from: prior_therapies",
        "Appeal: 1 of 2 stated reasons answered"]
