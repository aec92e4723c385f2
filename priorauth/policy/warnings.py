"""Warnings about a record that do not make it invalid (a class that disagrees with the therapy
catalogue, a description that disagrees with ICD-10-CM, a drug in a role its label lacks).

Messages name fields only, so they may be printed under ``--redact``; the values that explain them
go in ``Problem.value``, shown only where values may be shown."""

from __future__ import annotations

from priorauth.case.model import Case, PriorTherapy
from priorauth.errors import Problem
from priorauth.reference import catalogue, icd
from priorauth.reference.catalogue import ClassResolution


def record_warnings(case: Case) -> list[Problem]:
    """Things worth a look that do not make the case invalid: a recorded class that disagrees with
    the therapy catalogue, a diagnosis description that disagrees with the official one."""
    # The message names fields only (it is printed even with --redact); the values that explain
    # it (the typed description, drug and class) go in ``value``, shown only where values may be.
    warnings: list[Problem] = []
    for index, diagnosis in enumerate(case.diagnoses):
        official = icd.description_disagrees(diagnosis.code, diagnosis.description)
        if official is not None:
            warnings.append(Problem(
                f"diagnoses[{index}].description",
                "disagrees with the official description of its code; the letter prints the "
                "official one", value=f"'{diagnosis.description}'; {diagnosis.code} is "
                                      f"'{official}'", code="warning.description_differs"))
    for index, therapy in enumerate(case.prior_therapies):
        resolution = catalogue.resolve(therapy)
        if resolution.warning is not None:
            warnings.append(_class_warning(index, therapy, resolution))
        mismatch = catalogue.role_mismatch(therapy)
        if mismatch is not None:
            warnings.append(Problem(
                f"prior_therapies[{index}].role", "is a role the therapy catalogue does not list "
                "for this drug; it does not count toward a class in that role", value=mismatch,
                code="warning.therapy_role"))
    return warnings


def _class_warning(index: int, therapy: PriorTherapy, resolution: ClassResolution) -> Problem:
    """A therapy's class warning that names the field, not the drug: the drug and class as typed
    go in ``value`` (shown only where values may be). A curated misspelling's suggestion is a
    catalogue name, not the record's, so the message carries it."""
    on_class = therapy.class_ and resolution.how != "recorded"
    path = f"prior_therapies[{index}]" + (".class" if on_class else ".name")
    guess = catalogue.suggest(therapy.name) if resolution.how != "catalogue" else None
    if guess:
        message = (f"is not in the therapy catalogue; did you mean '{guess}'? (a suggestion: "
                   "priorauth never corrects a name, fix it in the record)")
        return Problem(path, message, value=resolution.warning, code="warning.misspelling")
    if resolution.how == "unknown":
        message = ("neither the drug name nor its class is in the therapy catalogue; it "
                   "cannot count towards class criteria")
    elif therapy.class_ and catalogue.lookup_class(therapy.class_) is None:
        message = ("is not a class priorauth knows; the drug is counted in its class from "
                   "the therapy catalogue")
    else:
        message = ("disagrees with the therapy catalogue; the drug is counted in the "
                   "catalogue's class")
    return Problem(path, message, value=resolution.warning, code="warning.therapy_class")
