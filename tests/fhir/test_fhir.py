"""FHIR R4 import: synthetic Bundle and Bulk Data fixtures, malformed input, CLI, and render.

The public third-party examples are in tests/test_fhir_examples.py.
"""

from __future__ import annotations

import json
import shutil
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from priorauth import CaseInvalid, parse_case
from priorauth.cli import main
from priorauth.fhir import MAX_LINE_BYTES, ImportResult, import_case, iter_cases
from tests.conftest import pdf_pages

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fhir"
BUNDLE = FIXTURES / "migraine-bundle.json"
BULK = FIXTURES / "migraine-bulk"


def missing_fields(result: ImportResult) -> set[str]:
    return {m.field for m in result.report.missing}


def ignored(result: ImportResult) -> dict[str, str]:
    """Resource id -> reason, for every ignored resource listed by id."""
    return {rid: entry.reason for entry in result.report.ignored.values()
            for rid in entry.examples}


@pytest.fixture(scope="module")
def from_bundle() -> ImportResult:
    return import_case(BUNDLE)


@pytest.fixture(scope="module")
def from_bulk() -> ImportResult:
    return import_case(BULK)


# --- the synthetic patient ------------------------------------------------------------------------

def test_bundle_and_bulk_folder_import_to_the_same_case(from_bundle: ImportResult,
                                                         from_bulk: ImportResult) -> None:
    assert from_bundle.case() == from_bulk.case()
    assert from_bundle.yaml().splitlines()[4:] == from_bulk.yaml().splitlines()[4:]
    assert from_bundle.report.to_dict()["filled"] == from_bulk.report.to_dict()["filled"]


def test_complete_import_maps_every_resource_kind(from_bundle: ImportResult) -> None:
    case = from_bundle.case()
    assert (case.patient.given_name, case.patient.family_name) == ("Riley", "Testperson")
    assert case.patient.member_id == "XQZ000987654"  # Coverage.subscriberId
    assert case.patient.group_number == "GRP-00991"
    assert case.payer.name == "Example Health Plan (synthetic)" and case.payer.plan == "PPO Gold"
    assert case.provider.npi == "1234567893" and case.provider.credentials == "MD"
    assert case.provider.practice == "Example Neurology Associates (synthetic)"
    assert case.provider.specialty == "Neurology — Headache Medicine"
    assert case.facility is not None and case.facility.npi == "1245319599"
    assert [d.code for d in case.diagnoses] == ["G43.719"] and case.diagnoses[0].primary
    assert (case.burden.headache_days_per_month, case.burden.midas, case.burden.hit6) == (24, 96,
                                                                                          68)
    assert case.letter.date.isoformat() == "2026-11-20"
    assert case.letter.reference == "PA-2026-0201"
    assert case.requested.dose == "0.5 mg/kg/h"
    assert (case.requested.infusion_hours, case.requested.sessions) == (4, 5)
    assert case.requested.codes.cpt == ["96365", "96366"]
    assert case.requested.codes.hcpcs == ["J3490"]
    assert case.rationale.startswith("Chronic migraine without aura")


def test_therapies_outcomes_and_classes_come_from_the_record(from_bundle: ImportResult) -> None:
    therapies = {t.name: t for t in from_bundle.case().prior_therapies}
    assert set(therapies) == {"propranolol", "topiramate", "amitriptyline", "candesartan",
                              "erenumab", "sumatriptan", "venlafaxine", "onabotulinumtoxinA",
                              "greater occipital nerve block"}
    topiramate = therapies["topiramate"]
    assert (topiramate.outcome.value, topiramate.dose, topiramate.frequency) == (
        "intolerance", "100 mg", "twice daily")
    assert topiramate.details == "paresthesias and word-finding difficulty"
    assert topiramate.class_ == "Antiepileptic (topiramate / valproate)"  # therapy catalogue
    assert therapies["candesartan"].outcome.value == "intolerance"  # statusReason code sintol
    assert therapies["erenumab"].outcome.value == "lost_efficacy"
    assert therapies["sumatriptan"].role.value == "acute"
    assert therapies["sumatriptan"].frequency == "as needed"
    botox = therapies["onabotulinumtoxinA"]  # four Procedures (CPT 64615) -> one trial
    assert (botox.cycles, botox.start.isoformat(), botox.end and botox.end.isoformat()) == (
        4, "2022-02-01", "2022-11-20")
    assert therapies["greater occipital nerve block"].role.value == "procedure"
    assert "ketamine" not in " ".join(therapies)  # the requested order is not a prior therapy


def test_report_lists_what_is_missing_and_what_was_ignored(from_bundle: ImportResult) -> None:
    report = from_bundle.report
    assert report.complete
    assert {"requested.codes.ndc", "screening", "burden.months_at_this_frequency",
            "burden.medication_overuse_excluded"} <= missing_fields(from_bundle)
    reasons = ignored(from_bundle)
    assert "another condition" in reasons["mr-lisinopril"]
    assert "ICD-10-CM" in reasons["cond-htn"]
    assert "not a headache-burden measure" in reasons["obs-weight"]
    assert "older value" in reasons["obs-hit6-old"]
    assert "not used by priorauth" in reasons["imm-1"]
    assert "catalogue" in reasons["proc-colonoscopy"]
    sources = {f.field: f.source for f in report.filled}
    assert sources["patient.member_id"] == "Coverage/cov-1 subscriberId"
    assert sources["prior_therapies[1].outcome"].startswith("MedicationRequest/mr-topiramate")


def test_report_never_carries_names_or_birth_dates(from_bundle: ImportResult) -> None:
    text = json.dumps(from_bundle.report.to_dict()) + "\n".join(from_bundle.report.lines())
    for phi in ("Riley", "Testperson", "1986-02-11", "XQZ000987654"):
        assert phi not in text


def test_yaml_round_trips_through_the_case_loader_with_source_comments(
        from_bundle: ImportResult) -> None:
    text = from_bundle.yaml()
    assert parse_case(text, format="yaml", source="imported.yaml") == from_bundle.case()
    assert 'member_id: "XQZ000987654"  # Coverage/cov-1 subscriberId' in text
    assert "# Procedure/proc-botox-4 outcome (text)" in text


# --- nothing is guessed -------------------------------------------------------------------------

def edited_bundle(tmp_path: Path, edit: Any) -> Path:
    data = json.loads(BUNDLE.read_text("utf-8"))
    for entry in data["entry"]:
        edit(entry["resource"])
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(data), "utf-8")
    return path


def test_unstated_outcome_is_left_as_a_todo_that_fails_validation(tmp_path: Path) -> None:
    def drop_reason(resource: dict[str, Any]) -> None:
        if resource.get("id") == "mr-topiramate":
            resource.pop("statusReason")
        if resource.get("id") == "mr-amitriptyline":
            resource["statusReason"] = {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/medicationrequest-status-reason",
                "code": "washout"}]}

    result = import_case(edited_bundle(tmp_path, drop_reason))
    assert {"prior_therapies[1].outcome", "prior_therapies[2].outcome"} <= missing_fields(result)
    assert not result.report.complete
    text = result.yaml()
    assert "    outcome: TODO  # TODO(fhir): MedicationRequest/mr-topiramate status stopped, " \
           "no statusReason" in text
    with pytest.raises(CaseInvalid) as info:
        parse_case(text, format="yaml", source="draft.yaml")
    assert {p.path for p in info.value.problems} == {"prior_therapies[1].outcome",
                                                     "prior_therapies[2].outcome"}
    with pytest.raises(CaseInvalid) as info:
        result.case()
    assert all("a human must fill it in" in p.message for p in info.value.problems)


def test_invalid_npi_is_reported_not_fixed(tmp_path: Path) -> None:
    def break_npi(resource: dict[str, Any]) -> None:
        if resource.get("id") == "pr-1":
            resource["identifier"][0]["value"] = "1234567890"  # fails the check digit

    result = import_case(edited_bundle(tmp_path, break_npi))
    [invalid] = result.report.invalid
    assert invalid.field == "provider.npi"
    assert invalid.source == "Practitioner/pr-1 identifier (us-npi)"
    assert "check digit" in invalid.message
    assert 'npi: "1234567890"' in result.yaml()  # kept as found, for a human to correct


def test_partial_birth_date_is_not_completed(tmp_path: Path) -> None:
    def partial(resource: dict[str, Any]) -> None:
        if resource.get("resourceType") == "Patient":
            resource["birthDate"] = "1986-02"

    result = import_case(edited_bundle(tmp_path, partial))
    assert "patient.date_of_birth" in missing_fields(result)
    assert "date_of_birth: TODO" in result.yaml()


def test_dangling_references_are_reported(tmp_path: Path) -> None:
    def dangle(resource: dict[str, Any]) -> None:
        if resource.get("resourceType") == "Claim":
            resource["facility"] = {"reference": "Location/nowhere"}
            resource["prescription"] = {"reference": "urn:uuid:00000000-0000-0000-0000-0"}
        if resource.get("id") == "mr-propranolol":
            resource.pop("medicationCodeableConcept")
            resource["medicationReference"] = {"reference": "Medication/gone"}

    result = import_case(edited_bundle(tmp_path, dangle))
    unresolved = {(u.source, u.reference) for u in result.report.unresolved}
    assert ("Claim/claim-pa-1 facility", "Location/nowhere") in unresolved
    assert ("MedicationRequest/mr-propranolol medicationReference", "Medication/gone") in \
        unresolved
    assert "facility" in missing_fields(result)
    assert "no medication code" in ignored(result)["mr-propranolol"]


def test_r5_shaped_medication_request_is_refused_not_silently_emptied(tmp_path: Path) -> None:
    def r5(resource: dict[str, Any]) -> None:
        if resource.get("id") == "mr-topiramate":
            resource["medication"] = {"concept": resource.pop("medicationCodeableConcept")}

    result = import_case(edited_bundle(tmp_path, r5))
    assert "R5" in ignored(result)["mr-topiramate"]
    assert "topiramate" not in [t["name"] for t in result.data["prior_therapies"]]


# --- malformed and large input ------------------------------------------------------------------

def test_not_json_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text("<Bundle>not json</Bundle>", "utf-8")
    with pytest.raises(CaseInvalid, match="1 problem") as info:
        import_case(path)
    assert "is not valid JSON" in info.value.problems[0].message


def test_bad_ndjson_line_names_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "bulk"
    shutil.copytree(BULK, folder)
    with (folder / "Observation.ndjson").open("a", encoding="utf-8") as handle:
        handle.write('{"resourceType": "Observation", "id": \n')
    with pytest.raises(CaseInvalid) as info:
        import_case(folder)
    [problem] = info.value.problems
    assert problem.source and problem.source.endswith("Observation.ndjson")
    assert problem.line == 7 and "line 7 is not valid JSON" in problem.message


def test_unknown_resource_types_and_non_resources_are_ignored_with_reasons(
        tmp_path: Path) -> None:
    folder = tmp_path / "bulk"
    shutil.copytree(BULK, folder)
    (folder / "Other.ndjson").write_text(
        '{"resourceType": "FooBar", "id": "x1"}\n[1, 2]\n{"id": "no-type"}\n', "utf-8")
    result = import_case(folder)
    kinds = {(e.resource_type, e.reason) for e in result.report.ignored.values()}
    assert ("FooBar", "resource type not used by priorauth") in kinds
    assert any(kind == "(not a JSON object)" for kind, _ in kinds)
    assert any(kind == "(no resourceType)" for kind, _ in kinds)
    assert result.case() == import_case(BULK).case()


def test_no_patient_and_several_patients_are_clear_errors(tmp_path: Path) -> None:
    folder = tmp_path / "bulk"
    shutil.copytree(BULK, folder)
    (folder / "Patient.ndjson").unlink()
    with pytest.raises(CaseInvalid, match="1 problem") as info:
        import_case(folder)
    assert "no Patient resource" in info.value.problems[0].message
    shutil.copy(BULK / "Patient.ndjson", folder / "Patient.ndjson")
    with (folder / "Patient.ndjson").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"resourceType": "Patient", "id": "pt-2", "gender": "male"})
                     + "\n")
    with pytest.raises(CaseInvalid) as info:
        import_case(folder)
    assert "holds 2 patients (pt-cm-1, pt-2)" in info.value.problems[0].message
    assert import_case(folder, patient="pt-cm-1").case() == import_case(BULK).case()
    assert [r.patient_id for r in iter_cases(folder)] == ["pt-cm-1", "pt-2"]


def test_50_mb_of_ndjson_is_streamed_with_bounded_memory(tmp_path: Path) -> None:
    folder = tmp_path / "bulk"
    shutil.copytree(BULK, folder)
    template = {"resourceType": "Observation", "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7",
                                     "display": "Body weight"}], "text": "Body weight"},
                "subject": {"reference": "Patient/pt-cm-1"}, "effectiveDateTime": "2026-10-28",
                "valueQuantity": {"value": 68.2, "unit": "kg"}, "note": [{"text": "x" * 300}]}
    size = 0
    with (folder / "Observation.ndjson").open("a", encoding="utf-8") as handle:
        number = 0
        while size < 50 * 1024 * 1024:
            line = json.dumps({**template, "id": f"w{number}"}) + "\n"
            handle.write(line)
            size += len(line)
            number += 1
    tracemalloc.start()
    try:
        result = import_case(folder)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024, f"peak {peak:,} bytes"
    [weights] = [e for e in result.report.ignored.values() if "headache-burden" in e.reason]
    assert weights.count == number + 1 and len(weights.examples) == 5
    assert result.case() == import_case(BULK).case()


def test_overlong_ndjson_line_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    folder = tmp_path / "bulk"
    folder.mkdir()
    with (folder / "Patient.ndjson").open("w", encoding="utf-8") as handle:
        handle.write('{"resourceType": "Patient", "id": "p", "x": "' + "a" * (MAX_LINE_BYTES + 10))
    with pytest.raises(CaseInvalid) as info:
        import_case(folder)
    assert "line 1 is longer than" in info.value.problems[0].message


# --- command line -------------------------------------------------------------------------------

def test_cli_fhir_writes_case_and_json_report(tmp_path: Path) -> None:
    out, report = tmp_path / "case.yaml", tmp_path / "report.json"
    result = CliRunner().invoke(main, ["fhir", str(BUNDLE), "-o", str(out),
                                       "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert "Patient/pt-cm-1" in result.stderr and "MISSING  screening" in result.stderr
    assert "Riley" not in result.stderr
    assert (out.stat().st_mode & 0o777) == 0o600
    data = json.loads(report.read_text("utf-8"))
    assert data["complete"] is True and data["patient"] == "Patient/pt-cm-1"
    validate = CliRunner().invoke(main, ["validate", str(out)])
    assert validate.exit_code == 0, validate.output


def test_cli_fhir_incomplete_import_exits_1_and_many_patients_go_to_a_folder(
        tmp_path: Path) -> None:
    folder = tmp_path / "bulk"
    shutil.copytree(BULK, folder)
    with (folder / "Patient.ndjson").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"resourceType": "Patient", "id": "pt-2"}) + "\n")
    single = CliRunner().invoke(main, ["fhir", str(folder)])
    assert single.exit_code == 2 and "--patient ID" in single.stderr
    result = CliRunner().invoke(main, ["fhir", str(folder), "-o", str(tmp_path / "cases")])
    assert result.exit_code == 1, result.output
    written = sorted(p.name for p in (tmp_path / "cases").iterdir())
    assert written == ["fhir-pt-2.yaml", "fhir-pt-cm-1.yaml"]
    draft = yaml.safe_load((tmp_path / "cases" / "fhir-pt-2.yaml").read_text("utf-8"))
    assert draft["letter"]["date"] == "TODO"


def test_cli_fhir_bad_input_exits_2_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{", "utf-8")
    result = CliRunner().invoke(main, ["fhir", str(path)])
    assert result.exit_code == 2
    assert "is not valid JSON" in result.stderr and "Traceback" not in result.output


def test_import_then_render_lists_the_medication_requests(tmp_path: Path) -> None:
    out = tmp_path / "letter.pdf"
    result = CliRunner().invoke(main, ["render", "--from", "fhir", str(BUNDLE), "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = " ".join(pdf_pages(out.read_bytes()))
    requests = [json.loads(line) for line in
                (BULK / "MedicationRequest.ndjson").read_text("utf-8").splitlines()]
    listed = {"mr-propranolol": "propranolol", "mr-topiramate": "topiramate",
              "mr-amitriptyline": "amitriptyline", "mr-candesartan": "candesartan",
              "mr-erenumab": "erenumab", "mr-sumatriptan": "sumatriptan"}
    for request in requests:
        if request["id"] in listed:
            assert listed[request["id"]] in text
            start = request["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"]["start"]
            year, month, day = start.split("-")
            assert f"{month}/{day}/{year}" in text, request["id"]
            dose = request["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
            assert f"{dose['value']:g} {dose['unit']}" in text
    assert "lisinopril" not in text  # prescribed for hypertension
    assert "Stopped for adverse effects" in text and "Lost efficacy" in text


def test_render_from_fhir_with_todos_exits_2_listing_them(tmp_path: Path) -> None:
    def drop_reason(resource: dict[str, Any]) -> None:
        if resource.get("id") == "mr-topiramate":
            resource.pop("statusReason")

    bundle = edited_bundle(tmp_path, drop_reason)
    result = CliRunner().invoke(main, ["render", "--from", "fhir", str(bundle),
                                       "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code == 2
    assert "prior_therapies[1].outcome: not in the FHIR data" in result.stderr
    assert not (tmp_path / "x.pdf").exists()
