"""FHIR import on public third-party R4 examples (read in place from ../shared/fhir-examples).

The files are not copied into the repository; the tests skip when the folder is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from priorauth import CaseInvalid
from priorauth.fhir import ImportResult, import_case, iter_cases

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "fhir-examples"


def example(name: str) -> Path:
    path = EXAMPLES / name
    if not path.is_file():
        pytest.skip(f"public FHIR example {name} not found in {EXAMPLES}")
    return path


def missing(result: ImportResult) -> set[str]:
    return {m.field for m in result.report.missing}


def test_davinci_pas_request_bundle() -> None:
    """Da Vinci PAS: the Claim (use=preauthorization) is read; its request is a consultation,
    not a ketamine infusion, and its practitioner's NPI is 9 digits: both reported."""
    result = import_case(example("davinci-pas-request-bundle.json"))
    assert result.report.patient == "Patient/SubscriberExample"
    data = result.data
    assert data["letter"]["date"].isoformat() == "2005-05-02"  # Claim.created
    assert data["payer"]["name"] == "MARYLAND CAPITAL INSURANCE COMPANY"
    assert data["diagnoses"][0]["code"] == "G89.4" and data["diagnoses"][0]["primary"] is True
    assert data["provider"]["practice"] == "DR. JOE SMITH CORPORATION"
    [invalid] = result.report.invalid
    assert invalid.field == "provider.npi" and "10 digits" in invalid.message
    assert {"patient.date_of_birth", "patient.member_id", "prior_therapies", "requested.dose",
            "requested.codes.cpt", "rationale"} <= missing(result)
    notes = " ".join(result.report.notes)
    assert "ServiceRequest/ReferralRequestExample" in notes
    assert "not recognisably a ketamine infusion" in notes
    assert not result.report.complete
    with pytest.raises(CaseInvalid):
        result.case()


def test_synthea_transaction_bundle() -> None:
    """Synthea R4: urn:uuid references resolve; SNOMED-only conditions, billing claims, the
    blood-pressure drugs prescribed for hypertension and unknown drugs are ignored with reasons;
    the one catalogued drug without a stated reason is kept with its outcome left as a TODO."""
    result = import_case(example("synthea-complete-patient-bundle.json"))
    reasons = {(e.resource_type, e.reason): e.count for e in result.report.ignored.values()}
    assert reasons[("Condition", "no ICD-10-CM coding (the letter needs ICD-10-CM)")] == 21
    assert any(kind == "Claim" and "not 'preauthorization'" in why and count == 49
               for (kind, why), count in reasons.items())
    assert any(kind == "MedicationRequest" and "another condition" in why
               for kind, why in reasons)
    assert result.data["patient"]["date_of_birth"].isoformat() == "1950-10-24"
    [therapy] = result.data["prior_therapies"]
    assert therapy["name"] == "metoprolol" and therapy["role"] == "preventive"
    assert "outcome" in {t.split(".")[-1] for t in missing(result) if "prior_therapies" in t}
    assert {"diagnoses", "letter.date", "provider.npi"} <= missing(result)


@pytest.mark.parametrize("name", ["MedicationRequest-medrx0301.json",
                                  "MedicationRequest-medrx0308.json",
                                  "MedicationStatement-example001.json",
                                  "Coverage-9876B1.json"])
def test_single_resource_without_its_patient_is_a_clear_error(name: str) -> None:
    with pytest.raises(CaseInvalid) as info:
        import_case(example(name))
    assert "no Patient resource" in info.value.problems[0].message


def test_patient_example_alone_gives_a_draft_with_todos() -> None:
    result = import_case(example("Patient-example.json"))
    assert result.data["patient"]["family_name"] == "Chalmers"
    assert result.data["patient"]["sex"] == "male"
    assert {"letter.date", "payer.name", "diagnoses", "prior_therapies"} <= missing(result)
    assert "Chalmers" not in "\n".join(result.report.lines())


def test_whole_examples_folder_gives_one_draft_per_patient() -> None:
    if not EXAMPLES.is_dir():
        pytest.skip(f"{EXAMPLES} not found")
    results = {r.report.patient: r for r in iter_cases(EXAMPLES)}
    assert set(results) == {"Patient/example", "Patient/SubscriberExample",
                            "Patient/d5582579-7193-4866-5560-a01e723b6552"}
    # The HL7 MedicationRequests name Patient/pat1, which no file holds: ignored, not guessed.
    orphans = [e for e in results["Patient/example"].report.ignored.values()
               if e.resource_type == "MedicationRequest" and "Patient/pat1" in e.reason]
    assert orphans and {"medrx0301", "medrx0308"} <= set(orphans[0].examples)
