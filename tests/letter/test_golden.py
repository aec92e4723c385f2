"""Golden text of every bundled template for every letter kind, so a wording change is seen in
review. Regenerate after an intended change with::

    python -m pytest tests/letter/test_golden.py --update-golden

and read the diff of tests/golden/letters/ before committing it.
"""

from __future__ import annotations

import copy
import html.parser
from importlib.resources import files
from typing import Any

import pytest
import yaml

import priorauth
from priorauth.case.model import LetterKind
from priorauth.letter.render import FaxInfo, Renderer
from priorauth.letter.templates import ROLES
from tests.conftest import GOLDEN

LETTERS = GOLDEN / "letters"


class _Text(html.parser.HTMLParser):
    """Visible text of an HTML page, one block per line (no CSS, no fonts: stable anywhere)."""

    BLOCKS = frozenset({"p", "div", "h1", "h2", "h3", "li", "tr", "br", "table", "section",
                        "header", "footer", "dt", "dd"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("style", "script", "title", "head"):
            self.hidden += 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "title", "head"):
            self.hidden -= 1
        if tag in ("td", "th"):
            self.parts.append(" | ")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)

    def text(self) -> str:
        lines = (" ".join(line.split()) for line in "".join(self.parts).splitlines())
        return "\n".join(line for line in lines if line) + "\n"


def _sample(kind: LetterKind) -> priorauth.Case:
    data = yaml.safe_load(files("priorauth.templates").joinpath("sample-case.yaml")
                          .read_text("utf-8"))
    data = copy.deepcopy(data)
    data["letter"]["kind"] = kind.value
    if kind is LetterKind.continuation:  # the bundled sample is an appeal: give it a series
        data["continuation"] = CONTINUATION
    return priorauth.parse_case(data, source="sample-case.yaml")


CONTINUATION = {
    "authorization": {"reference": "AUTH-2026-0007", "sessions_approved": 5,
                      "through": "2026-12-31"},
    "infusions": [{"date": f"2026-11-0{day}", "rate": 0.5, "unit": "mg/kg/h", "hours": 4}
                  for day in range(2, 7)],
    "baseline": {"date": "2026-10-28", "headache_days_per_month": 24, "midas": 96},
    "follow_up": {"date": "2026-12-15", "headache_days_per_month": 11, "midas": 50},
}


@pytest.mark.parametrize("kind", list(LetterKind), ids=lambda k: k.value)
@pytest.mark.parametrize("template", ROLES)
def test_template_text_matches_golden(template: str, kind: LetterKind,
                                      update_golden: bool) -> None:
    case = _sample(kind)
    fax = FaxInfo(total_pages=4, cover_pages=1, document_pages=3, document="letter")
    page = Renderer(template).html(case, extra={"fax": fax})
    parser = _Text()
    parser.feed(page)
    text = parser.text()
    assert "None" not in text.split() and "{{" not in text
    golden = LETTERS / f"{template}.{kind.value}.txt"
    if update_golden or not golden.exists():
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
        if not update_golden:
            pytest.fail(f"{golden.name} was missing and has been written: review and commit it")
    assert text == golden.read_text(encoding="utf-8"), (
        f"{golden.name} differs: if the change is intended, run "
        "`python -m pytest tests/letter/test_golden.py --update-golden` and review the diff")


GOLDEN_SAMPLES = ["appeal-investigational", "continuation-migraine"]
"""Samples whose whole letter text is kept as a golden (the sample-case goldens above cover each
template; these cover sections the synthetic sample case does not fill)."""


@pytest.mark.parametrize("name", GOLDEN_SAMPLES)
def test_sample_text_matches_golden(name: str, update_golden: bool) -> None:
    from tests.conftest import SAMPLES

    case = priorauth.load_case(SAMPLES / f"{name}.yaml")
    parser = _Text()
    parser.feed(Renderer().html(case))
    text = parser.text()
    assert "None" not in text.split() and "{{" not in text
    golden = LETTERS / f"sample.{name}.txt"
    if update_golden or not golden.exists():
        golden.write_text(text, encoding="utf-8")
        if not update_golden:
            pytest.fail(f"{golden.name} was missing and has been written: review and commit it")
    assert text == golden.read_text(encoding="utf-8"), (
        f"{golden.name} differs: if the change is intended, run "
        "`python -m pytest tests/letter/test_golden.py --update-golden` and review the diff")
