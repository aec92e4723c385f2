"""Issue 11.5: plain words - brand and generic together, suggestions for misspellings (never a
silent correction), no tool words in letters, "N pages" on the fax cover."""

from __future__ import annotations

from click.testing import CliRunner

from priorauth.cli import main
from priorauth.letter.context import build_context
from priorauth.policy.checks import check_case, record_warnings
from priorauth.reference.catalogue import display_name, suggest
from tests.policy.test_checks import THREE_CLASSES, facts, make_case, result, therapy


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

    from tests.policy.test_checks import SAMPLES
    text = (SAMPLES / "chronic-migraine-with-aura.yaml").read_text(encoding="utf-8")
    assert "name: topiramate" in text
    path = Path(str(tmp_path)) / "case.yaml"
    path.write_text(text.replace("name: topiramate", "name: topirimate", 1), "utf-8")
    out = CliRunner().invoke(main, ["validate", str(path)])
    assert out.exit_code == 0
    assert "did you mean 'topiramate'?" in out.output
