"""The appeal answers the denial point by point, in the clinician's words, and the external-review
certification describes each document as it is (the negative trial included)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import priorauth
from priorauth.case.parse import case_from_data
from priorauth.letter.render import Renderer
from priorauth.reference import denial_reasons
from tests.conftest import SAMPLES, pdf_pages

Data = Callable[[str], dict[str, Any]]


@pytest.fixture(scope="module")
def text() -> str:
    letter = priorauth.render_letter(priorauth.load_case(SAMPLES / "appeal-investigational.yaml"))
    assert letter.all_met and letter.unanswered == ()
    return " ".join(pdf_pages(letter.data))


def _between(text: str, start: str, end: str) -> str:
    return text[text.index(start):text.index(end, text.index(start))]


def test_every_point_is_answered_in_order(text: str) -> None:
    section = _between(text, "Response to each stated reason", "The record documents")
    order = ["1. Experimental or investigational",
             "Intravenous ketamine is considered experimental and investigational",
             *[item.heading for item in denial_reasons.get("investigational").checklist],
             "2. Step therapy not met",
             *[item.heading for item in denial_reasons.get("step_therapy").checklist]]
    positions = [section.index(" ".join(part.split())) for part in order]
    assert positions == sorted(positions)


def test_the_answers_are_the_clinicians_words(text: str) -> None:
    assert ("I am not asking the plan to treat intravenous ketamine as standard care for "
            "migraine.") in text
    assert "Source: Infusion protocol, Example Hospital Outpatient Infusion Center" in text
    assert ("Erenumab was given at 140 mg monthly for more than 40 weeks, and "
            "onabotulinumtoxinA at 155 units for four cycles.") in text


def test_the_certification_states_the_statutory_elements(text: str) -> None:
    cert = _between(text, "Physician certification for external review", "Requests")
    assert "California Health and Safety Code section 1370.4" in cert
    assert "I, Alex Rivera, MD, a licensed, board-certified physician" in cert
    assert ("Dana Testpatient has a seriously debilitating condition: one that causes major "
            "irreversible morbidity (§1370.4(a)(1)(C))") in cert
    assert ("standard therapies have not been effective in improving the patient's condition "
            "(§1370.4(a)(2))") in cert
    assert "lists 11 prior therapies that failed" in cert
    assert "likely to be more beneficial for the patient than any available standard" in cert


def test_the_certification_describes_each_document_negative_included(text: str) -> None:
    cert = _between(text, "Medical and scientific evidence relied on", "Requests")
    assert "3 documents are relied on; 1 of them reported a negative result." in cert
    for title in ("Ketamine infusions for treatment refractory headache",
                  "Ketamine for refractory headache: a retrospective analysis",
                  "Low-dose ketamine does not improve migraine"):
        assert title in cert
    assert "the sustained response was not statistically significant" in cert
    negative = cert.index("Negative result.")
    assert cert.index("Etchison") < negative
    assert "Randomized placebo-controlled trial (negative)" in cert[negative:]


def test_an_open_point_is_left_out_not_invented(sample_data: Data) -> None:
    data = sample_data("appeal-investigational")
    data["letter"]["denial"]["reasons"][1]["answers"].pop()
    case = case_from_data(data, source="s.yaml")
    page = Renderer().html(case)
    adequacy = denial_reasons.get("step_therapy").item("adequacy")
    assert adequacy is not None
    assert adequacy.heading not in page
    assert "Erenumab was given at 140 mg monthly" not in page


def test_a_free_text_appeal_reads_as_before(sample_data: Data) -> None:
    page = Renderer().html(case_from_data(sample_data("appeal"), source="appeal.yaml"))
    assert "Response to the stated reason" in page
    assert "Response to each stated reason" not in page
    assert "Physician certification" not in page
