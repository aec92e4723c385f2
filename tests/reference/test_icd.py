"""ICD-10-CM codes: the bundled index, billable/header checks, descriptions, and speed."""

from __future__ import annotations

import gzip
import importlib.util
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import yaml

from priorauth.case.parse import case_from_data
from priorauth.errors import CaseInvalid, DetailedValueError
from priorauth.reference import icd

TOOLS = Path(__file__).resolve().parents[2] / "tools"
SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "chronic-migraine-with-aura.yaml"


def _case_data(**diagnosis: object) -> dict[str, object]:
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    data["diagnoses"] = [{"primary": True, **diagnosis}]
    return data


def _build_script() -> Any:
    """The build-time script (tools/, not shipped in the wheel), imported from the checkout."""
    spec = importlib.util.spec_from_file_location("build_icd_index", TOOLS / "build_icd_index.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_index_matches_the_library() -> None:
    pytest.importorskip("simple_icd_10_cm",
                        reason="simple-icd-10-cm (extras 'test'/'dev') not installed")
    build = _build_script()

    rows = list(build.library_rows())
    expected = gzip.decompress(build.render_index(rows, build.library_version(),
                                                  build.data_release()))
    shipped = gzip.decompress(files("priorauth.reference").joinpath(icd.INDEX_NAME).read_bytes())
    assert shipped == expected, ("icd10cm.tsv.gz is stale: run "
                                 "`python tools/build_icd_index.py`")


@pytest.mark.parametrize(
    ("code", "description"),
    [
        ("G43.709", "Chronic migraine without aura, not intractable, without status migrainosus"),
        ("G43.719", "Chronic migraine without aura, intractable, without status migrainosus"),
        ("G43.E19", "Chronic migraine with aura, intractable, without status migrainosus"),
        ("G44.52", "New daily persistent headache (NDPH)"),
        ("G89.4", "Chronic pain syndrome"),
        ("G90.512", "Complex regional pain syndrome I of left upper limb"),
    ],
)
def test_billable_codes_and_official_descriptions(code: str, description: str) -> None:
    found = icd.lookup(code)
    assert found is not None and found.billable
    assert found.description == description
    assert icd.check_billable(code) == code


def test_header_code_names_billable_children() -> None:
    with pytest.raises(ValueError, match="not billable") as info:
        icd.check_billable("G43.7")
    assert isinstance(info.value, DetailedValueError)
    message = info.value.detail
    for child in ("G43.701", "G43.709", "G43.711", "G43.719"):
        assert child in message
    assert "G43.70 " not in message  # a header is not offered as a billable code


def test_large_header_lists_next_level() -> None:
    with pytest.raises(DetailedValueError, match="choose a billable code under it") as info:
        icd.check_billable("S52")
    assert "choose a billable code under one of" in info.value.detail
    assert "S52.0 (" in info.value.detail


def test_unknown_code() -> None:
    assert icd.lookup("G43.799") is None
    with pytest.raises(ValueError, match=r"^is not in the .*ICD-10-CM code table") as info:
        icd.check_billable("G43.799")
    # The code is the patient's diagnosis: only in the detail (shown on a terminal).
    assert "G43.799" not in str(info.value)
    assert isinstance(info.value, DetailedValueError)
    assert info.value.detail.startswith("G43.799 is not in the")


def test_description_disagreement() -> None:
    assert icd.description_disagrees(
        "G43.709", "Chronic migraine without aura, intractable, without status migrainosus"
    ) == "Chronic migraine without aura, not intractable, without status migrainosus"
    # Case, punctuation and spacing differences are not disagreements.
    assert icd.description_disagrees(
        "G43.709", "chronic migraine without aura - NOT intractable,  without status migrainosus"
    ) is None
    assert icd.description_disagrees("G43.709", None) is None


def test_case_with_header_code_is_invalid_on_the_code_field() -> None:
    with pytest.raises(CaseInvalid) as info:
        case_from_data(_case_data(code="G43.7"))
    [problem] = info.value.problems
    assert problem.path == "diagnoses[0].code"
    assert "header code, not billable" in problem.message
    assert "G43.7" not in problem.message  # the diagnosis stays out of the message
    assert "G43.719" in problem.format(show_value=True)


def test_case_with_unknown_code_is_invalid() -> None:
    with pytest.raises(CaseInvalid) as info:
        case_from_data(_case_data(code="G43.799"))
    assert [p.path for p in info.value.problems] == ["diagnoses[0].code"]


def test_case_with_dotless_code_is_accepted() -> None:
    case = case_from_data(_case_data(code="G43719"))
    assert case.diagnoses[0].code == "G43.719"


def test_validate_never_imports_weasyprint_or_the_icd_library() -> None:
    code = (
        "import sys\n"
        "from priorauth.case.parse import load_case\n"
        f"load_case({str(SAMPLE)!r})\n"
        "print([m for m in ('weasyprint', 'simple_icd_10_cm') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=120)
    assert out.stdout.strip() == "[]"
