"""FHIR R4 import: an EHR export (Bundle JSON, or a Bulk Data folder of NDJSON) → draft case files.

The importer reads only what it maps, R4-shaped, with small pydantic models of its own (the
``fhir.resources`` package defaults to R5, which silently drops R4's ``medicationCodeableConcept``).
Nothing is guessed: a value the FHIR data does not state is left for a human, marked ``TODO`` in
the YAML (a placeholder that fails ``priorauth validate`` until someone fills it in) and listed in
the import report together with every field filled (and the resource it came from), every
resource ignored (and why) and every value present but invalid (e.g. an NPI failing its check
digit — reported, never "fixed").

Memory stays bounded: NDJSON is read line by line (each line at most :data:`MAX_LINE_BYTES`),
resources of no use are dropped as they are read, and ``patient=`` keeps only that patient's data.

Public API::

    for result in iter_cases("export/"):          # one ImportResult per Patient
        result.report.to_dict(); result.yaml(); result.case()   # case() raises CaseInvalid
    result = import_case("bundle.json", patient="pt-1")

The report uses resource ids and field paths only; it never repeats names or dates of birth.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from priorauth.fhir.draft import ImportResult, to_yaml
from priorauth.fhir.mapping import Mapper
from priorauth.fhir.read import _problem, load_store, patients
from priorauth.fhir.report import ImportReport
from priorauth.fhir.terminology import MAX_BUNDLE_BYTES, MAX_LINE_BYTES

__all__ = ["MAX_BUNDLE_BYTES", "MAX_LINE_BYTES", "ImportReport", "ImportResult", "import_case",
           "iter_cases", "load_store", "patients", "to_yaml"]


def iter_cases(path: str | Path, patient: str | None = None) -> Iterator[ImportResult]:
    """One :class:`ImportResult` per Patient in a Bundle / NDJSON file / Bulk Data folder.

    Raises :class:`CaseInvalid` for unreadable input (not JSON, a line too long, no Patient).
    """
    store = load_store(path, patient)
    found = patients(store)
    if not found:
        what = f"no Patient with id {patient!r}" if patient else "no Patient resource"
        raise _problem(str(path), f"{what} in the input; a case needs one")
    for person in found:
        yield Mapper(store, person).run()


def import_case(path: str | Path, patient: str | None = None) -> ImportResult:
    """The single patient's import; with several patients, ``patient`` must name one."""
    results = list(iter_cases(path, patient))
    if len(results) > 1:
        ids = ", ".join(r.patient_id for r in results[:10])
        raise _problem(str(path), f"holds {len(results)} patients ({ids}"
                                  f"{', ...' if len(results) > 10 else ''}); choose one with "
                                  "--patient ID, or write one case per patient into a folder")
    return results[0]
