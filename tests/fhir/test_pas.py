"""Da Vinci PAS Request Bundles: valid FHIR (checked by a real FHIR library), the profile's
required elements present, the letter attached intact, and importing the Bundle back gives the
same case fields."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import priorauth
from priorauth.cli import main
from priorauth.fhir.pas import pas_bundle
from tests.conftest import SAMPLES

CASES = ["chronic-migraine-with-aura", "crps", "appeal"]


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pas")
    out: dict[str, Path] = {}
    for name in CASES:
        target = folder / f"{name}.json"
        result = CliRunner().invoke(main, ["pas", str(SAMPLES / f"{name}.yaml"),
                                           "-o", str(target)])
        assert result.exit_code == 0, result.output
        out[name] = target
    return out


@pytest.mark.parametrize("name", CASES)
def test_bundle_is_valid_fhir_r4(name: str, written: dict[str, Path]) -> None:
    pytest.importorskip("fhir.resources", reason="fhir.resources (extra 'test') not installed")
    from fhir.resources.R4B.bundle import Bundle

    bundle = json.loads(written[name].read_text())
    Bundle.model_validate(bundle)  # every resource against the FHIR R4 data types


@pytest.mark.parametrize("name", CASES)
def test_profile_required_elements(name: str, written: dict[str, Path]) -> None:
    """The PAS Request Bundle / Claim profiles' mandatory elements (1..1 / 1..*)."""
    bundle = json.loads(written[name].read_text())
    assert bundle["type"] == "collection" and bundle["identifier"]["value"]
    assert bundle["timestamp"] and bundle["entry"][0]["resource"]["resourceType"] == "Claim"
    claim = bundle["entry"][0]["resource"]
    for element in ("status", "type", "use", "patient", "created", "insurer", "provider",
                    "priority", "insurance", "diagnosis", "item"):
        assert claim.get(element), element
    assert claim["use"] == "preauthorization"
    urls = {e["fullUrl"] for e in bundle["entry"]}
    for ref in (claim["patient"], claim["insurer"], claim["provider"],
                claim["insurance"][0]["coverage"], claim["careTeam"][0]["provider"]):
        assert ref["reference"] in urls  # every reference resolves inside the Bundle
    case = priorauth.load_case(SAMPLES / f"{name}.yaml")
    codes = [i["productOrService"]["coding"][0]["code"] for i in claim["item"]]
    assert codes == [*case.requested.codes.cpt, *case.requested.codes.hcpcs]
    first = claim["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0]["code"]
    assert first == case.primary_diagnosis.code


def test_letter_is_attached_with_hash_and_size() -> None:
    case = priorauth.load_case(SAMPLES / "crps.yaml")
    pdf = priorauth.render_letter(case).data
    bundle = pas_bundle(case, pdf)
    (document,) = _resources(bundle, "DocumentReference")
    attachment = document["content"][0]["attachment"]
    assert base64.b64decode(attachment["data"]) == pdf and attachment["size"] == len(pdf)
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(pdf).digest()).decode()
    info = bundle["entry"][0]["resource"]["supportingInfo"][0]
    assert info["valueReference"]["reference"].endswith(document["id"])
    assert pas_bundle(case, pdf) == bundle  # the same case gives the same Bundle


@pytest.mark.parametrize("name", CASES)
def test_round_trip_through_the_importer(name: str, written: dict[str, Path]) -> None:
    original = priorauth.load_case(SAMPLES / f"{name}.yaml")
    imported = priorauth.import_fhir(written[name])
    data = imported.data

    def same(path: str, value: Any) -> None:
        node: Any = data
        for part in path.split("."):
            node = node[part]
        assert node == value, path

    p, payer, provider, req = (original.patient, original.payer, original.provider,
                               original.requested)
    for path, value in {
        "letter.date": original.letter.date, "letter.urgency": original.letter.urgency.value,
        "patient.given_name": p.given_name, "patient.family_name": p.family_name,
        "patient.date_of_birth": p.date_of_birth, "patient.member_id": p.member_id,
        "payer.name": payer.name, "provider.name": provider.name,
        "provider.npi": provider.npi, "provider.practice": provider.practice,
        "provider.credentials": provider.credentials,
        "requested.sessions": req.sessions, "requested.infusion_hours": req.infusion_hours,
        "requested.codes.cpt": list(req.codes.cpt), "rationale": original.rationale,
    }.items():
        same(path, value)
    assert [d["code"] for d in data["diagnoses"]] == [
        d.code for d in sorted(original.diagnoses, key=lambda d: d is not
                               original.primary_diagnosis)]
