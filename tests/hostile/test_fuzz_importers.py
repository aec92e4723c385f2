"""Fuzzing the FHIR importer and the batch NDJSON reader: a Case or a friendly CaseInvalid, always.

Example counts follow ``PRIORAUTH_FUZZ_EXAMPLES`` (see tests/test_fuzz.py).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from priorauth import parse_case
from priorauth.errors import CaseInvalid
from tests.hostile.test_fuzz import assert_case_or_friendly, scalars, structures

EXAMPLES = max(10, int(os.environ.get("PRIORAUTH_FUZZ_EXAMPLES", "60")) // 2)
FUZZ = settings(max_examples=EXAMPLES, deadline=dt.timedelta(seconds=10), database=None,
                suppress_health_check=list(HealthCheck))

RESOURCE_TYPES = ["Patient", "Condition", "MedicationStatement", "MedicationRequest", "Procedure",
                  "Practitioner", "PractitionerRole", "Organization", "Coverage", "Observation",
                  "ServiceRequest", "Location", "AllergyIntolerance", "Bundle", "Nonsense"]
FIELDS = ["id", "name", "birthDate", "gender", "identifier", "code", "status", "subject",
          "onsetDateTime", "effectivePeriod", "dosage", "medicationCodeableConcept", "reasonCode",
          "performedPeriod", "address", "telecom", "payor", "beneficiary", "valueQuantity",
          "extension", "contained", "meta", "text"]

fhir_values = st.one_of(
    structures,
    st.builds(lambda given, family: [{"given": [given], "family": family}], scalars, scalars),
    st.builds(lambda code: {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm",
                                        "code": code}]}, scalars),
    st.builds(lambda ref: {"reference": ref}, st.sampled_from(
        ["Patient/p1", "Patient/../../etc/passwd", "http://127.0.0.1:9/x", "#c", "urn:uuid:x",
         "Patient/p1/_history/1", ""])),
    st.sampled_from(["0000-00-00", "9999-12-31", "2024-02-30", "1988-04-17", "2024",
                     "2024-13", "2026-11-20T25:61:00Z"]),
)


@st.composite
def resources(draw: st.DrawFn) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": draw(st.sampled_from(RESOURCE_TYPES))}
    if draw(st.booleans()):
        resource["id"] = draw(st.sampled_from(["p1", "c1", "m1", "../x", "", "p1"]))
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=6, unique=True)):
        resource[field] = draw(fhir_values)
    return resource


@st.composite
def bundles(draw: st.DrawFn) -> Any:
    patient = {"resourceType": "Patient", "id": "p1",
               "name": [{"given": ["Dana"], "family": "Testpatient"}], "birthDate": "1988-04-17"}
    entries = draw(st.lists(resources(), max_size=8))
    if draw(st.booleans()):
        entries.append(patient)
    bundle: Any = {"resourceType": "Bundle", "type": "collection",
                   "entry": [{"resource": r} for r in entries]}
    if draw(st.integers(0, 9)) == 0:
        bundle = draw(structures)  # not even a bundle
    return bundle


def _import(path: Path) -> Any:
    from priorauth.fhir import import_case

    result = import_case(path)
    return result.case()


@FUZZ
@given(bundles(), st.booleans())
def test_fhir_import_gives_a_case_or_problems(bundle: Any, as_ndjson: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        if as_ndjson and isinstance(bundle, dict) and isinstance(bundle.get("entry"), list):
            path = Path(folder) / "export.ndjson"
            lines = [json.dumps(e.get("resource"), default=str) for e in bundle["entry"]
                     if isinstance(e, dict)]
            path.write_text("\n".join(lines) + "\n", "utf-8")
        else:
            path = Path(folder) / "bundle.json"
            path.write_text(json.dumps(bundle, default=str), "utf-8")
        assert_case_or_friendly(lambda: _import(path))


@FUZZ
@given(st.binary(max_size=300))
def test_fhir_import_of_random_bytes(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bundle.json"
        path.write_bytes(raw)
        assert_case_or_friendly(lambda: _import(path))


@FUZZ
@given(st.lists(st.one_of(st.binary(max_size=80),
                          st.builds(lambda d: json.dumps(d, default=str).encode(), structures)),
                max_size=6))
def test_batch_ndjson_records_parse_or_explain(lines: list[bytes]) -> None:
    """Every record the batch reader yields is a Case or a located problem."""
    from priorauth.batch import count_records
    from priorauth.batch.inputs import _iter_records as records

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cases.ndjson"
        path.write_bytes(b"\n".join(lines) + b"\n")
        count_records([path])
        for record in records([path]):
            if record.problem is not None:
                assert record.problem.message
                continue
            assert record.raw is not None
            try:
                parse_case(record.raw, format="json", source=record.source)
            except CaseInvalid as exc:
                assert all(p.message for p in exc.problems)
