"""--format json|ndjson: real outputs validate against the shipped output schema, every code is
declared in one place, and no record value ever appears in machine output."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from priorauth.cli import main
from priorauth.codes import CODES, PYDANTIC_CODES
from tests.conftest import SAMPLES, VALID_SAMPLES

BAD = str(SAMPLES / "invalid-case.yaml")
GOOD = str(SAMPLES / "chronic-migraine-with-aura.yaml")
FAILS = str(SAMPLES / "fails-criteria.yaml")
FHIR_BUNDLE = Path(__file__).parents[1] / "fixtures" / "fhir" / "migraine-bundle.json"


def output_schema() -> dict[str, Any]:
    text = files("priorauth.reference").joinpath("output.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def check(instance: Any, definition: str) -> None:
    """Validate against one ``$defs`` entry of the shipped schema (and the whole schema)."""
    schema = output_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator({"$ref": f"#/$defs/{definition}", **{
        k: v for k, v in schema.items() if k in ("$defs", "$schema", "$id")}})
    validator.validate(instance)
    jsonschema.Draft202012Validator(schema).validate(instance)


def invoke(*args: str, input: bytes | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), input=input)
    return result.exit_code, result.stdout


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_schema_lists_exactly_the_declared_codes() -> None:
    assert output_schema()["$defs"]["code"]["enum"] == sorted(CODES)
    code, out = invoke("schema", "--output-format")
    assert code == 0 and json.loads(out) == output_schema()
    documented = (Path(__file__).parents[2] / "docs" / "machine-output.md").read_text("utf-8")
    assert [c for c in CODES if f"| `{c}` |" not in documented] == []


def test_check_takes_one_case(tmp_path: Path) -> None:
    two = "\n".join(json.dumps(yaml.safe_load(Path(GOOD).read_text("utf-8")), default=str)
                    for _ in range(2)) + "\n"
    code, out = invoke("check", "-", "--format", "json", input=two.encode())
    document = json.loads(out)
    check(document, "check")
    assert code == 2 and document["problems"][0]["code"] == "input.one_case"
    assert set(PYDANTIC_CODES.values()) <= set(CODES)


def test_validate_json_and_ndjson_match_the_schema() -> None:
    code, out = invoke("validate", GOOD, BAD, "--format", "json")
    assert code == 2
    document = json.loads(out)
    check(document, "validate")
    assert document["summary"] == {"records": 2, "valid": 1, "invalid": 1}
    bad = document["records"][1]
    codes = {(p["path"], p["code"]) for p in bad["problems"]}
    assert ("provider.npi", "npi.checksum") in codes
    assert ("patient.date_of_birth", "date.format") in codes
    assert ("requested.session", "field.unknown") in codes
    assert ("prior_therapies[0].end", "date.order") in codes
    assert all(p["line"] for p in bad["problems"])
    code, out = invoke("validate", GOOD, BAD, "--format", "ndjson")
    assert code == 2
    for item in lines(out):
        check(item, "validateLine")
    assert lines(out)[-1] == {"kind": "summary", "records": 2, "valid": 1, "invalid": 1}


def test_validate_takes_ndjson_folders_and_stdin(tmp_path: Path) -> None:
    records = [yaml.safe_load(p.read_text("utf-8")) for p in VALID_SAMPLES[:2]]
    records.append({"letter": "not a group"})
    ndjson = "\n".join(json.dumps(r, default=str) for r in records) + "\n"
    (tmp_path / "cases.ndjson").write_text(ndjson, "utf-8")
    code, out = invoke("validate", str(tmp_path), "--format", "ndjson")
    assert code == 2
    found = lines(out)
    assert [r["source"].rsplit(":", 1)[-1] for r in found[:-1]] == ["1", "2", "3"]
    assert [r["valid"] for r in found[:-1]] == [True, True, False]
    code, out = invoke("validate", "-", "--format", "ndjson", input=ndjson.encode())
    assert code == 2 and [r.get("source") for r in lines(out)[:3]] == [
        "<stdin>:1", "<stdin>:2", "<stdin>:3"]
    code, out = invoke("validate", "-", "--format", "json",
                       input=Path(GOOD).read_bytes())
    assert code == 0 and json.loads(out)["records"][0]["source"] == "<stdin>"


def test_check_json_verdicts_have_codes_paths_and_lines() -> None:
    code, out = invoke("check", GOOD, "--format", "json")
    document = json.loads(out)
    check(document, "check")
    assert code == 0 == document["exit_code"] and document["all_met"]
    assert {r["code"] for r in document["results"]} == {"criterion.met"}
    assert {r["path"] for r in document["results"]} >= {"diagnoses", "prior_therapies"}
    assert all(r["line"] for r in document["results"] if r["path"])
    code, out = invoke("check", FAILS, "--format", "ndjson")
    assert code == 1
    items = lines(out)
    for item in items:
        check(item, "checkLine")
    assert "criterion.not_met" in {i.get("code") for i in items}
    assert items[-1]["kind"] == "summary" and items[-1]["exit_code"] == 1


def test_check_json_for_bad_input_and_unknown_policy() -> None:
    code, out = invoke("check", BAD, "--format", "json")
    document = json.loads(out)
    check(document, "check")
    assert code == 2 and "npi.checksum" in {p["code"] for p in document["problems"]}
    code, out = invoke("check", GOOD, "--policy", "no-such-policy", "--format", "json")
    document = json.loads(out)
    check(document, "check")
    assert code == 2 and document["problems"][0]["code"] == "policy.unknown"


def test_fhir_and_evidence_json_match_the_schema(tmp_path: Path) -> None:
    code, out = invoke("fhir", str(FHIR_BUNDLE), "-o", str(tmp_path / "draft.yaml"),
                       "--format", "json")
    document = json.loads(out)
    check(document, "fhir")
    assert code == (0 if document["complete"] else 1)
    assert (tmp_path / "draft.yaml").exists()
    code, out = invoke("fhir", str(FHIR_BUNDLE), "--format", "json")
    assert code == 2  # the report would share stdout with the case
    code, out = invoke("fhir", str(FHIR_BUNDLE), "-o", str(tmp_path / "again.yaml"),
                       "--format", "ndjson")
    assert code in (0, 1) and len(lines(out)) == 1
    for item in lines(out):
        check(item, "fhirLine")
        assert {p["code"] for p in item["problems"]} <= {"fhir.todo", "fhir.invalid"}
    code, out = invoke("evidence", "list", "--format", "json")
    assert code == 0
    check(json.loads(out), "evidence")
    code, out = invoke("evidence", "list", "--format", "ndjson", "--indication", "crps")
    assert code == 0 and lines(out)
    for item in lines(out):
        check(item, "evidenceLine")


@pytest.mark.parametrize("secret", ["G43.799", "imaginary-2031", "1234567890"])
def test_machine_output_never_quotes_the_value(
        secret: str, sample_data: Any, tmp_path: Path) -> None:
    data = sample_data()
    if secret.startswith("G"):
        data["diagnoses"][0]["code"] = secret
    elif secret.startswith("imaginary"):
        data["evidence"] = [secret]
    else:
        data["provider"]["npi"] = secret
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(data), "utf-8")
    for command in ("validate", "check"):
        code, out = invoke(command, str(path), "--format", "json")
        assert code == 2 and json.loads(out)
        assert secret not in out


def test_str_case_invalid_lists_problems_without_values() -> None:
    from priorauth import CaseInvalid, load_case

    with pytest.raises(CaseInvalid) as caught:
        load_case(BAD)
    text = str(caught.value)
    assert "10 problems" in text and "provider.npi: this NPI fails its check digit" in text
    assert "1234567890" not in text and "04/17/1990" not in text
    assert all(p.code in CODES for p in caught.value.problems)


def test_warnings_are_coded_located_and_never_quote_the_record(
        sample_data: Any, tmp_path: Path) -> None:
    data = sample_data()
    data["diagnoses"][0]["description"] = "Zebra headache of Quux"
    data["prior_therapies"][0]["class"] = "Frobnicator class"
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    code, out = invoke("validate", str(path), "--format", "json")
    document = json.loads(out)
    check(document, "validate")
    warnings = document["records"][0]["warnings"]
    assert code == 0 and {w["code"] for w in warnings} >= {"warning.description_differs"}
    assert all(w["severity"] == "warning" and w["line"] for w in warnings)
    assert "Zebra" not in out and "Frobnicator" not in out
