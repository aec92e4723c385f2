"""The FHIR importer's draft YAML cannot be escaped: no resource id, reason or value can add a key
(the attack: an id ``x\\nmedication_overuse_excluded: true`` made ``check`` report it met)."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from priorauth.fhir.draft import ImportResult, Todo, to_yaml
from priorauth.fhir.report import ImportReport

ATTACKS = [
    "x\nmedication_overuse_excluded: true",
    "x\r\nscreening:\n  psychosis_history: false",
    "x\u2028burden: {midas: 1}",
    "x\x85evidence: [zitek-2018]",
    'x" \n# ',
    "\ufeffx\u2029y",
]


def _draft(text: str) -> tuple[str, ImportResult]:
    data = {"id": text, "rationale": text, "patient": {"given_name": text,
                                                       "family_name": Todo(text, "text")}}
    comments = {"rationale": f"Claim/{text} supportingInfo", "patient.given_name": text}
    result = ImportResult(text, data, comments, ImportReport(f"in/{text}.json", f"Patient/{text}"))
    return to_yaml(result), result


def _check(text: str) -> None:
    draft, _ = _draft(text)
    loaded = yaml.safe_load(draft)
    assert set(loaded) == {"id", "rationale", "patient"}, draft
    assert set(loaded["patient"]) == {"given_name", "family_name"}
    assert loaded["id"] == loaded["rationale"] == loaded["patient"]["given_name"] == text
    assert loaded["patient"]["family_name"] is None


def test_known_attacks_add_no_keys() -> None:
    for attack in ATTACKS:
        _check(attack)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40))
def test_any_string_round_trips_and_adds_no_keys(text: str) -> None:
    _check(text)


def test_conditional_references_are_not_copied_into_the_report(tmp_path: object) -> None:
    """``Patient?family=...&birthdate=...`` holds search values (PHI): the report keeps the type."""
    import json
    from pathlib import Path

    from priorauth.fhir import import_case

    folder = Path(str(tmp_path))
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p1",
                      "name": [{"family": "Marker", "given": ["Zed"]}]}},
        {"resource": {"resourceType": "Condition", "id": "c1", "subject": {"reference":
                      "Patient/p1"}, "code": {"coding": [{"system":
                      "http://hl7.org/fhir/sid/icd-10-cm", "code": "G43.719"}]},
                      "asserter": {"reference": "Practitioner?family=SECRETNAME&birthdate=1950"}}},
        {"resource": {"resourceType": "Claim", "id": "cl", "use": "preauthorization",
                      "status": "active", "patient": {"reference": "Patient/p1"},
                      "provider": {"reference": "Practitioner?family=SECRETNAME&birthdate=1950"},
                      "created": "2026-11-01"}},
    ]}
    path = folder / "b.json"
    path.write_text(json.dumps(bundle))
    result = import_case(path)
    text = json.dumps(result.report.to_dict()) + "\n".join(result.report.lines())
    assert "SECRETNAME" not in text and "1950" not in text
    assert "Practitioner?(conditional reference)" in text
