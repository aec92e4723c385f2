"""The letter: what it says (only what the case says), on every page, what it refuses to load."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from priorauth import RenderError, load_case, parse_case
from priorauth.letter.filters import us_date
from priorauth.letter.render import Renderer
from tests.conftest import SAMPLES, VALID_SAMPLES, pdf_pages

SampleData = Callable[[str], dict[str, Any]]


@pytest.mark.parametrize("path", VALID_SAMPLES, ids=lambda p: p.stem)
def test_every_prior_therapy_appears(path: Path, rendered_samples: dict[str, bytes]) -> None:
    case = load_case(path)
    text = " ".join(pdf_pages(rendered_samples[path.stem]))
    for therapy in case.prior_therapies:
        assert therapy.name in text, therapy.name
        if therapy.start:
            assert us_date(therapy.start) in text
        if therapy.source:
            assert " ".join(therapy.source.split()) in text


@pytest.mark.parametrize("path", VALID_SAMPLES, ids=lambda p: p.stem)
def test_patient_header_and_page_numbers_on_every_page(
    path: Path, rendered_samples: dict[str, bytes]
) -> None:
    case = load_case(path)
    pages = pdf_pages(rendered_samples[path.stem])
    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        assert f"Patient: {case.patient.full_name}" in text
        assert f"DOB {us_date(case.patient.date_of_birth)}" in text
        assert f"Member ID {case.patient.member_id}" in text
        assert f"Page {number} of {len(pages)}" in text


def test_letter_states_request_signature_and_codes(rendered_samples: dict[str, bytes]) -> None:
    text = " ".join(pdf_pages(rendered_samples["chronic-migraine-with-aura"]))
    for expected in ("RE: Request for prior authorization", "NPI 1234567893", "Alex Rivera, MD",
                     "CPT 96365", "CPT 96366", "HCPCS J3490", "5 consecutive outpatient days",
                     "Enclosures (2)", "arylcyclohexylamine NMDA-receptor antagonist"):
        assert expected in text, expected
    assert "LSD" not in text


def test_nothing_appears_that_the_case_lacks(rendered_samples: dict[str, bytes]) -> None:
    """fails-criteria has no NDC, facility, screening, burden scores or attachments."""
    text = " ".join(pdf_pages(rendered_samples["fails-criteria"]))
    assert not re.search(r"NDC \d{5}-\d{4}-\d{2}", text)
    for absent in ("Site of care", "MIDAS", "HIT-6", "Enclosures", "Screening documented",
                   "EXPEDITED", "Monitoring", "Group"):
        assert absent not in text, absent
    assert text.count("Not documented") == 7  # every screening item: not documented, not "absent"
    assert "Absent" not in text


def test_expedited_banner_only_when_requested(rendered_samples: dict[str, bytes]) -> None:
    assert "EXPEDITED REVIEW REQUESTED" in pdf_pages(
        rendered_samples["chronic-migraine-after-cgrp-botox"])[0]
    assert "EXPEDITED" not in " ".join(pdf_pages(rendered_samples["crps"]))


def test_therapy_counts_in_prose_match_the_record(rendered_samples: dict[str, bytes]) -> None:
    text = " ".join(pdf_pages(rendered_samples["fails-criteria"]))
    # 4 therapies; the one stopped for cost is not a failure.
    assert "documents 3 prior therapies that failed" in text
    assert re.search(r"preventive treatment from 2 drug classes", text)


def test_pdf_metadata(rendered_samples: dict[str, bytes]) -> None:
    import io

    from pypdf import PdfReader

    meta = PdfReader(io.BytesIO(rendered_samples["crps"])).metadata
    assert meta is not None
    assert meta.title == "Letter of medical necessity — Riley Demo"
    assert meta.author == "Example Pain Medicine Clinic (synthetic)"
    assert meta.subject == "Prior authorization request: intravenous ketamine infusion"


HOSTILE = [
    '<img src="file:///etc/passwd">',
    "<link rel=attachment href=file:///etc/hostname>",
    "<style>@import url(http://127.0.0.1:9/x.css);</style>",
    '<svg><image href="file:///etc/passwd"/></svg>',
    "{{ 7*7 }} {% raw %}",
]


def test_hostile_patient_text_is_printed_literally(sample_data: SampleData) -> None:
    data = sample_data()
    data["rationale"] = "\n\n".join(HOSTILE)
    data["prior_therapies"][0]["details"] = HOSTILE[0]
    renderer = Renderer()
    pdf = renderer.pdf(parse_case(data))
    text = " ".join(pdf_pages(pdf))
    assert '<img src="file:///etc/passwd">' in text
    assert "{{ 7*7 }}" in text and "49" not in text.split("{{ 7*7 }}")[0][-5:]
    assert "root:" not in text
    requested = renderer.fetcher.requested
    assert requested and all(url.startswith("file://") and "/assets/" in url for url in requested)
    assert not renderer.fetcher.refused


@pytest.mark.parametrize("reference", [
    "file:///etc/passwd",
    "../base.html.j2",
    "http://127.0.0.1:9/logo.png",
    "assets/../../../../etc/passwd",
    "file://localhost/etc/hostname",
])
def test_template_cannot_load_files_outside_its_assets(tmp_path: Path, reference: str) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "letter.html.j2").write_text(
        '{% extends "base.html.j2" %}{% block body %}'
        f'<img src="{reference}"><p>x</p>{{% endblock %}}', "utf-8")
    renderer = Renderer(templates_dirs=[tmp_path])
    with pytest.raises(RenderError, match="refused to load"):
        renderer.pdf(load_case(SAMPLES / "chronic-migraine-with-aura.yaml"))
    assert renderer.fetcher.refused


def test_override_assets_are_served(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "extra.css").write_text("p { color: #123456; }", "utf-8")
    (tmp_path / "letter.html.j2").write_text(
        '{% extends "base.html.j2" %}{% block body %}<link rel="stylesheet" '
        'href="assets/extra.css"><p>Override body</p>{% endblock %}', "utf-8")
    renderer = Renderer(templates_dirs=[tmp_path])
    pdf = renderer.pdf(load_case(SAMPLES / "chronic-migraine-with-aura.yaml"))
    assert "Override body" in pdf_pages(pdf)[0]
    assert any(url.endswith("/extra.css") for url in renderer.fetcher.requested)


def test_official_descriptions_keep_their_capitals(rendered_samples: dict[str, bytes]) -> None:
    """CRPS type 'I' must not become 'i' in the prose."""
    text = " ".join(pdf_pages(rendered_samples["crps"]))
    assert "(Complex regional pain syndrome I of left lower limb)" in text
    assert "syndrome i " not in text


@pytest.mark.parametrize("path", VALID_SAMPLES, ids=lambda p: p.stem)
def test_no_run_together_sentences(path: Path, rendered_samples: dict[str, bytes]) -> None:
    """Template whitespace control must not glue sentences ('source.The record')."""
    text = " ".join(pdf_pages(rendered_samples[path.stem]))
    assert not re.search(r"[a-z]\.[A-Z][a-z]", text.replace("U.S.", "")), \
        re.search(r".{30}[a-z]\.[A-Z][a-z].{30}", text)


def test_long_names_do_not_push_the_member_id_off_the_page(sample_data: SampleData) -> None:
    """Clipped text still extracts from a PDF, so inspect WeasyPrint's layout boxes instead:
    every text box of the running header must end inside the page."""
    from weasyprint import HTML

    data = sample_data()
    data["patient"]["given_name"] = "Maria-Guadalupe Alejandra Concepción"
    data["patient"]["family_name"] = "Villaseñor-Castellanos de la Fuente"
    renderer = Renderer("letter")
    html = renderer.html(parse_case(data))
    document = HTML(string=html, base_url=renderer._base_url("letter")).render()

    def text_boxes(box: Any) -> Any:
        if getattr(box, "text", None):
            yield box
        for child in getattr(box, "children", []):
            yield from text_boxes(child)

    for page in document.pages:
        boxes = [b for b in text_boxes(page._page_box) if b.position_y < 72]  # top margin
        assert any("XQZ000123456" in b.text for b in boxes), "member ID missing from header"
        for box in boxes:
            assert box.position_x + box.width <= page.width, box.text


def test_fetcher_audit_trail_is_bounded() -> None:
    """A batch worker keeps one renderer for thousands of letters: its URL log must not grow."""
    from priorauth.letter.fetcher import AUDIT_TRAIL

    renderer = Renderer("letter")
    case = load_case(SAMPLES / "chronic-migraine-with-aura.yaml")
    renderer.html(case)
    renderer.pdf(case, pdf_a=False)
    for _ in range(AUDIT_TRAIL + 10):
        renderer.fetcher.requested.append("file:///x")
    assert len(renderer.fetcher.requested) == AUDIT_TRAIL
