"""FHIR NDJSON at export scale: conditional references resolve through an index, not a scan of
every resource per reference (30,000 Conditions took quadratic time: 10,000 took 14.5 s). The
test counts the work, not the seconds, so a loaded CI machine cannot make it flaky (12.11)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from priorauth.fhir.mapping import Mapper
from priorauth.fhir.read import load_store, patients

CONDITIONS = 2000


class _CountingDict(dict[str, Any]):
    """Counts every resource visited by a full scan of the store."""

    visited = 0

    def values(self) -> Any:  # type: ignore[override]
        for value in super().values():
            _CountingDict.visited += 1
            yield value


def _export(tmp_path: Path, reference: str) -> Path:
    lines: list[dict[str, Any]] = [
        {"resourceType": "Condition", "id": f"c{i}", "subject": {"reference": reference},
         "identifier": [{"system": "urn:cond", "value": f"C{i}"}],
         "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm",
                              "code": "G43.709"}]}}
        for i in range(CONDITIONS)]
    # The Patient last: a scan from the front passes every Condition before finding it.
    lines.append({"resourceType": "Patient", "id": "p1",
                  "identifier": [{"system": "urn:mrn", "value": "MRN1"}],
                  "name": [{"given": ["Dana"], "family": "Testpatient"}],
                  "birthDate": "1988-04-17"})
    path = tmp_path / "Export.ndjson"
    path.write_text("\n".join(json.dumps(line) for line in lines), "utf-8")
    return path


@pytest.mark.parametrize("reference", ["Patient?identifier=urn:mrn|MRN1",
                                       "Patient?identifier=MRN1"])
def test_conditional_references_resolve_without_scanning(tmp_path: Path, reference: str) -> None:
    store = load_store(_export(tmp_path, reference))
    store.resources = _CountingDict(store.resources)
    _CountingDict.visited = 0
    [person] = patients(store)
    result = Mapper(store, person).run()
    # Every Condition was attributed to the patient through its conditional reference ...
    assert not any("is not a Patient in the input" in i.reason
                   for i in result.report.ignored.values())
    # ... with a constant number of passes over the store, not one pass per reference.
    assert _CountingDict.visited <= 3 * (CONDITIONS + 1), _CountingDict.visited


def test_identifier_lookup_keeps_the_first_match_in_input_order(tmp_path: Path) -> None:
    path = tmp_path / "Export.ndjson"
    resources = [{"resourceType": "Practitioner", "id": f"pr{i}",
                  "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi",
                                  "value": "1234567893"}]} for i in range(3)]
    path.write_text("\n".join(json.dumps(r) for r in resources), "utf-8")
    store = load_store(path)
    found = store._by_identifier("Practitioner", "http://hl7.org/fhir/sid/us-npi", "1234567893")
    assert found is not None and found.id == "pr0"
    assert store._by_identifier("Patient", None, "1234567893") is None
    assert store._by_identifier(None, "urn:other", "1234567893") is None


def test_many_patients_resolve_each_reference_once(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A Bulk export of many patients: each resource's patient reference is resolved once for
    the whole input, not once per patient (300 patients took 7.6 s, now about 1 s)."""
    from priorauth.fhir import iter_cases
    from priorauth.fhir.read import Store

    people, each = 60, 4
    lines: list[dict[str, Any]] = []
    for j in range(people):
        lines.append({"resourceType": "Patient", "id": f"p{j}",
                      "identifier": [{"system": "urn:mrn", "value": f"MRN{j}"}],
                      "name": [{"given": ["Dana"], "family": "Testpatient"}],
                      "birthDate": "1988-04-17"})
        lines += [{"resourceType": "Condition", "id": f"c{j}-{i}",
                   "subject": {"reference": f"Patient?identifier=urn:mrn|MRN{j}"},
                   "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm",
                                        "code": "G43.709"}]}} for i in range(each)]
    path = tmp_path / "Export.ndjson"
    path.write_text("\n".join(json.dumps(line) for line in lines), "utf-8")
    calls = 0
    original = Store.resolve

    def counting(self: Store, *args: Any) -> Any:
        nonlocal calls
        calls += 1
        return original(self, *args)

    monkeypatch.setattr(Store, "resolve", counting)
    results = list(iter_cases(path))
    assert len(results) == people
    assert all(len(r.data["diagnoses"]) == 1 for r in results)  # each got its own Conditions
    assert all(r.report.filled for r in results)
    # Partitioning resolves each Condition's subject once; mapping adds a few per patient.
    assert calls <= people * each + people * 10, calls
