"""Appeal fields as an attacker fills them: markup and template syntax in the clinician's answers
and the notice's words print as text; odd codes, items and oversized lists are clear errors
(exit 2, no traceback, never the value under --redact)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from priorauth.case.parse import case_from_data
from priorauth.cli import main
from priorauth.letter.render import Renderer

Data = Callable[[str], dict[str, Any]]
PAYLOAD = '<script>alert(1)</script><img src="file:///etc/passwd">{{ 7*7 }}{% raw %}'


def test_markup_in_answers_and_notice_is_text(sample_data: Data) -> None:
    data = sample_data("appeal-investigational")
    reason = data["letter"]["denial"]["reasons"][0]
    reason["stated"] = PAYLOAD
    reason["answers"][0]["response"] = PAYLOAD
    reason["answers"][0]["source"] = "<b>note</b>"
    reason["certification"]["statement"] = PAYLOAD
    page = Renderer().html(case_from_data(data, source="s.yaml"))
    assert "<script>" not in page and "<img src=\"file" not in page and "<b>note" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "{{ 7*7 }}" in page and ">49<" not in page


@pytest.mark.parametrize("field, value", [
    ("code", "__class__"), ("code", "{{ config }}"), ("code", "investigational\u202e"),
    ("item", "../../etc/passwd"), ("item", "exception\x00"),
])
def test_odd_codes_and_items_are_exit_2_without_the_value(field: str, value: str,
                                                          sample_data: Data,
                                                          tmp_path: Path) -> None:
    data = sample_data("appeal-investigational")
    reason = data["letter"]["denial"]["reasons"][0]
    if field == "code":
        reason["code"] = value
    else:
        reason["answers"][0]["item"] = value
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(main, ["--redact", "render", str(path), "-o",
                                       str(tmp_path / "x.pdf")])
    assert result.exit_code == 2, result.output
    assert "letter.denial.reasons[0]" in result.output
    assert value not in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.pdf").exists()


def test_oversized_lists_are_refused(sample_data: Data) -> None:
    from priorauth.errors import CaseInvalid

    data = sample_data("appeal-investigational")
    data["letter"]["denial"]["reasons"][0]["certification"]["evidence"] = ["pomeroy-2017"] * 31
    data["letter"]["denial"]["reasons"][1]["answers"] = [
        {"item": "steps", "response": "x"}] * 11
    with pytest.raises(CaseInvalid) as info:
        case_from_data(data, source="s.yaml")
    paths = {p.path for p in info.value.problems}
    assert paths == {"letter.denial.reasons[0].certification.evidence",
                     "letter.denial.reasons[1].answers"}
