"""Issue 11.5: plain words - brand and generic together, suggestions for misspellings (never a
silent correction), no tool words in letters, "N pages" on the fax cover."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner

from priorauth.case.parse import load_case
from priorauth.cli import main
from priorauth.letter.context import build_context
from priorauth.policy.checks import check_case, record_warnings
from priorauth.reference.catalogue import display_name, suggest
from tests.policy.test_checks import (
    SAMPLES,
    THREE_CLASSES,
    facts,
    make_case,
    result,
    therapy,
)


def test_brand_is_printed_with_its_generic() -> None:
    assert display_name("Topamax") == "Topamax (topiramate)"
    assert display_name("Inderal LA") == "Inderal LA (propranolol)"
    assert display_name("Elavil") == "Elavil (amitriptyline)"


def test_generic_and_unknown_names_stay_as_typed() -> None:
    # A generic is never given a brand the record does not name.
    assert display_name("topiramate") == "topiramate"
    assert display_name("Topamax (topiramate)") == "Topamax (topiramate)"
    assert display_name("GONB") == "GONB"
    assert display_name("Investigational compound X") == "Investigational compound X"


def test_letter_table_and_checklist_use_brand_and_generic() -> None:
    case = make_case([therapy("Topamax"), *THREE_CLASSES[::2]])
    context = build_context(case)
    names = [row.display_name for group in context.therapy_groups for cls in group.classes
             for row in cls.rows]
    assert "Topamax (topiramate)" in names
    report = check_case(case)
    text = facts(report, "preventive-classes")
    assert "Topamax (topiramate), 01/01/2020" in text
    assert "from the catalogue" not in text


def test_misspelling_gets_a_suggestion_never_a_correction() -> None:
    assert suggest("topirimate") == "topiramate"
    assert suggest("Propanolol ER 80 mg") == "propranolol"
    assert suggest("amitryptiline 25 mg nightly") == "amitriptyline"
    assert suggest("topiramate") is None
    case = make_case([*THREE_CLASSES[:2], therapy("topirimate", start="2021-01-01",
                                                  end="2021-06-01")])
    warnings = {w.path: w.message for w in record_warnings(case)}
    assert "did you mean 'topiramate'?" in warnings["prior_therapies[2].name"]
    # Not silently corrected: the misspelt trial does not count as topiramate.
    assert result(check_case(case), "preventive-classes").verdict.value != "met"
    assert case.prior_therapies[2].name == "topirimate"


def test_misspelling_with_a_recorded_class_still_gets_the_suggestion() -> None:
    case = make_case([therapy("propanolol", **{"class": "beta-blocker"})])
    warnings = {w.path: w.message for w in record_warnings(case)}
    assert "did you mean 'propranolol'?" in warnings["prior_therapies[0].name"]


def test_validate_prints_the_suggestion(tmp_path: object) -> None:
    from pathlib import Path

    text = (SAMPLES / "chronic-migraine-with-aura.yaml").read_text(encoding="utf-8")
    assert "name: topiramate" in text
    path = Path(str(tmp_path)) / "case.yaml"
    path.write_text(text.replace("name: topiramate", "name: topirimate", 1), "utf-8")
    out = CliRunner().invoke(main, ["validate", str(path)])
    assert out.exit_code == 0
    assert "did you mean 'topiramate'?" in out.output


# --- no tool words in any letter ---------------------------------------------------------------

TOOL_WORDS = re.compile(r"\bNone\b|\bTrue\b|\bFalse\b|\bnull\b|catalogue|\{\{|\{%|\[\]"
                        r"|\b[a-z0-9]+_[a-z0-9_]+\b")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.hidden += tag in ("style", "script", "head")

    def handle_endtag(self, tag: str) -> None:
        self.hidden -= tag in ("style", "script", "head")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def _letter_text(case: object, template: str) -> str:
    from priorauth.letter.pipeline import LetterPipeline

    html = LetterPipeline(template=template).render(case, fmt="html").data  # type: ignore[arg-type]
    parser = _Text()
    parser.feed(html.decode("utf-8"))
    return " ".join(parser.parts)


@pytest.mark.parametrize("sample", sorted(p.stem for p in SAMPLES.glob("*.yaml")
                                          if p.stem != "invalid-case"))
@pytest.mark.parametrize("template", ["letter", "peer-to-peer"])
def test_no_tool_words_in_any_sample_letter(sample: str, template: str) -> None:
    text = _letter_text(load_case(SAMPLES / f"{sample}.yaml"), template)
    assert TOOL_WORDS.findall(text) == []


def test_no_tool_words_with_inferred_classes_and_brands() -> None:
    case = make_case([therapy("Topamax"), therapy("Inderal LA", start="2020-07-01",
                                                  end="2020-12-01"),
                      therapy("Investigational compound X", start="2021-01-01", end=None)])
    text = _letter_text(case, "letter")
    assert TOOL_WORDS.findall(text) == []
    assert "Topamax (topiramate)" in text and "Inderal LA (propranolol)" in text


# --- check: the field behind every unmet line, and a to-do list -------------------------------

def test_check_names_fields_and_ends_with_a_todo_list() -> None:
    out = CliRunner().invoke(main, ["check", str(SAMPLES / "fails-criteria.yaml")]).output
    lines = out.splitlines()
    for index, line in enumerate(lines):
        if line.startswith(("  [not met]", "  [unknown]")):
            assert lines[index + 2].startswith("      field"), line
    todo = lines.index("To do (only with what the record supports; then run check again):")
    assert lines[todo + 1:] == [
        "  - intractable [not met]: diagnoses[0].code",
        "  - medication-overuse [unknown]: burden.medication_overuse_excluded",
        "  - preventive-classes [not met]: prior_therapies",
        "  - onabotulinumtoxina [not met]: prior_therapies",
        "  - cgrp-mab [not met]: prior_therapies",
        "  - triptans [not met]: prior_therapies",
        "  - screening [unknown]: screening.psychosis_history, "
        "screening.uncontrolled_hypertension, screening.unstable_cardiac_disease (+4 more)",
        "  - codes [unknown]: requested.codes.ndc"]


def test_unknown_trial_names_the_missing_field() -> None:
    case = make_case([therapy("Botox")])
    botox = result(check_case(case), "onabotulinumtoxina")
    assert botox.verdict.value == "unknown"
    assert botox.fields == ("prior_therapies[0].cycles",)
    fremanezumab = make_case([therapy("Ajovy", start="2020-01-01", end="2020-05-01")])
    assert result(check_case(fremanezumab), "cgrp-mab").fields == (
        "prior_therapies[0].frequency",)
    assert result(check_case(make_case()), "diagnosis").fields == ()
