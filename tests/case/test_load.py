"""Loading: YAML/JSON parsing, line numbers, and messages a billing clerk can act on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from priorauth import CaseInvalid, load_case, parse_case
from tests.conftest import GOLDEN, SAMPLES


def messages(text: str, fmt: str = "yaml") -> list[str]:
    with pytest.raises(CaseInvalid) as info:
        parse_case(text, format=fmt, source="case.yaml")  # type: ignore[arg-type]
    return [p.format() for p in info.value.problems]


def test_invalid_sample_matches_golden_messages(update_golden: bool) -> None:
    """Golden pair: the documented invalid sample and the exact messages users see."""
    with pytest.raises(CaseInvalid) as info:
        load_case(SAMPLES / "invalid-case.yaml")
    actual = "\n".join(p.format() for p in info.value.problems).replace(str(SAMPLES), "samples")
    golden = GOLDEN / "invalid-case.errors.txt"
    if update_golden:
        golden.write_text(actual + "\n", "utf-8")
    assert actual + "\n" == golden.read_text("utf-8")


def test_json_errors_carry_line_numbers(tmp_path: Path) -> None:
    import yaml

    data = yaml.safe_load((SAMPLES / "chronic-migraine-with-aura.yaml").read_text("utf-8"))
    data["prior_therapies"][1]["end"] = "2000-01-01"
    text = json.dumps(data, indent=2, default=str)
    path = tmp_path / "case.json"
    path.write_text(text, "utf-8")
    with pytest.raises(CaseInvalid) as info:
        load_case(path)
    [problem] = info.value.problems
    assert problem.path == "prior_therapies[1].end"
    assert text.splitlines()[problem.line - 1].strip().startswith('"end": "2000-01-01"')


def test_yaml_syntax_error_gives_line() -> None:
    [message] = messages("letter:\n  date: 2026-01-01\n bad indent: [\n")
    assert message.startswith("case.yaml:") and "not valid YAML" in message


def test_json_syntax_error_gives_line_and_column() -> None:
    with pytest.raises(CaseInvalid) as info:
        parse_case('{\n  "letter": {,\n}', format="json", source="c.json")
    [problem] = info.value.problems
    assert (problem.line, problem.column) == (2, 14)
    assert problem.format() == (
        "c.json:2: is not valid JSON: Expecting property name enclosed in double quotes")


def test_yaml_aliases_are_refused() -> None:
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    assert any("alias" in m for m in messages(bomb))


def test_duplicate_keys_are_refused() -> None:
    assert any("appears twice" in m for m in messages("letter: {}\nletter: {}\n"))
    with pytest.raises(CaseInvalid, match="1 problem"):
        parse_case('{"letter": 1, "letter": 2}', format="json")


def test_leading_zero_ids_stay_text(sample_data) -> None:  # type: ignore[no-untyped-def]
    text = (SAMPLES / "chronic-migraine-with-aura.yaml").read_text("utf-8")
    text = text.replace('member_id: "XQZ000123456"', "member_id: 0012345")
    assert parse_case(text, format="yaml").patient.member_id == "0012345"


def test_non_mapping_document() -> None:
    assert "must be a mapping" in messages("- just\n- a list\n")[0]
    assert "empty" in messages("")[0]


def test_file_not_found_and_folder(tmp_path: Path) -> None:
    with pytest.raises(CaseInvalid, match="1 problem") as info:
        load_case(tmp_path / "nope.yaml")
    assert "file not found" in info.value.problems[0].message
    with pytest.raises(CaseInvalid) as info:
        load_case(tmp_path)
    assert "folder" in info.value.problems[0].message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("patient: {given_name: Jos\xe9}".encode("latin-1"))
    with pytest.raises(CaseInvalid) as info:
        load_case(path)
    assert "UTF-8" in info.value.problems[0].message


def test_values_are_kept_out_of_messages_unless_asked(sample_data) -> None:  # type: ignore[no-untyped-def]
    data = sample_data()
    data["patient"]["date_of_birth"] = "Secret-Value"
    from priorauth import parse_case

    with pytest.raises(CaseInvalid) as info:
        parse_case(data)
    [problem] = info.value.problems
    assert "Secret-Value" not in problem.format()
    assert "Secret-Value" in problem.format(show_value=True)
    assert "value" not in problem.to_dict()
