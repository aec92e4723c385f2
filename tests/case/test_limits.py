"""Documented limits (docs/limits.md) are enforced with clear messages; rendering is bounded."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from priorauth import parse_case
from priorauth.case.fields import MAX_NAME, MAX_TEXT
from priorauth.case.model import MAX_ATTACHMENTS, MAX_CASE_TEXT, MAX_DIAGNOSES, MAX_THERAPIES
from priorauth.case.parse import MAX_CASE_BYTES
from priorauth.errors import CaseInvalid

REPO = Path(__file__).resolve().parents[2]
SAMPLE: dict[str, Any] = yaml.safe_load(
    (REPO / "samples" / "chronic-migraine-with-aura.yaml").read_text("utf-8"))


def _therapies(count: int, details: str | None = None) -> dict[str, Any]:
    data = copy.deepcopy(SAMPLE)
    base = data["prior_therapies"]
    extra = {"details": details} if details else {}
    data["prior_therapies"] = [dict(base[i % len(base)], **extra) for i in range(count)]
    return data


def _messages(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(CaseInvalid) as info:
        parse_case(data)
    return {p.path: p.message for p in info.value.problems}


def test_documented_numbers_match_the_code() -> None:
    doc = (REPO / "docs" / "limits.md").read_text("utf-8")
    for number in (MAX_CASE_BYTES, MAX_THERAPIES, MAX_DIAGNOSES, MAX_ATTACHMENTS, MAX_NAME,
                   MAX_TEXT, MAX_CASE_TEXT):
        assert f"{number:,}" in doc, number


def test_500_therapies_are_refused_up_front() -> None:
    messages = _messages(_therapies(500))
    assert messages["prior_therapies"] == f"has too many items (at most {MAX_THERAPIES})"


def test_too_many_diagnoses_and_attachments() -> None:
    data = copy.deepcopy(SAMPLE)
    data["diagnoses"] = [dict(data["diagnoses"][0], primary=False)] * (MAX_DIAGNOSES + 1)
    data["attachments"] = [{"title": "x"}] * (MAX_ATTACHMENTS + 1)
    messages = _messages(data)
    assert messages["diagnoses"] == f"has too many items (at most {MAX_DIAGNOSES})"
    assert messages["attachments"] == f"has too many items (at most {MAX_ATTACHMENTS})"


def test_total_text_is_bounded() -> None:
    messages = _messages(_therapies(MAX_THERAPIES, details="word " * 1900))
    assert messages[""].startswith("the case holds ")
    assert f"at most {MAX_CASE_TEXT:,}" in messages[""]


def test_file_size_limit() -> None:
    with pytest.raises(CaseInvalid) as info:
        parse_case(b"#" * (MAX_CASE_BYTES + 1), format="yaml", source="big.yaml")
    assert info.value.problems[0].message == (
        f"the file is {MAX_CASE_BYTES + 1:,} bytes; a case file may be at most {MAX_CASE_BYTES:,}")


@pytest.mark.slow
def test_largest_allowed_case_renders_in_bounded_time() -> None:
    """MAX_THERAPIES therapies with long details, just under MAX_CASE_TEXT, still render (the
    time it takes is measured in benchmarks/, not asserted here)."""
    import priorauth

    per = (MAX_CASE_TEXT - 40_000) // MAX_THERAPIES
    case = parse_case(_therapies(MAX_THERAPIES, details=("word " * (per // 5)).strip()))
    letter = priorauth.render_letter(case, pdf_a=False)
    assert letter.data.startswith(b"%PDF-") and letter.pages is not None and letter.pages > 10
